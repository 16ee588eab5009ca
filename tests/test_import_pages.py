"""The import pages: upload with evidence, preview (rows to fix vs rows left out), confirm, cancel, template."""

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from consent import services as consent_services
from consent.models import ConsentEvent, ConsentStatement
from crm.models import Contact
from segments import imports
from segments.models import ContactImport

pytestmark = pytest.mark.django_db

GOOD = (b"email,name,postcode,bulletin\n"
        b"ann@example.org,Ann Able,L20 3NJ,yes\n"
        b"bob@example.org,Bob Baker,,yes\n")


def _post(client, content, name="signups.csv", **overrides):
    data = {"file": SimpleUploadedFile(name, content), "method": "paper_form",
            "collected_on_0": "20", "collected_on_1": "11", "collected_on_2": "2026",
            "collected_by": "Engagement team at the Bootle Big Chat", "evidence_reference": "Box 12, Bootle office"}
    for purpose in ("bulletin", "events", "involvement"):
        data[f"statement_{purpose}"] = ConsentStatement.objects.filter(
            purpose__code=purpose, published_at__isnull=False).order_by("-version").values_list("version", flat=True)[0]
    data.update(overrides)
    return client.post(reverse("segments:import_new"), data)


@pytest.fixture
def engagement(staff_client):
    return staff_client("Engagement")


def test_upload_preview_confirm_and_the_list(engagement):
    response = _post(engagement, GOOD)
    record = ContactImport.objects.get()
    assert response.status_code == 302 and response.url == reverse("segments:import_detail", args=[record.public_id])
    page = engagement.get(response.url).content.decode()
    assert "Check the import" in page and "Confirm import" in page
    assert "ann@example.org" in page and "Ann Able" not in page  # the sample shows the address, not the name
    assert not Contact.objects.exists()  # a preview writes nobody
    response = engagement.post(reverse("segments:import_confirm", args=[record.public_id]))
    assert response.status_code == 302
    assert Contact.objects.count() == 2
    done = engagement.get(response.url).content.decode()
    assert "<h1>Imported</h1>" in done and "Box 12, Bootle office" in done
    assert "Consent recorded" in done
    listing = engagement.get(reverse("segments:import_list")).content.decode()
    assert "signups.csv" in listing and "Imported" in listing


def test_rows_to_fix_block_the_import_and_refused_rows_are_left_out(engagement, make_contact, actor):
    gone = make_contact(email="gone@example.org", purposes=("bulletin",))
    consent_services.withdraw(contact=gone, purpose="bulletin", method="one_click_unsubscribe", actor=actor)
    refused_only = b"email,bulletin\ngone@example.org,yes\nnew@example.org,yes\n"
    _post(engagement, refused_only)
    record = ContactImport.objects.get()
    page = engagement.get(reverse("segments:import_detail", args=[record.public_id])).content.decode()
    assert "Left out: the consent rules refuse them" in page and "Withdrew from bulletin" in page
    assert "Confirm import" in page  # a refused row is skipped, not a reason to stop
    engagement.post(reverse("segments:import_confirm", args=[record.public_id]))
    assert Contact.objects.filter(email_normalised="new@example.org").exists()

    broken = b"email,bulletin\nnot-an-address,yes\nok@example.org,yes\n"
    _post(engagement, broken, name="broken.csv")
    record = ContactImport.objects.get(file_name="broken.csv")
    page = engagement.get(reverse("segments:import_detail", args=[record.public_id])).content.decode()
    assert "1 line of the file cannot be read" in page and "Invalid email address" in page
    assert "Confirm import" not in page
    # Posting the confirmation anyway is refused by the service, and nothing is written.
    engagement.post(reverse("segments:import_confirm", args=[record.public_id]))
    assert not Contact.objects.filter(email_normalised="ok@example.org").exists()
    engagement.post(reverse("segments:import_cancel", args=[record.public_id]))
    record.refresh_from_db()
    assert record.status == ContactImport.Status.CANCELLED


def test_an_unreadable_file_is_an_error_on_the_form_and_nothing_is_stored(engagement):
    files_before = set(imports.imports_dir().iterdir())  # other tests may have left theirs
    for content, words in ((b"email\tname\nann@example.org\tAnn\n", "separated by tabs"),
                           ("email\nann@example.org\n".encode("utf-16"), "UTF-16"),
                           (b"name,postcode\nAnn,L20 3NJ\n", "one called")):
        response = _post(engagement, content)
        assert response.status_code == 200
        assert words in response.content.decode() and "Error: Import a file" in response.content.decode()
    assert not ContactImport.objects.exists()
    assert set(imports.imports_dir().iterdir()) == files_before  # no copy of the file is left behind either


def test_the_evidence_is_required_and_the_date_cannot_be_in_the_future(engagement):
    response = _post(engagement, GOOD, collected_by="", evidence_reference="", collected_on_2="2099")
    page = response.content.decode()
    assert "Say who collected the forms" in page and "Say where the paper originals are kept" in page
    assert "today or in the past" in page
    assert not ContactImport.objects.exists()


def test_the_template_has_the_headers_the_import_reads(engagement):
    response = engagement.get(reverse("segments:import_template"))
    assert response["Content-Disposition"].startswith("attachment")
    header = response.content.decode("utf-8-sig").splitlines()[0]
    assert header == "email,name,postcode,topics,bulletin,events,involvement"


def test_data_protection_sees_imports_but_cannot_import(staff_client, engagement):
    _post(engagement, GOOD)
    record = ContactImport.objects.get()
    dp = staff_client("Data protection")
    page = dp.get(reverse("segments:import_detail", args=[record.public_id])).content.decode()
    assert "Confirm import" not in page
    assert dp.post(reverse("segments:import_confirm", args=[record.public_id])).status_code == 403
    assert dp.get(reverse("segments:import_new")).status_code == 403
    assert staff_client("Communications").get(reverse("segments:import_list")).status_code == 403
    assert not ConsentEvent.objects.exists()


def test_the_command_counts_rows_in_its_progress_bar(staff_user, tmp_path):
    user = staff_user("Engagement")
    path = tmp_path / "signups.csv"
    path.write_bytes(GOOD + b"cat@example.org,Cat,,no\n")
    err, out = io.StringIO(), io.StringIO()
    call_command("import_contacts", str(path), "--user", user.username, "--collected-on", str(date(2026, 11, 20)),
                 "--collected-by", "Team", "--evidence", "Box 1", "--confirm", stdout=out, stderr=err)
    # 3 rows, read once to preview and once to confirm: 6 rows of progress.
    assert "6/6" in err.getvalue() and "row" in err.getvalue()
    assert Contact.objects.count() == 3


def test_a_file_over_10_mb_is_refused_on_the_form(engagement):
    big = b"email\n" + b"someone@example.org\n" * (10 * 1024 * 1024 // 20 + 1)
    response = _post(engagement, big)
    assert "The file must be smaller than 10 MB" in response.content.decode()
    assert not ContactImport.objects.exists()
