"""Browser tests for the import pages: axe (WCAG 2.2 AA), no CSP refusals or script errors, reflow at
320px, on the list, the upload form (and its errors), the preview (rows to fix, rows left out, the sample),
the imported and cancelled outcomes; and the whole journey through the browser, with and without JavaScript."""

from datetime import date

import pytest
from django.urls import reverse

from consent import services as consent_services
from crm.audit import Actor
from crm.models import Contact
from segments import imports
from tests.browser.conftest import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVIDENCE = {"method": "paper_form", "statement_versions": None, "collected_on": date(2026, 11, 20),
            "collected_by": "Engagement team at the Bootle Big Chat", "evidence_reference": "Box 12, Bootle office"}
GOOD = (b"email,name,postcode,topics,bulletin,events\n"
        b"ann@example.org,Ann Able,L20 3NJ,dementia,yes,yes\n"
        b"bob@example.org,Bob Baker,,,yes,\n")


@pytest.fixture
def records(make_contact, staff_user, actor):
    gone = make_contact(email="gone@example.org", purposes=("bulletin",))
    consent_services.withdraw(contact=gone, purpose="bulletin", method="one_click_unsubscribe", actor=actor)
    organiser = Actor.staff(staff_user("Engagement", username="organiser"))
    preview, _ = imports.preview_import(content=GOOD + b"gone@example.org,Gwen,,,yes,\n", file_name="bootle.csv",
                                        actor=organiser, **EVIDENCE)
    broken, _ = imports.preview_import(content=b"email,bulletin\nnot-an-address,yes\nok@example.org,maybe\n",
                                       file_name="broken.csv", actor=organiser, **EVIDENCE)
    done, _ = imports.preview_import(content=b"email,bulletin\ncat@example.org,yes\n", file_name="crosby.csv",
                                     actor=organiser, **EVIDENCE)
    imports.confirm_import(record=done, actor=organiser)
    cancelled, _ = imports.preview_import(content=b"email\ndan@example.org\n", file_name="old.csv",
                                          actor=organiser, **EVIDENCE)
    imports.cancel_import(record=cancelled, actor=organiser)
    return {"preview": preview, "broken": broken, "done": done, "cancelled": cancelled}


@pytest.fixture
def engagement_site(open_site, staff_user):
    def make(*, javascript=True):
        site = open_site(javascript=javascript)
        site.user = staff_user("Engagement")
        sign_in_staff(site, site.user)
        return site
    return make


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_every_import_page_is_accessible(engagement_site, records, javascript):
    site = engagement_site(javascript=javascript)
    site.assert_all_accessible([reverse("segments:import_list"), reverse("segments:import_new")] + [
        reverse("segments:import_detail", args=[r.public_id]) for r in records.values()])


def test_the_preview_says_what_will_happen(engagement_site, records):
    site = engagement_site()
    page = site.goto(reverse("segments:import_detail", args=[records["preview"].public_id]))
    text = page.inner_text("main")
    assert "Left out: the consent rules refuse them" in text and "Withdrew from bulletin" in text
    assert page.get_by_role("button", name="Confirm import").count() == 1
    page = site.goto(reverse("segments:import_detail", args=[records["broken"].public_id]))
    assert "2 lines of the file cannot be read" in page.inner_text("main")
    assert page.get_by_role("button", name="Confirm import").count() == 0


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_upload_check_and_confirm_in_the_browser(engagement_site, tmp_path, javascript):
    site = engagement_site(javascript=javascript)
    page = site.goto(reverse("segments:import_new"))
    site.submit(page.get_by_role("button", name="Check the file"))
    assert page.title().startswith("Error: ") and page.locator(".nhsuk-error-summary").is_visible()
    site.assert_accessible()
    upload = tmp_path / "signups.csv"
    upload.write_bytes(GOOD)
    page.set_input_files("#id_file", str(upload))
    page.select_option("#id_method", "paper_form")
    page.fill("#id_collected_on_0", "20")
    page.fill("#id_collected_on_1", "11")
    page.fill("#id_collected_on_2", "2026")
    page.fill("#id_collected_by", "Engagement team")
    page.fill("#id_evidence_reference", "Box 12")
    site.submit(page.get_by_role("button", name="Check the file"))
    assert page.locator("h1").inner_text() == "Check the import"
    site.assert_accessible()
    site.submit(page.get_by_role("button", name="Confirm import"))
    assert page.locator("h1").inner_text() == "Imported"
    site.assert_accessible()
    assert set(Contact.objects.values_list("email_normalised", flat=True)) == {"ann@example.org", "bob@example.org"}
