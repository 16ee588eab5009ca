"""Any NHS organisation: a second one is set up from its files alone, without editing a line of code.

tests/data/second_organisation/ holds an invented organisation (NHS Tamar and Moor): three
localities, eighteen postcode districts and its own population baseline. The expected figures
below are read off those two files by hand.
"""

import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from consent import exports
from crm import census, organisation
from crm.audit import Actor
from crm.models import AuditEntry, Contact, Locality, PostcodeDistrict, Topic
from crm.services import create_contact
from tests.public_support import sign_up_data

ROOT = Path(__file__).resolve().parent.parent
SECOND = ROOT / "tests" / "data" / "second_organisation" / "organisation.toml"
DEMO_PLACES = ("Sefton", "Bootle", "Crosby", "Maghull", "Seaforth", "Litherland")

SECOND_LOCALITIES = {
    "Northgate": {"PL5", "PL6", "PL7", "PL8", "PL9", "PL20"},
    "Riverside": {"PL1", "PL2", "PL3", "PL4", "PL11", "PL12"},
    "Moorland": {"PL16", "PL17", "PL18", "PL19", "TQ13", "EX20"},
}


@pytest.fixture
def second_organisation(settings):
    settings.ORGANISATION_FILE = SECOND
    return SECOND


@pytest.fixture
def loaded(db, second_organisation):
    call_command("load_organisation", str(second_organisation), stdout=_Sink(), stderr=_Sink())
    return second_organisation


class _Sink:
    def __init__(self):
        self.text = ""

    def write(self, text):
        self.text += text

    def flush(self):
        pass


# --- The file ---------------------------------------------------------------------------------

def test_the_second_organisation_file_reads_as_written(second_organisation):
    org = organisation.current()
    assert org.name == "NHS Tamar and Moor"
    assert org.service_name == "Tamar Health Voice"
    assert org.data_protection.email == "ig-team@tamar-and-moor.example.org"
    assert org.data_protection.phone == "01632 960 123"
    assert {name: set(codes) for name, codes in org.localities.items()} == SECOND_LOCALITIES
    assert org.district_count == 18
    assert len(org.privacy_who_we_are) == 2
    assert org.privacy_who_we_are[1] == ("We use Tamar Health Voice to tell people about local services and to ask "
                                         "what they think of them.")


def test_its_population_baseline_loads(second_organisation):
    baseline = census.population_baseline()
    assert baseline["sex"] == {"Female": 51200, "Male": 48800}
    assert baseline["age"]["80+"] == 8000
    assert baseline["ethnic_group"]["Mixed"] == 1700
    assert baseline["religion"]["No religion"] == 47000
    assert {name: sum(counts.values()) for name, counts in baseline.items()} == {
        "sex": 100000, "age": 100000, "ethnic_group": 100000, "religion": 100000,
    }
    assert census.baseline_area() == "Tamar and Moor (test area, invented figures)"


def test_the_demo_keeps_sefton(settings):
    org = organisation.current()
    assert org.name == "NHS South Sefton"
    assert set(org.localities) == {"Bootle", "Crosby", "Maghull", "Seaforth & Litherland"}
    assert sum(census.population_baseline()["sex"].values()) == 279230  # crm/data/README.md


# --- Loading it into the database ---------------------------------------------------------------

def test_load_organisation_replaces_the_localities_and_districts(loaded):
    assert set(Locality.objects.values_list("name", flat=True)) == set(SECOND_LOCALITIES)
    mapped = {}
    for code, locality in PostcodeDistrict.objects.values_list("code", "locality__name"):
        mapped.setdefault(locality, set()).add(code)
    assert mapped == SECOND_LOCALITIES
    assert set(Locality.objects.values_list("slug", flat=True)) == {"northgate", "riverside", "moorland"}
    entry = AuditEntry.objects.filter(action="organisation.localities_loaded").get()
    assert entry.changes["organisation"] == "NHS Tamar and Moor"
    assert entry.changes["districts"] == 18


