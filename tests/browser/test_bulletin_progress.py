"""The sending progress page, its cancel confirmation and the final report: axe-clean with and
without JavaScript; with JavaScript the bar and figures follow the ledger without a reload."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from bulletins.models import Bulletin, Delivery
from bulletins.sending.fanout import create_deliveries
from tests.browser.conftest import sign_in_staff
from tests.bulletin_sending_support import approved_bulletin, make_people, some_topics

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sending_bulletin():
    (health,) = some_topics(1)
    make_people(40, topics=[health])
    bulletin = approved_bulletin(topics=[health])
    create_deliveries(bulletin=bulletin)
    Bulletin.objects.filter(pk=bulletin.pk).update(status="sending", send_started_at=timezone.now() - timedelta(minutes=2))
    mark(bulletin, 10, "sent")
    return bulletin


def mark(bulletin, n, status, reason=""):
    ids = list(bulletin.deliveries.filter(status="pending").order_by("pk").values_list("pk", flat=True)[:n])
    Delivery.objects.filter(pk__in=ids).update(status=status, reason=reason, sent_at=timezone.now())


@pytest.fixture
def communications(open_site, staff_user):
    def make(javascript=True):
        site = open_site(javascript=javascript)
        sign_in_staff(site, staff_user("Communications"))
        return site
    return make


def test_progress_updates_without_a_reload(communications, sending_bulletin):
    site = communications()
    page = site.goto(f"/staff/bulletins/{sending_bulletin.public_id}/progress/")
    site.assert_accessible()
    assert page.locator("[data-field=summary]").inner_text() == "10 of 40 done (25%)"
    page.evaluate("window.notReloaded = true")
    mark(sending_bulletin, 20, "sent")
    mark(sending_bulletin, 2, "failed", "The mail server refused the address (reply 550).")
    expect(page.locator("[data-field=summary]")).to_have_text("32 of 40 done (80%)", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#send-progress-bar").get_attribute("value") == "32"
    assert page.locator("[data-count=failed]").inner_text() == "2"
    site.assert_accessible()


def test_progress_without_javascript_and_the_cancel_confirmation(communications, sending_bulletin):
    site = communications(javascript=False)
    page = site.goto(f"/staff/bulletins/{sending_bulletin.public_id}/progress/")
    assert "10 of 40 done (25%)" in page.locator("main").inner_text()
    site.assert_accessible()
    page = site.goto(f"/staff/bulletins/{sending_bulletin.public_id}/cancel/")
    site.assert_accessible()
    page = site.submit(page.locator("main form button[type=submit]"))
    assert site.path() == f"/staff/bulletins/{sending_bulletin.public_id}/progress/"
    assert "Sending is cancelled" in page.locator("main").inner_text()
    assert Delivery.objects.filter(bulletin=sending_bulletin, status="cancelled").count() == 30
    site.assert_accessible()  # now the final report


def test_final_report_with_failures(communications, sending_bulletin):
    mark(sending_bulletin, 25, "sent")
    mark(sending_bulletin, 3, "failed", "The mail server refused the address (reply 550).")
    mark(sending_bulletin, 2, "skipped", "No longer receiving bulletins when it was sent (unsubscribed or suppressed).")
    Bulletin.objects.filter(pk=sending_bulletin.pk).update(status="sent", send_finished_at=timezone.now())
    site = communications()
    page = site.goto(f"/staff/bulletins/{sending_bulletin.public_id}/progress/")
    text = page.locator("main").inner_text()
    assert "Send report" in text and "Why messages failed" in text and "Pause sending" not in text
    site.assert_accessible()
