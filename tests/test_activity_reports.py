"""Engagement activity reports (issue 10): governance tables and the yearly summary, pages and CSV files.

Eight activities are built by hand below; every expected number is counted by hand from that list (the
comments say which activities make it), never taken from the code under test. "Today" is frozen at
30 June 2027, midday in London: 12 weeks before is 7 April 2027.

    A1 Talking therapies survey  MH survey        completed 31 Mar 2027 (FY 2026)  starts 10 Jan 2027
       EA yes, Bootle + Crosby, feedback published, headcount 30, named ann + bob
    A2 Crisis line focus group   MH focus group   completed 1 Apr 2027 (FY 2027)   starts 1 Feb 2027
       EA no, Bootle, no feedback, nothing written, named dan
    A3 UTC consultation          UC consultation  completed 7 Apr 2027             starts 1 Mar 2027
       EA yes, Crosby + Southport, "we did" written but not given, headcount 12
    A4 Walk-in centre Big Chat   UC big chat      completed 20 May 2027            starts 15 Apr 2027
       EA yes, Southport, feedback emailed to 40, headcount 15, event attended by cat + ann, cat recorded too
    A5 Perinatal co-production   MH co-production in progress                      starts 1 Nov 2026
       EA no, no locality
    A6 Dementia survey 2028      MH survey        planned                          starts 1 May 2028
       EA no, Crosby
    A7 Old 111 review            UC engagement    completed 10 Feb 2026 (FY 2025)  starts 1 Oct 2025
       EA yes, no locality, feedback published
    A8 GP access survey          UC survey        planned, no dates, recorded 5 May 2027
       EA no, no locality
"""

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from crm.audit import Actor
from crm.models import Locality
from segments import activity_reports as reports
from segments import events
from segments.models import Activity, ActivityHeadcount, ActivityParticipant, Invitation, Programme

pytestmark = pytest.mark.django_db
LONDON = ZoneInfo("Europe/London")
TODAY = datetime(2027, 6, 30, 12, 0, tzinfo=LONDON)
C = Activity.Status.COMPLETED
IP = Activity.Status.IN_PROGRESS
P = Activity.Status.PLANNED


@pytest.fixture
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def acts(frozen, staff_user, make_contact):
    lead = staff_user("Engagement", first_name="Erin", last_name="Engage")
    mh = Programme.objects.get_or_create(name="Mental health")[0]
    uc = Programme.objects.get_or_create(name="Urgent care")[0]
    bootle, crosby, southport = (Locality.objects.get_or_create(name=n, defaults={"slug": n.lower()})[0]
                                 for n in ("Bootle", "Crosby", "Southport"))

    def make(title, programme, kind, status, *, starts=None, completed=None, ea=None, places=(), **values):
        activity = Activity.objects.create(
            title=title, programme=programme, kind=kind, status=status, starts_on=starts, completed_on=completed,
            equality_analysis_done=ea is not None, equality_analysis_on=ea, lead=lead, created_by=lead, **values)
        activity.localities.set(places)
        return activity

    a = {}
    a[1] = make("Talking therapies survey", mh, "survey", C, starts=date(2027, 1, 10), completed=date(2027, 3, 31),
                ea=date(2027, 1, 5), places=(bootle, crosby), feedback_published_on=date(2027, 5, 1),
                we_did="Evening appointments added at two hubs")
    a[2] = make("Crisis line focus group", mh, "focus_group", C, starts=date(2027, 2, 1), completed=date(2027, 4, 1),
                places=(bootle,))
    a[3] = make("Urgent treatment centre consultation", uc, "consultation", C, starts=date(2027, 3, 1),
                completed=date(2027, 4, 7), ea=date(2027, 2, 20), places=(crosby, southport),
                we_did="Opening hours kept until 10pm")
    a[4] = make("Walk-in centre Big Chat", uc, "big_chat", C, starts=date(2027, 4, 15), completed=date(2027, 5, 20),
                ea=date(2027, 4, 1), places=(southport,), we_did="Signage changed at the entrance",
                feedback_sent_at=datetime(2027, 6, 1, 9, 0, tzinfo=UTC), feedback_sent_count=40)
    a[5] = make("Perinatal co-production group", mh, "co_production", IP, starts=date(2026, 11, 1))
    a[6] = make("Dementia survey 2028", mh, "survey", P, starts=date(2028, 5, 1), places=(crosby,))
    a[7] = make("Old 111 review", uc, "engagement", C, starts=date(2025, 10, 1), completed=date(2026, 2, 10),
                ea=date(2025, 9, 1), feedback_published_on=date(2026, 3, 1), we_did="111 callback times published")
    a[8] = make("GP access survey", uc, "survey", P)
    Activity.objects.filter(pk=a[8].pk).update(created_at=datetime(2027, 5, 5, 10, 0, tzinfo=LONDON))

    ann, bob, cat, dan = (make_contact(email=f"{n}@example.org") for n in ("ann", "bob", "cat", "dan"))
    for activity, person in ((a[1], ann), (a[1], bob), (a[2], dan), (a[4], cat)):
        ActivityParticipant.objects.create(activity=activity, contact=person, added_by=lead)
    event = events.save_event(actor=Actor.staff(lead), kind="big_chat", title="Big Chat, Southport",
                              starts_at=datetime(2027, 5, 1, 10, 0), ends_at=datetime(2027, 5, 1, 12, 0))
    a[4].events.add(event)
    for person in (cat, ann):
        Invitation.objects.create(event=event, contact=person, attended=True)
    ActivityHeadcount.objects.create(activity=a[1], locality=bootle, label="Drop-in, Bootle Strand", count=30,
                                     added_by=lead)
    ActivityHeadcount.objects.create(activity=a[3], label="Stall at the UTC", count=12, added_by=lead)
    ActivityHeadcount.objects.create(activity=a[4], label="Big Chat walk-ins", count=15, added_by=lead)
    return a