@pytest.mark.parametrize(
    ("postcode", "locality"),
    [("PL19 0AB", "Moorland"), ("EX20 1AA", "Moorland"), ("PL1 2AB", "Riverside"), ("PL12 6XY", "Riverside"),
     ("PL20 7AA", "Northgate"), ("PL5 3AB", "Northgate"), ("PL10 1AA", None), ("L20 3NJ", None)],
)
def test_postcodes_map_to_its_localities(loaded, postcode, locality):
    contact = create_contact(email=f"{postcode.replace(' ', '')}@example.org", name="Pat Example",
                             postcode=postcode, actor=Actor.system())
    assert (contact.locality.name if contact.locality else None) == locality


def test_a_web_sign_up_lands_in_its_locality(loaded, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/sign-up/", sign_up_data(email="moor@example.org", postcode="PL17 8QR"))
    assert response.status_code == 302
    assert Contact.objects.get(email_normalised="moor@example.org").locality.name == "Moorland"
    (message,) = mail.outbox
    assert "NHS Tamar and Moor" in message.body
    assert not any(place in message.body for place in DEMO_PLACES)


def test_existing_contacts_follow_the_new_map(db, second_organisation, actor):
    # Set up under the demo's map first, then switch organisation: nobody keeps a Sefton locality.
    demo_file = organisation.load(str(ROOT / "crm" / "data" / "demo-organisation.toml"))
    from crm.localities import apply_organisation_localities

    apply_organisation_localities(organisation=demo_file, actor=actor)
    in_bootle = create_contact(email="bootle@example.org", name="A", postcode="L20 3NJ", actor=actor)
    in_the_moor = create_contact(email="moor@example.org", name="B", postcode="PL19 0AB", actor=actor)
    assert in_bootle.locality.name == "Bootle" and in_the_moor.locality is None
    out = _Sink()
    call_command("load_organisation", str(second_organisation), stdout=out, stderr=_Sink())
    in_bootle.refresh_from_db()
    in_the_moor.refresh_from_db()
    assert in_bootle.locality is None
    assert in_the_moor.locality.name == "Moorland"
    assert "contacts given a new locality: 2" in out.text
    assert not Locality.objects.filter(name="Bootle").exists()


def test_loading_the_same_file_twice_changes_nothing_the_second_time(loaded):
    out = _Sink()
    call_command("load_organisation", str(loaded), stdout=out, stderr=_Sink())
    assert ("Localities created: 0, removed: 0; postcode districts created: 0, moved: 0, removed: 0; "
            "contacts given a new locality: 0") in out.text


def test_check_only_changes_nothing(db, second_organisation):
    before = set(Locality.objects.values_list("name", flat=True))
    out = _Sink()
    call_command("load_organisation", str(second_organisation), "--check", stdout=out)
    assert set(Locality.objects.values_list("name", flat=True)) == before
    assert "NHS Tamar and Moor (Tamar Health Voice): 3 localities, 18 postcode districts" in out.text
    assert "100,000 residents" in out.text


# --- Its pages ------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/privacy/", "/sign-up/", "/accessibility/", "/preferences/",
                                  "/staff/login/", "/no-such-page/"])
def test_its_pages_show_its_name_and_never_the_demos(loaded, path):
    response = Client().get(path)
    html = response.content.decode()
    assert "NHS Tamar and Moor" in html or "Tamar Health Voice" in html
    assert not [place for place in DEMO_PLACES if place in html]


def test_its_privacy_notice_has_its_wording_and_data_protection_contact(loaded, client):
    html = client.get("/privacy/").content.decode()
    assert "How NHS Tamar and Moor uses your information in Tamar Health Voice" in html
    assert "<p>NHS Tamar and Moor plans and buys health services for the people of Tamar and the moor" in html
    assert 'href="mailto:ig-team@tamar-and-moor.example.org"' in html
    assert "Information governance team, NHS Tamar and Moor" in html
    assert "01632 960 123" in html


def test_the_header_and_footer_carry_its_names(loaded, client):
    html = client.get("/").content.decode()
    assert '<span class="nhsuk-header__service-name">Tamar Health Voice</span>' in html
    assert "© NHS Tamar and Moor" in html
    assert "<title>" in html and "Tamar Health Voice - NHS</title>" in html


def test_its_subject_access_export_names_it_as_controller(loaded, actor):
    contact = create_contact(email="sar@example.org", name="C", postcode="PL1 2AB", actor=actor)
    assert exports.personal_data_for(contact)["controller"] == "NHS Tamar and Moor (Tamar Health Voice)"


