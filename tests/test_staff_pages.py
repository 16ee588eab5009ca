"""Every consent_staff page, for a role that may see it, is well-formed NHS.UK markup: one h1,
landmarks, unique ids, a label for every input, no inline style or script (CSP) - both empty and
showing form errors."""

from collections import Counter
from datetime import date, timedelta

import pytest
from django.urls import URLResolver, get_resolver

from consent import cases, statements
from consent.models import Purpose
from crm.audit import Actor
from crm.models import EqualityProfile
from crm.roles import DATA_PROTECTION, ENGAGEMENT
from tests.public_support import audit_page

pytestmark = pytest.mark.django_db


def consent_staff_routes():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif getattr(pattern.callback, "__module__", "").startswith("consent.staff."):
                yield prefix + str(pattern.pattern), pattern.name
    return list(walk(get_resolver().url_patterns))


@pytest.fixture
def world(make_contact):
    actor = Actor.system()
    contact = make_contact(email="page@example.org", name="Page Person", purposes=("bulletin", "events"))
    other = make_contact(email="other@example.org", name="Other Person")
    EqualityProfile.objects.create(contact=contact, age_band="30-39")
    draft = statements.draft_statement(purpose=Purpose.objects.get(code="events"), text="Draft", actor=actor)
    # Three weeks ago, whatever today is (a fixed date fails when the suite runs before it).
    received = date.today() - timedelta(days=22)
    sar = cases.open_subject_access(received_on=received, contact=contact, actor=actor)
    erasure = cases.open_erasure(received_on=received, contact=other, actor=actor)
    return {"contact": contact, "other": other, "statement": draft, "sar": sar, "erasure": erasure}


def url_for(route: str, name: str, world) -> str:
    pk = world["sar"].pk if name.startswith("sar") else world["erasure"].pk if name.startswith("erasure") \
        else world["statement"].pk
    url = "/" + route.replace("<uuid:public_id>", str(world["contact"].public_id)).replace(
        "<int:pk>", str(pk)).replace("<slug:purpose>", "involvement")
    if name == "contact_merge_preview":
        url += f"?duplicate={world['other'].public_id}"
    return url


def check(html: str, url: str) -> None:
    page = audit_page(html)
    assert page.h1_count == 1, url
    assert {"main", "header", "footer"} <= page.landmarks, url
    duplicated = [i for i, n in Counter(page.ids).items() if n > 1]
    assert not duplicated, (url, duplicated)
    unlabelled = [i.get("id") or i.get("name") for i in page.inputs if i.get("id") not in page.label_for]
    assert not unlabelled, (url, unlabelled)
    assert page.inline_styles == 0 and page.inline_scripts == 0, url


@pytest.mark.parametrize("role", [DATA_PROTECTION, ENGAGEMENT])
def test_every_page_is_well_formed(role, staff_client, world):
    client = staff_client(role)
    checked = 0
    for route, name in consent_staff_routes():
        url = url_for(route, name, world)
        response = client.get(url)
        assert response.status_code in (200, 302, 403), url
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            check(response.content.decode(), url)
            checked += 1
            if b'method="post"' in response.content and b"csrfmiddlewaretoken" in response.content:
                errors = client.post(url, {})
                if errors.status_code == 200:
                    check(errors.content.decode(), f"{url} (POST)")
    assert checked >= 10


# --- Contact search names topics and localities by slug in the URL --------------------------------

@pytest.fixture
def dementia_world(make_contact):
    from crm.models import Topic

    dementia, cancer = Topic.objects.get(slug="dementia"), Topic.objects.get(slug="cancer")
    carer = make_contact(email="carer@example.org", name="Dementia Carer", postcode="L20 3NJ")
    carer.topics.set([dementia])
    reader = make_contact(email="reader@example.org", name="Cancer Reader", postcode="L23 5SA")
    reader.topics.set([cancer])
    return dementia


@pytest.mark.parametrize("query", ["topic=dementia", "topic={pk}"])
def test_contact_search_filters_by_topic_slug_or_id(staff_client, dementia_world, query):
    html = staff_client(ENGAGEMENT).get("/staff/contacts/?" + query.format(pk=dementia_world.pk)).content.decode()
    assert "Dementia Carer" in html
    assert "Cancer Reader" not in html


def test_the_topic_choices_carry_slugs_so_the_url_reads_as_words(staff_client, dementia_world):
    html = staff_client(ENGAGEMENT).get("/staff/contacts/?topic=dementia").content.decode()
    assert '<option value="dementia" selected>Dementia</option>' in html


def test_contact_search_filters_by_locality_slug(staff_client, dementia_world):
    html = staff_client(ENGAGEMENT).get("/staff/contacts/?locality=crosby").content.decode()
    assert "Cancer Reader" in html  # L23 is in Crosby
    assert "Dementia Carer" not in html


