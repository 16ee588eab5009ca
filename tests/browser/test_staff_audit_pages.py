"""Browser checks (axe, reflow) for the audit log as sentences, the check page with its history of
recorded fingerprints, an account with a role change waiting for a second Administrator, and the
styled 403 for /admin/."""

import os
import re
from datetime import date

import pytest
from django.urls import reverse

from crm.audit import Actor, check_chain
from crm.roles import ADMINISTRATOR, DATA_PROTECTION, ENGAGEMENT
from crm.staff import services as staff_services
from tests.browser.conftest import assert_reflows, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("MYNHS_SCREENSHOTS")  # a folder: save what the pages look like


def shot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def history(make_contact, staff_user, topics):
    from consent import cases
    from crm import services as crm_services

    engagement = staff_user(ENGAGEMENT)
    actor = Actor.staff(engagement, "::ffff:10.0.0.9")
    contact = make_contact(name="Robin Example", postcode="L20 3NJ")
    crm_services.set_contact_topics(contact=contact, topics=topics[:2], actor=actor)
    case = cases.open_subject_access(received_on=date.today(), contact=contact, actor=actor,
                                     identity_checked_on=date.today())
    cases.record_subject_access_export(case=case, export_format="html", actor=actor)
    check_chain(actor=Actor.system())
    check_chain(actor=Actor.system())
    return {"contact": contact, "case": case}


def test_audit_log_reads_as_sentences_and_passes_axe(open_site, staff_user, history):
    site = open_site()
    sign_in_staff(site, staff_user(DATA_PROTECTION))
    page = site.goto(reverse("staff:audit"))
    text = page.locator("main").inner_text()
    assert "Subject access export downloaded" in text and "Topics of interest changed" in text
    assert "sar.exported" not in text and "crm.contact" not in text and "Robin" not in text
    site.assert_accessible()
    assert_reflows(page)
    shot(page, "audit-log")
    page = site.goto(reverse("staff:audit_verify"))
    assert page.locator("main table tbody tr").count() == 2  # two recorded checks, each with its fingerprint
    site.assert_accessible()
    shot(page, "audit-check")


def test_account_with_a_pending_role_change_passes_axe(open_site, staff_user):
    first, second = staff_user(ADMINISTRATOR), staff_user(ADMINISTRATOR)
    target = staff_user(ENGAGEMENT, username="pending.person")
    staff_services.set_staff_roles(user=target, roles=[ENGAGEMENT, DATA_PROTECTION], actor=Actor.staff(first))
    site = open_site()
    sign_in_staff(site, second)
    page = site.goto(reverse("staff:account", kwargs={"user_id": target.pk}))
    approve = page.get_by_role("button", name=re.compile(r"^Approve.*Give the role Data protection"))
    assert approve.count() == 1
    site.assert_accessible()
    shot(page, "account-pending-role")
    site.submit(approve)
    assert "Role change approved" in page.locator("main").inner_text()
    assert target.groups.filter(name=DATA_PROTECTION).exists()


def test_admin_for_staff_without_admin_rights_is_a_styled_403(open_site, staff_user):
    site = open_site()
    sign_in_staff(site, staff_user(ADMINISTRATOR))
    page = site.goto("/admin/", status=403)
    assert page.locator("h1").inner_text() == "You do not have access to this page"
    site.assert_accessible()
    shot(page, "admin-403")
