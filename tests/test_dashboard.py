"""The team dashboard (monthly figures, open cases, retention) and the retention duties behind it."""

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consent import dashboard, erasure, retention, services, tasks
from consent.models import ConsentEvent, Suppression
from crm.audit import Actor
from crm.models import AuditEntry, Contact
from crm.roles import COMMUNICATIONS, DATA_PROTECTION, ENGAGEMENT

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 23)


@pytest.fixture(autouse=True)
def _on_a_fixed_day():
    # The figures are per calendar month ending "now": pin now, so the expected months never drift.
    with time_machine.travel(datetime(2026, 11, 23, 12, tzinfo=timezone.get_current_timezone()), tick=True):
        yield


def moment(year, month, day) -> datetime:
    return timezone.make_aware(datetime(year, month, day, 12))


def backdate(contact: Contact, when: datetime, *, confirmed: bool = True) -> None:
    Contact.objects.filter(pk=contact.pk).update(created_at=when, confirmed_at=when if confirmed else None)


def test_month_starts_cover_twelve_months_ending_now():
    starts = dashboard.month_starts(TODAY)
    assert len(starts) == 12 and starts[0] == date(2025, 12, 1) and starts[-1] == date(2026, 11, 1)


def test_monthly_figures(make_contact, actor):
    september = [make_contact(occurred_at=moment(2026, 9, 5)) for _ in range(3)]
    for contact in september:
        backdate(contact, moment(2026, 9, 5))
        # As if really created then: the creation's audit entry carries the same date.
        AuditEntry.objects.filter(action="contact.created", object_id=str(contact.pk)).update(
            created_at=moment(2026, 9, 5))
    for _ in range(2):
        make_contact()  # created this month
    services.record_consent(contact=september[0], purpose="bulletin", action="withdrawn", method="phone",
                            occurred_at=moment(2026, 10, 2), actor=actor)
    Suppression.objects.filter(address_hash=september[0].email_hash).update(created_at=moment(2026, 10, 2))
    erasure.erase_contact(contact=september[1], actor=actor)  # in November
    old = make_contact(occurred_at=moment(2024, 1, 1))
    backdate(old, moment(2024, 1, 1))  # before the window: counted in the totals only

    rows = {row.month: row for row in dashboard.monthly_figures(TODAY)}
    sep, octo, nov = rows[date(2026, 9, 1)], rows[date(2026, 10, 1)], rows[date(2026, 11, 1)]
    # The September record erased in November is gone (so not among September's new contacts), but
    # its deletion is audited, so the month-end totals still count it until it left.
    assert (sep.sign_ups, sep.confirmations, sep.contacts) == (2, 2, 4)
    assert (octo.sign_ups, octo.withdrawals, octo.suppressions, octo.contacts) == (0, 1, 1, 4)
    # November: 2 new, 1 erased; the erasure adds a suppression per purpose.
    assert (nov.sign_ups, nov.confirmations, nov.contacts) == (2, 2, 5)
    assert nov.suppressions == Suppression.objects.filter(reason="erasure").count() == 5
    assert rows[date(2026, 8, 1)].contacts == 1 and rows[date(2025, 12, 1)].contacts == 1
    assert Contact.objects.count() == 5


def test_dashboard_queries_do_not_grow_with_the_data(staff_client, make_contact, actor):
    client = staff_client(COMMUNICATIONS)

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("consent_staff:dashboard")).status_code == 200
        return len(captured)

    make_contact()
    few = queries_for_page()
    for i in range(15):
        contact = make_contact()
        services.withdraw(contact=contact, purpose="bulletin", method="phone", actor=actor)
    assert queries_for_page() == few


def test_dashboard_shows_figures_cases_and_retention(staff_client, make_contact, actor):
    from consent.cases import open_subject_access

    make_contact()
    case = open_subject_access(received_on=date(2026, 9, 1), identity_checked_on=date(2026, 9, 1), actor=actor)
    retention.run_retention(actor=actor)
    html = staff_client(COMMUNICATIONS).get(reverse("consent_staff:dashboard")).content.decode()
    assert "November 2026" in html and "December 2025" in html and "October 2026" in html
    assert case.reference in html and "Overdue" in html
    assert "No live consent for 2 years, awaiting review" in html and "Last nightly retention run" in html
    # Communications may see the dashboard but not the cases or the review list behind it.
    assert reverse("consent_staff:sar", args=[case.pk]) not in html
    assert reverse("consent_staff:retention") not in html
    dp = staff_client(DATA_PROTECTION).get(reverse("consent_staff:dashboard")).content.decode()
    assert reverse("consent_staff:sar", args=[case.pk]) in dp and reverse("consent_staff:retention") in dp