def test_an_unknown_topic_slug_is_a_form_error_not_a_crash(staff_client, dementia_world):
    response = staff_client(ENGAGEMENT).get("/staff/contacts/?topic=no-such-topic")
    assert response.status_code == 200
    html = response.content.decode()
    assert "nhsuk-error-summary" in html
    assert "Dementia Carer" not in html and "Cancer Reader" not in html


# --- Error pages in the NHS.UK look -----------------------------------------------------------------

def _looks_like_the_service(html: str) -> None:
    check(html, "error page")
    assert 'class="nhsuk-header' in html and 'class="nhsuk-footer' in html
    assert "nhsuk-frontend.min.css" in html


def test_page_not_found_is_styled(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    _looks_like_the_service(html)
    assert "<h1>Page not found</h1>" in html


def test_a_refused_staff_page_is_styled_and_keeps_the_staff_menu(staff_client, world):
    from crm.roles import COMMUNICATIONS

    response = staff_client(COMMUNICATIONS).get(f"/staff/subject-access/{world['sar'].pk}/")
    assert response.status_code == 403
    html = response.content.decode()
    _looks_like_the_service(html)
    assert "<h1>You cannot open this page</h1>" in html
    assert 'aria-label="Staff menu"' in html


def test_a_form_posted_without_its_csrf_token_gets_the_styled_403():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/sign-up/", {"name": "A"})
    assert response.status_code == 403
    html = response.content.decode()
    _looks_like_the_service(html)
    assert "<h1>You cannot open this page</h1>" in html


def test_server_error_is_styled(rf):
    from crm.views import server_error

    request = rf.get("/anything/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    response = server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    _looks_like_the_service(html)
    assert "<h1>Sorry, there is a problem with the service</h1>" in html


def test_the_server_error_handler_is_ours():
    from django.urls import get_resolver

    assert get_resolver().urlconf_module.handler500 == "crm.views.server_error"


# --- The readable subject access export ---------------------------------------------------------------

def test_the_readable_export_prints_dates_as_people_write_them_and_labels_not_codes(staff_client, make_contact):
    import re
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    from consent import services

    london = ZoneInfo("Europe/London")
    with time_machine.travel(datetime(2026, 7, 14, 9, 30, tzinfo=london), tick=False):  # summer time
        person = make_contact(email="sar-person@example.org", name="Sar Person")
    with time_machine.travel(datetime(2026, 11, 2, 16, 5, tzinfo=london), tick=False):
        services.withdraw(contact=person, purpose="bulletin", method="phone", actor=Actor.system())
        case = cases.open_subject_access(received_on=date(2026, 11, 2), identity_checked_on=date(2026, 11, 2),
                                         contact=person, actor=Actor.system())
    with time_machine.travel(datetime(2026, 12, 2, 12, 0, tzinfo=london), tick=False):
        html = staff_client(DATA_PROTECTION).get(f"/staff/subject-access/{case.pk}/export/").content.decode()
    assert "produced on 2 December 2026, midday." in html
    assert "14 July 2026, 9:30am" in html  # consent given (and the contact created) in British Summer Time
    assert "2 November 2026, 4:05pm" in html  # the withdrawal
    assert "E-bulletin: Consent withdrawn since 2 November 2026" in html
    assert "received 2 November 2026" in html
    assert not re.search(r"\d{4}-\d\d-\d\d", html), "an ISO date or timestamp is shown"
    assert "contact.created" not in html and "Contact created" in html
    assert "sar.exported" not in html


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-12-02T09:30:00+00:00", "2 December 2026, 9:30am"),
    ("2026-07-01T08:00:00+00:00", "1 July 2026, 9am"),  # 08:00 UTC is 9am in British Summer Time
    ("2026-03-29T00:30:00+00:00", "29 March 2026, 12:30am"),  # the night the clocks go forward
    ("2026-12-02T12:00:00+00:00", "2 December 2026, midday"),
    ("2026-12-02T00:00:00+00:00", "2 December 2026, midnight"),
    ("2026-12-02T23:59:00+00:00", "2 December 2026, 11:59pm"),
    ("2026-12-02", "2 December 2026"),
    ("", ""),
    (None, None),
    ("not a date", "not a date"),
])
def test_when_writes_dates_and_times_in_the_nhs_style(value, expected):
    from crm.templatetags.nhs_dates import when

    assert when(value) == expected


def test_day_drops_the_time_and_keeps_the_london_date():
    from crm.templatetags.nhs_dates import day

    assert day("2026-06-30T23:30:00+00:00") == "1 July 2026"  # already 1 July in London
    assert day(date(2026, 1, 5)) == "5 January 2026"


def test_extra_sections_read_as_lists_not_json():
    from consent.templatetags.sar_export import records

    assert records([]) == []
    assert records([{"event": "Big Chat", "invited_at": "2026-11-02T10:00:00+00:00", "topics": ["a", "b"]}]) == [
        [("event", "Big Chat"), ("invited_at", "2026-11-02T10:00:00+00:00"), ("topics", "a, b")]]