def _rows(table):
    return {row.label: (row.counts[P], row.counts[IP], row.counts[C], row.total) for row in table.rows}


# --- governance tables -------------------------------------------------------------------------------

def test_counts_by_programme_and_status(acts):
    table = reports.by_programme_and_status()
    # (planned, in progress, completed, total). MH: A6 / A5 / A1 A2. UC: A8 / - / A3 A4 A7.
    assert _rows(table) == {"Mental health": (1, 1, 2, 4), "Urgent care": (1, 0, 3, 4)}
    assert [row.label for row in table.rows] == ["Mental health", "Urgent care"]
    assert (table.totals.counts[P], table.totals.counts[IP], table.totals.counts[C], table.totals.total) == (2, 1, 5, 8)


def test_an_activity_in_two_localities_counts_in_each_and_the_total_counts_it_once(acts):
    table = reports.by_locality_and_status()
    assert _rows(table) == {
        "Bootle": (0, 0, 2, 2),  # A1 A2
        "Crosby": (1, 0, 2, 3),  # A6 / A1 A3
        "Southport": (0, 0, 2, 2),  # A3 A4
        "No locality recorded": (1, 1, 1, 3),  # A8 / A5 / A7
    }
    assert table.rows[-1].label == "No locality recorded"
    assert (table.totals.counts[P], table.totals.counts[IP], table.totals.counts[C], table.totals.total) == (2, 1, 5, 8)


def test_activities_lacking_an_equality_analysis_completed_first(acts):
    # A2 completed; A5 in progress; A6 (Mental health) and A8 (Urgent care) planned.
    assert list(reports.lacking_equality_analysis()) == [acts[2], acts[5], acts[6], acts[8]]


def test_feedback_due_is_completed_without_publication_or_email_and_overdue_after_12_weeks(acts):
    due = list(reports.feedback_due())
    # A1 and A7 published, A4 emailed: given. A2 and A3 are due, oldest completion first.
    assert due == [acts[2], acts[3]]
    # A2 was completed 90 days ago (more than 12 weeks); A3 exactly 12 weeks ago: not yet overdue.
    assert [(a.overdue, a.drafted) for a in due] == [(True, False), (False, True)]


def test_feedback_is_overdue_the_day_after_12_weeks(acts):
    with time_machine.travel(datetime(2027, 7, 1, 12, 0, tzinfo=LONDON), tick=False):
        assert [a.overdue for a in reports.feedback_due()] == [True, True]


def test_the_overdue_weeks_come_from_settings(acts, settings):
    settings.MYNHS_FEEDBACK_OVERDUE_WEEKS = 13  # 13 weeks before 30 June 2027 is 31 March: neither is overdue
    assert [a.overdue for a in reports.feedback_due()] == [False, False]


# --- the financial year --------------------------------------------------------------------------------

def test_31_march_is_in_the_year_before_and_1_april_starts_the_next():
    assert reports.financial_year_of(date(2027, 3, 31)) == 2026
    assert reports.financial_year_of(date(2027, 4, 1)) == 2027
    assert reports.year_bounds(2026) == (date(2026, 4, 1), date(2027, 3, 31))