def test_dashboard_carries_its_figures_for_the_charts_and_keeps_the_table(staff_client, make_contact, actor):
    import json
    import re

    for _ in range(3):
        make_contact()  # three new contacts this month (November 2026)
    services.withdraw(contact=Contact.objects.first(), purpose="bulletin", method="phone", actor=actor)
    html = staff_client(COMMUNICATIONS).get(reverse("consent_staff:dashboard")).content.decode()
    found = re.search(r'<script id="dashboard-figures" type="application/json">(.*?)</script>', html, re.S)
    figures = json.loads(found.group(1))
    assert figures["months"][0] == "Dec 2025" and figures["months"][-1] == "Nov 2026" and len(figures["months"]) == 12
    assert figures["contacts"] == [0] * 11 + [3]
    series = {row["label"]: row["values"] for row in figures["series"]}
    assert list(series) == ["New contacts", "Confirmations", "Withdrawals", "New suppressions",
                            "Expired sign-ups deleted"]
    assert series["New contacts"] == [0] * 11 + [3]
    assert series["Withdrawals"] == [0] * 11 + [1]
    assert series["New suppressions"] == [0] * 11 + [1]
    # Two canvases drawn by a static script (no inline code under CSP), and the table for screen readers.
    assert html.count("<canvas ") == 2 and 'role="img"' in html
    assert "/static/chartjs/chart.umd.min.js" in html and "/static/mynhs/dashboard.js" in html
    assert '<caption class="nhsuk-table__caption nhsuk-table__caption--m" id="months-caption">Month by month' in html


def test_chart_library_is_served_as_a_static_file(client):
    from django.contrib.staticfiles import finders

    assert finders.find("chartjs/chart.umd.min.js")
    assert finders.find("mynhs/dashboard.js")


def test_dashboard_needs_a_verified_staff_session(staff_client):
    unverified = staff_client(COMMUNICATIONS, verified=False)
    response = unverified.get(reverse("consent_staff:dashboard"))
    assert response.status_code == 302 and reverse("staff:verify") in response["Location"]
    assert staff_client().get(reverse("consent_staff:dashboard")).status_code == 403  # no role at all


# --- retention ------------------------------------------------------------------------------

@pytest.fixture
def aged(make_contact, actor):
    """People at each side of the two-year review line."""
    three_years = timezone.now() - timedelta(days=3 * 365)
    lapsed = make_contact(email="lapsed@example.org", occurred_at=three_years)
    services.record_consent(contact=lapsed, purpose="bulletin", action="withdrawn", method="phone",
                            occurred_at=three_years + timedelta(days=1), actor=actor)
    backdate(lapsed, three_years)
    still_granted = make_contact(email="granted@example.org", occurred_at=three_years)
    backdate(still_granted, three_years)
    recent_activity = make_contact(email="recent@example.org", occurred_at=three_years)
    services.record_consent(contact=recent_activity, purpose="bulletin", action="withdrawn", method="phone",
                            occurred_at=timezone.now() - timedelta(days=100), actor=actor)
    backdate(recent_activity, three_years)
    never_asked = make_contact(email="never@example.org", purposes=())
    backdate(never_asked, three_years)
    new_no_consent = make_contact(email="new@example.org", purposes=())
    return {"lapsed": lapsed, "never_asked": never_asked, "others": [still_granted, recent_activity, new_no_consent]}


def test_contacts_for_review(aged):
    assert set(retention.contacts_for_review()) == {aged["lapsed"], aged["never_asked"]}


def web_sign_up(email: str, days_ago: int) -> Contact:
    contact = services.sign_up(email=email, name="Web Person", purposes=["bulletin"], actor=Actor.public()).contact
    Contact.objects.filter(pk=contact.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    return contact


def test_nightly_task_deletes_expired_sign_ups_and_records_the_review_count(aged):
    expired = web_sign_up("expired@example.org", 31)
    waiting = web_sign_up("waiting@example.org", 29)
    assert retention.expired_unconfirmed_sign_ups().count() == 1

    deleted = tasks.delete_expired_sign_ups.call_local()
    assert deleted == 1
    assert not Contact.objects.filter(pk=expired.pk).exists() and Contact.objects.filter(pk=waiting.pk).exists()
    assert not ConsentEvent.objects.filter(contact_id=expired.pk).exists()
    run = retention.last_run()
    assert run.changes == {"deleted_unconfirmed": 1, "awaiting_review": 2} and run.actor_label == "system"
    assert "expired@example.org" not in str(list(AuditEntry.objects.values_list("changes", "summary")))

    figures = dashboard.retention_figures()
    assert (figures.unconfirmed, figures.unconfirmed_expired, figures.awaiting_review) == (1, 0, 2)
    nov = dashboard.monthly_figures(timezone.localdate())[-1]
    assert nov.expired_deleted == 1


def test_retention_review_page(staff_client, aged):
    client = staff_client(DATA_PROTECTION)
    html = client.get(reverse("consent_staff:retention")).content.decode()
    assert str(aged["lapsed"].public_id) in html and str(aged["never_asked"].public_id) in html
    for other in aged["others"]:
        assert str(other.public_id) not in html
    assert f"?contact={aged['lapsed'].public_id}" in html  # open an erasure case from the list
    assert staff_client(ENGAGEMENT).get(reverse("consent_staff:retention")).status_code == 403
