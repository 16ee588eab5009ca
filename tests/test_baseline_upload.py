"""Uploading another area's census baseline: checked like the organisation file's (errors name the line),
stored, audited, and from then on the representation report's population shares come from it.

Figures for the invented area "Testshire" below are counted by hand: 1,000 residents, 600 female.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm import census
from crm.models import AuditEntry, PopulationBaseline
from segments import representation

HEADER = "area_code,area_name,characteristic,category,residents\n"
ROWS = [
    ("sex", "Female", 600), ("sex", "Male", 400),
    ("age", "0-9", 100), ("age", "10-19", 100), ("age", "20-29", 200), ("age", "30-39", 200),
    ("age", "40-49", 100), ("age", "50-59", 100), ("age", "60-69", 100), ("age", "70-79", 50), ("age", "80+", 50),
    ("ethnic_group", "White", 900), ("ethnic_group", "Asian", 100),
    ("religion", "Christian", 500), ("religion", "No religion", 400), ("religion", "Not stated", 100),
]


def baseline_csv(rows=ROWS, area=("E99000001", "Testshire")) -> bytes:
    return (HEADER + "".join(f"{area[0]},{area[1]},{c},{g},{n}\n" for c, g, n in rows)).encode()


def upload(client, content: bytes, name="testshire.csv"):
    return client.post(reverse("segments:baseline_upload"), {"file": SimpleUploadedFile(name, content)}, follow=True)


@pytest.fixture
def data_protection(staff_client):
    return staff_client("Data protection")


def test_an_uploaded_baseline_is_stored_audited_and_used_by_the_report(data_protection):
    before = census.report_baseline()
    assert sum(before["sex"].values()) == 279230  # the organisation file's Sefton figures (crm/data/README.md)

    page = upload(data_protection, baseline_csv()).content.decode()

    assert "The report now compares with Testshire (E99000001): 1,000 residents." in page
    record = PopulationBaseline.objects.get()
    assert record.area_name == "Testshire (E99000001)" and record.residents == 1000
    assert record.uploaded_by == data_protection.user
    entry = AuditEntry.objects.get(action="baseline.uploaded")
    assert entry.summary == "Testshire (E99000001)" and entry.object_id == str(record.pk)
    assert census.report_baseline_area() == "Testshire (E99000001)"
    assert census.report_baseline()["sex"] == {"Female": 600, "Male": 400}
    assert sum(census.population_baseline()["sex"].values()) == 279230  # the organisation's own is unchanged
    sex = next(t for t in representation.representation(population="reachable") if t.characteristic == "sex")
    assert {c.category: c.population_share for c in sex.cells} == {"Female": 0.6, "Male": 0.4}
    religion = next(t for t in representation.representation(population="reachable")
                    if t.characteristic == "religion")
    # "Not stated" is left out on both sides: 500 of the 900 who stated one.
    assert {c.category: round(c.population_share, 4) for c in religion.cells} == {
        "Christian": round(500 / 900, 4), "No religion": round(400 / 900, 4)}


def test_the_newest_upload_wins_and_the_page_says_which_is_in_use(data_protection):
    upload(data_protection, baseline_csv())
    upload(data_protection, baseline_csv(area=("E99000002", "Otherton")))
    assert census.report_baseline_area() == "Otherton (E99000002)"
    page = data_protection.get(reverse("segments:baseline_upload")).content.decode()
    assert "It now uses <strong>Otherton (E99000002)</strong>" in page
    assert "Testshire (E99000001)" in page  # still listed among the uploads


@pytest.mark.parametrize(("content", "message"), [
    (baseline_csv([*ROWS[:3], ("age", "10-19", "many"), *ROWS[4:]]),
     "Line 5: residents &#x27;many&#x27; is not a whole number"),
    (HEADER.replace(",residents", "").encode() + b"E99,Testshire,sex,Female\n", "Line 1: missing column(s) residents"),
    (baseline_csv([*ROWS, ("sex", "Female", 1)]), "Line 18: sex &#x27;Female&#x27; appears twice"),
    (baseline_csv([*ROWS, ("height", "Tall", 1)]), "Line 18: characteristic &#x27;height&#x27; is not one of"),
    (baseline_csv([r for r in ROWS if r[0] != "religion"]), "No rows for religion"),
    (baseline_csv(ROWS[:1]) + b"E99000009,Elsewhere,sex,Male,400\n" + baseline_csv(ROWS[2:]).split(b"\n", 1)[1],
     "Every row must name the same area: this file names Testshire (E99000001), Elsewhere (E99000009)"),
    (baseline_csv().replace(b"Testshire", "Tëstshire".encode("cp1252")), "The file is not UTF-8 text"),
    (b"", "The file is empty"),
])
def test_a_bad_file_is_refused_with_the_line_to_correct_and_nothing_is_stored(data_protection, content, message):
    response = upload(data_protection, content)
    page = response.content.decode()
    assert response.status_code == 200 and "Error: Population baseline" in page
    assert message in page
    assert not PopulationBaseline.objects.exists()
    assert not AuditEntry.objects.filter(action="baseline.uploaded").exists()


def test_a_file_saved_by_excel_with_a_byte_order_mark_and_windows_line_ends_is_read(data_protection):
    upload(data_protection, b"\xef\xbb\xbf" + baseline_csv().replace(b"\n", b"\r\n"))
    assert census.report_baseline()["sex"] == {"Female": 600, "Male": 400}


@pytest.mark.parametrize("role", ["Administrator", "Data protection"])
def test_administrators_and_data_protection_may_upload(staff_client, role):
    assert staff_client(role).get(reverse("segments:baseline_upload")).status_code == 200


@pytest.mark.parametrize("role", ["Engagement", "Communications"])
def test_other_roles_are_refused(staff_client, role):
    client = staff_client(role)
    assert client.get(reverse("segments:baseline_upload")).status_code == 403
    response = client.post(reverse("segments:baseline_upload"),
                           {"file": SimpleUploadedFile("t.csv", baseline_csv())})
    assert response.status_code == 403
    assert not PopulationBaseline.objects.exists()