def test_summary_of_april_2026_to_march_2027(acts):
    s = reports.year_summary(2026)
    # Ran in the year: A1, A2 (completed 1 April, ran before), A3 (started 1 March), A5. Not A4 (started
    # April 2027), A6 (2028), A7 (completed February 2026), A8 (recorded May 2027).
    assert s.total == 4
    assert s.by_kind == [("Consultation", {P: 0, IP: 0, C: 1}, 1), ("Survey", {P: 0, IP: 0, C: 1}, 1),
                         ("Focus group", {P: 0, IP: 0, C: 1}, 1), ("Co-production group", {P: 0, IP: 1, C: 0}, 1)]
    assert s.status_totals == {P: 0, IP: 1, C: 3}
    assert s.completed == 1  # A1 on 31 March; A2 on 1 April belongs to the next year
    assert s.with_equality_analysis == 2  # A1, A3
    assert (s.named_people, s.anonymous_people) == (3, 42)  # ann, bob (A1), dan (A2); 30 (A1) + 12 (A3)
    assert (s.completed_with_feedback, s.feedback_emailed, s.feedback_recipients) == (1, 0, 0)
    assert s.changes == [acts[1]]


def test_summary_of_april_2027_to_march_2028(acts):
    s = reports.year_summary(2027)
    # A2, A3, A4, A5, A8. Not A1 (completed 31 March 2027), A6 (starts May 2028), A7.
    assert s.total == 5
    assert s.by_kind == [("Consultation", {P: 0, IP: 0, C: 1}, 1), ("Survey", {P: 1, IP: 0, C: 0}, 1),
                         ("Focus group", {P: 0, IP: 0, C: 1}, 1), ("Big Chat", {P: 0, IP: 0, C: 1}, 1),
                         ("Co-production group", {P: 0, IP: 1, C: 0}, 1)]
    assert s.completed == 3  # A2, A3, A4
    assert s.with_equality_analysis == 2  # A3, A4
    # dan (A2), cat and ann (A4's event; cat also recorded there, counted once; ann also took part in A1,
    # which is not in this year); 12 (A3) + 15 (A4).
    assert (s.named_people, s.anonymous_people, s.people) == (3, 27, 30)
    assert (s.completed_with_feedback, s.feedback_emailed, s.feedback_recipients) == (1, 1, 40)  # A4
    assert s.changes == [acts[2], acts[3], acts[4]]  # Mental health first, then by completion


def test_years_on_record_run_from_the_earliest_activity_to_this_year(acts):
    assert reports.years_on_record() == [2027, 2026, 2025]  # A7 started October 2025


def test_each_activity_of_the_year_has_its_own_numbers(acts):
    rows = {a.title: (a.named, a.anonymous) for a in reports.year_activity_rows(2027)}
    assert rows == {"Crisis line focus group": (1, 0), "Urgent treatment centre consultation": (0, 12),
                    "Walk-in centre Big Chat": (2, 15), "Perinatal co-production group": (0, 0),
                    "GP access survey": (0, 0)}


# --- pages and files -------------------------------------------------------------------------------------

PAGES = ["segments:activity_reports", "segments:activity_reports_programme_csv",
         "segments:activity_reports_locality_csv", "segments:activity_reports_equality_csv",
         "segments:activity_reports_feedback_csv", "segments:activity_year_summary",
         "segments:activity_year_csv", "segments:activity_year_figures_csv"]


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("role", ["Communications", "Administrator"])
def test_roles_without_the_reports_permission_are_refused(staff_client, name, role):
    assert staff_client(role).get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("role", ["Engagement", "Commissioner", "Data protection"])
def test_governance_roles_get_every_report(staff_client, acts, name, role):
    assert staff_client(role).get(reverse(name)).status_code == 200


def test_reports_page_shows_the_tables_with_dates_people_read(staff_client, acts):
    response = staff_client("Commissioner").get(reverse("segments:activity_reports"))
    text = response.content.decode()
    assert "counts in each of them" in text
    assert "completed more than 12 weeks ago" in text
    assert "1 April 2027" in text and "7 April 2027" in text  # A2 and A3 completed
    assert "2027-04-01" not in text
    assert "2 completed activities without feedback, 1 overdue." in text
    assert reverse("segments:activity_detail", args=[acts[2].pk]) in text


def _csv(response):
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_programme_csv(staff_client, acts):
    rows = _csv(staff_client("Engagement").get(reverse("segments:activity_reports_programme_csv")))
    assert rows == [["Programme", "Planned", "In progress", "Completed", "Total"],
                    ["Mental health", "1", "1", "2", "4"], ["Urgent care", "1", "0", "3", "4"],
                    ["All", "2", "1", "5", "8"]]