# --- Bad files are refused with the reason and the line --------------------------------------------

def _write(tmp_path, text: str, csv_text: str | None = None) -> Path:
    baseline = (SECOND.parent / "census_tamar_and_moor.csv").read_text()
    (tmp_path / "census.csv").write_text(csv_text if csv_text is not None else baseline)
    path = tmp_path / "organisation.toml"
    path.write_text(text)
    return path


def _second_text(**replace) -> str:
    text = SECOND.read_text().replace('baseline = "census_tamar_and_moor.csv"', 'baseline = "census.csv"')
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        ({'name = "NHS Tamar and Moor"\n': ""}, "name is missing"),
        ({'email = "ig-team@tamar-and-moor.example.org"': 'email = ""'}, "data_protection.email is missing"),
        ({'"PL1", "PL2"': '"PL5", "PL2"'}, "postcode district PL5 is in both 'Northgate' and 'Riverside'"),
        ({'"TQ13"': '"not a district"'}, "locality 'Moorland': 'not a district' is not a postcode district"),
        ({'[localities]': '[places]'}, "the [localities] table is missing"),
        ({'service_name = "Tamar Health Voice"': 'service_name = "Tamar Health Voice'}, "not valid TOML"),
    ],
)
def test_a_broken_organisation_file_is_refused_saying_why(db, tmp_path, replace, message):
    path = _write(tmp_path, _second_text(**replace))
    before = list(Locality.objects.values_list("name", flat=True))
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("load_organisation", str(path), stdout=_Sink())
    assert list(Locality.objects.values_list("name", flat=True)) == before


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("area,characteristic,category,residents\n", "line 1: missing column(s) area_code, area_name"),
        ("area_code,area_name,characteristic,category,residents\nX,Y,sex,Female,51200\nX,Y,sex,Male,many\n",
         "line 3: residents 'many' is not a whole number"),
        ("area_code,area_name,characteristic,category,residents\nX,Y,height,Tall,5\n",
         "line 2: characteristic 'height' is not one of"),
        ("area_code,area_name,characteristic,category,residents\nX,Y,sex,Female,5\nX,Y,sex,Female,6\n",
         "line 3: sex 'Female' appears twice"),
        ("area_code,area_name,characteristic,category,residents\nX,Y,sex,Female,5\n",
         "no rows for age, ethnic_group, religion"),
    ],
)
def test_a_broken_baseline_is_refused_with_its_line(db, tmp_path, csv_text, message):
    path = _write(tmp_path, _second_text(), csv_text)
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("load_organisation", str(path), stdout=_Sink())


# --- Nothing outside the demo data names the demo's places; topics are not purposes ---------------

SCANNED_SUFFIXES = {".py", ".html", ".txt", ".mjs", ".js", ".css"}


def _is_demo_or_data(path: Path) -> bool:
    parts = set(path.relative_to(ROOT).parts)
    # The demo's own data and code, historical migrations (rewriting them changes nothing), the tests.
    return bool(parts & {"demo", "data", "migrations", "tests"}) or path.name.startswith("demo") \
        or path.name == "load_demo.py"


def test_no_template_or_module_outside_the_demo_names_its_places():
    offenders = []
    for app in ("crm", "consent", "segments", "bulletins"):
        for path in sorted((ROOT / app).rglob("*")):
            if path.suffix not in SCANNED_SUFFIXES or _is_demo_or_data(path):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if any(place.lower() in line.lower() for place in DEMO_PLACES):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert offenders == []


def test_no_topic_duplicates_a_purpose(db):
    topics = {name.lower() for name in Topic.objects.filter(is_active=True).values_list("name", flat=True)}
    assert "big chat events" not in topics
    from consent.models import Purpose

    for purpose in Purpose.objects.all():
        assert purpose.name.lower() not in topics


def test_existing_databases_stop_offering_the_duplicate_topic(db):
    import importlib

    from django.apps import apps

    chosen = Topic.objects.create(name="Big Chat events", slug="big-chat-events")  # as an older database has it
    importlib.import_module("crm.migrations.0008_org_config").retire_duplicate_topic(apps, None)
    chosen.refresh_from_db()
    assert chosen.is_active is False
    assert Topic.objects.filter(is_active=True).count() == 14  # the health topics in crm/reference_data.py