def test_feedback_csv_names_the_overdue(staff_client, acts):
    rows = _csv(staff_client("Engagement").get(reverse("segments:activity_reports_feedback_csv")))
    assert rows[1:] == [["Crisis line focus group", "Mental health", "1 April 2027", "12", "Overdue", "Not written"],
                        ["Urgent treatment centre consultation", "Urgent care", "7 April 2027", "12", "Due",
                         "Written, not yet given"]]


def test_csv_cells_cannot_run_as_formulas(staff_client, acts):
    Activity.objects.filter(pk=acts[2].pk).update(title='=HYPERLINK("http://evil.example","x")')
    rows = _csv(staff_client("Engagement").get(reverse("segments:activity_reports_equality_csv")))
    assert rows[1][0] == "'=HYPERLINK(\"http://evil.example\",\"x\")"


def test_year_page_defaults_to_this_year_and_picks_another(staff_client, acts):
    client = staff_client("Data protection")
    text = client.get(reverse("segments:activity_year_summary")).content.decode()
    assert "Engagement from 1 April 2027 to 31 March 2028" in text
    assert "Signage changed at the entrance" in text and "Evening appointments added" not in text
    text = client.get(reverse("segments:activity_year_summary"), {"year": 2026}).content.decode()
    assert "Engagement from 1 April 2026 to 31 March 2027" in text
    assert "Evening appointments added at two hubs" in text and "Signage changed" not in text


def test_a_year_not_on_record_is_an_error_on_the_page_and_refused_for_files(staff_client, acts):
    client = staff_client("Engagement")
    response = client.get(reverse("segments:activity_year_summary"), {"year": "1999"})
    assert response.status_code == 200 and "Choose a financial year from the list" in response.content.decode()
    assert client.get(reverse("segments:activity_year_csv"), {"year": "nope"}).status_code == 400
    assert client.get(reverse("segments:activity_year_figures_csv"), {"year": "1999"}).status_code == 400


def test_year_csv_and_figures(staff_client, acts):
    client = staff_client("Engagement")
    rows = _csv(client.get(reverse("segments:activity_year_csv"), {"year": 2027}))
    assert len(rows) == 1 + 5
    big_chat = next(row for row in rows if row[0] == "Walk-in centre Big Chat")
    assert big_chat == ["Walk-in centre Big Chat", "Urgent care", "Big Chat", "Completed", "15 April 2027",
                        "20 May 2027", "1 April 2027", "2", "15", "", "1 June 2027", "40",
                        "Signage changed at the entrance"]
    figures = dict(_csv(client.get(reverse("segments:activity_year_figures_csv"), {"year": 2026}))[1:])
    assert figures["Activities that ran in the year"] == "4"
    assert figures["Completed in the year"] == "1"
    assert figures["Named people who took part (each once)"] == "3"
    assert figures["People counted anonymously (headcounts)"] == "42"


def test_the_pages_ask_the_same_number_of_queries_however_many_activities(staff_client, acts):
    """One grouped query per table: more activities (with localities, people and headcounts) add no queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = staff_client("Engagement")
    urls = [reverse("segments:activity_reports"), reverse("segments:activity_year_summary"),
            reverse("segments:activity_year_csv")]

    def counts():
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            found.append(len(queries))
        return found

    before = counts()
    for n in range(5):
        extra = Activity.objects.create(title=f"Extra {n}", programme=acts[2].programme, kind="survey",
                                        status=C, starts_on=date(2027, 4, 2), completed_on=date(2027, 4, 20),
                                        lead=acts[2].lead, created_by=acts[2].lead)
        extra.localities.set(Locality.objects.all())
        ActivityHeadcount.objects.create(activity=extra, label="Stall", count=3, added_by=acts[2].lead)
    assert counts() == before


def test_with_no_activities_the_pages_say_so(staff_client, frozen):
    client = staff_client("Engagement")
    text = client.get(reverse("segments:activity_reports")).content.decode()
    assert "No activities have been recorded yet." in text
    assert "Every completed activity has had its feedback given." in text
    text = client.get(reverse("segments:activity_year_summary")).content.decode()
    assert "Engagement from 1 April 2027 to 31 March 2028" in text and "No activities ran in this year." in text


def test_the_staff_menu_links_the_reports_for_the_roles_that_may_read_them(staff_client):
    link = f'href="{reverse("segments:activity_reports")}"'
    for role, shown in (("Engagement", True), ("Commissioner", True), ("Data protection", True),
                        ("Communications", False), ("Administrator", False)):
        page = staff_client(role).get(reverse("consent_staff:dashboard")).content.decode()
        assert (link in page) is shown, role
