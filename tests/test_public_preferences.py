"""The preference centre (topics, purposes, needs, withdraw) and, behind a fresh data-access session,
details, about you, download and erase. The rules for the links themselves: tests/test_personal_links.py."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from consent import services
from consent.models import ConsentEvent, ConsentState, Suppression
from consent.tokens import personal_link_tokens
from crm.audit import Actor
from crm.models import CommunicationNeed, Contact, EqualityProfile
from tests.public_support import (
    database_dump,
    last_link,
    old_token,
    open_data_session,
    sign_up_data,
    tampered,
)

pytestmark = pytest.mark.django_db


def prefs_path(contact, suffix=""):
    return f"/preferences/{personal_link_tokens.make_token(contact, 'preferences')}/{suffix}"


ABOUT_YOU = "/your-data/view/about-you/"


def statuses(contact):
    return dict(ConsentState.objects.filter(contact=contact).values_list("purpose__code", "status"))


def centre_post_data(client, path, **changes):
    """What the preference centre form submits if the person changes only ``changes``."""
    form = client.get(path).context["form"]
    data = {"wording": form.wording_current}
    for name in ("preferred_language", "language_detail"):
        data[name] = form[name].value() or ""
    for name in ("topics", "purposes", "needs"):
        data[name] = [str(v) for v in form[name].value() or []]
    data.update(changes)
    return data


@pytest.fixture
def person(make_contact):
    return make_contact(email="pat@example.org", name="Pat Example", purposes=("bulletin", "events"))


@pytest.fixture
def data_client(client, person):
    """The person's own browser, after following a fresh data-access link."""
    open_data_session(client, person)
    return client


# --- the preference centre --------------------------------------------------------------------

def test_preference_centre_shows_current_choices(client, person):
    token = personal_link_tokens.make_token(person, "preferences")
    html = client.get(f"/preferences/{token}/").content.decode()
    assert 'value="bulletin" checked' in html and 'value="events" checked' in html
    assert 'value="involvement" checked' not in html and 'value="involvement"' in html
    assert "Email me the My NHS e-bulletin about the topics I choose." in html and "wording version" not in html
    # A forwarded link shows whose choices these are only as far as the owner needs to recognise them.
    assert "p•••@example.org" in html
    assert "pat@example.org" not in html and "Pat" not in html
    assert f'href="/preferences/{token}/withdraw/"' in html
    assert f'action="/preferences/{token}/data-link/"' in html and "Email me a link to see or delete my data" in html
    assert f'action="/preferences/{token}/sign-out-everywhere/"' in html


def test_preference_centre_saves_language_topics_purposes_and_needs(client, person):
    path = prefs_path(person)
    data = centre_post_data(client, path, preferred_language="Polish",
                            topics=["dementia", "mental-health"], purposes=["bulletin", "involvement"],
                            needs=["large_print", "other_language"], language_detail="Polish")
    response = client.post(path, data)
    assert response.status_code == 302 and response["Location"] == path
    assert "Your preferences have been saved." in client.get(path).content.decode()

    person.refresh_from_db()
    assert (person.name, person.preferred_language) == ("Pat Example", "Polish")
    assert sorted(person.topics.values_list("slug", flat=True)) == ["dementia", "mental-health"]
    assert statuses(person) == {"bulletin": "granted", "events": "withdrawn", "involvement": "granted"}
    changed = ConsentEvent.objects.filter(contact=person, method="preference_centre")
    assert {(e.purpose.code, e.action) for e in changed} == {("events", "withdrawn"), ("involvement", "confirmed")}
    assert Suppression.objects.filter(address_hash=person.email_hash, purpose__code="events",
                                      lifted_at__isnull=True).exists()
    needs = dict(CommunicationNeed.objects.filter(contact=person).values_list("need", "detail"))
    assert needs == {"large_print": "", "other_language": "Polish"}


def test_saving_unchanged_preferences_records_no_consent_events(client, person):
    path = prefs_path(person)
    before = ConsentEvent.objects.count()
    assert client.post(path, centre_post_data(client, path)).status_code == 302
    assert ConsentEvent.objects.count() == before


def test_another_language_needs_the_language(client, person):
    path = prefs_path(person)
    html = client.post(path, centre_post_data(client, path, needs=["other_language"])).content.decode()
    assert '<a href="#id_language_detail">Enter the language you need information in</a>' in html
    assert not CommunicationNeed.objects.filter(contact=person).exists()


def test_staff_recorded_need_details_survive_a_save(client, person):
    services.crm_services.set_communication_needs(contact=person, needs={"via_carer": "Daughter reads for me"},
                                                  actor=Actor.system())
    path = prefs_path(person)
    client.post(path, centre_post_data(client, path, needs=["via_carer", "easy_read"]))
    needs = dict(CommunicationNeed.objects.filter(contact=person).values_list("need", "detail"))
    assert needs == {"via_carer": "Daughter reads for me", "easy_read": ""}


def test_preference_links_refused_when_bad_expired_or_unconfirmed(client, person, django_capture_on_commit_callbacks):
    good = personal_link_tokens.make_token(person, "preferences")
    assert client.get(f"/preferences/{good}/").status_code == 200
    for token in (tampered(good), old_token(person, "preferences", days=91),
                  personal_link_tokens.make_token(person, "unsubscribe")):
        for suffix in ("", "withdraw/"):
            response = client.get(f"/preferences/{token}/{suffix}")
            assert response.status_code == 404 and b"This link is not valid" in response.content
            assert b"Pat" not in response.content
    # A preferences link for someone who never confirmed could grant consent: refused too.
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sign-up/", sign_up_data(email="unconfirmed@example.org"))
    unconfirmed = Contact.objects.get(email_normalised="unconfirmed@example.org")
    assert client.get(prefs_path(unconfirmed)).status_code == 404


def test_personal_pages_are_not_cached(client, person):
    assert "no-store" in client.get(prefs_path(person))["Cache-Control"]


# --- about you ----------------------------------------------------------------------------------

def test_about_you_page_has_every_question_with_prefer_not_to_say_and_explicit_consents(data_client):
    html = data_client.get(ABOUT_YOU).content.decode()
    for field in EqualityProfile.ANSWER_FIELDS:
        assert f'name="{field}" type="radio" value="prefer_not_to_say"' in html
    assert "What is your ethnic group?" in html and "White: Roma" in html
    assert 'value="equality_monitoring"' in html and 'value="equality_targeting"' in html
    assert 'value="equality_monitoring" checked' not in html
    assert "Use my answers about me, without my name" in html and "wording version" not in html


def about_you_data(client, **data):
    form = client.get(ABOUT_YOU).context["form"]
    return {"wording": form.wording_current, **data}


def test_about_you_saves_answers_with_explicit_consent(data_client, person):
    client, path = data_client, ABOUT_YOU
    response = client.post(path, about_you_data(client, age_band="40-49", ethnic_group="white_irish",
                                                carer="prefer_not_to_say", purposes=["equality_monitoring"]))
    assert response.status_code == 302 and response["Location"] == "/your-data/view/"
    profile = EqualityProfile.objects.get(contact=person)
    assert (profile.age_band, profile.ethnic_group, profile.carer, profile.sex) == (
        "40-49", "white_irish", "prefer_not_to_say", "")
    assert statuses(person)["equality_monitoring"] == "granted"
    assert "equality_targeting" not in statuses(person)
    # The page shows the saved answers back, ticked.
    html = client.get(path).content.decode()
    assert 'value="40-49" checked' in html and 'value="equality_monitoring" checked' in html


def test_about_you_refuses_to_keep_answers_without_consent(data_client, person):
    html = data_client.post(ABOUT_YOU, about_you_data(data_client, religion="buddhist")).content.decode()
    assert "To keep your answers, tick at least one box" in html
    assert '<a href="#id_purposes_0">' in html
    assert not EqualityProfile.objects.filter(contact=person).exists()


def test_prefer_not_to_say_needs_no_consent(data_client, person):
    response = data_client.post(ABOUT_YOU, about_you_data(data_client, sex="prefer_not_to_say"))
    assert response.status_code == 302
    assert EqualityProfile.objects.get(contact=person).sex == "prefer_not_to_say"


def test_about_you_rejects_values_outside_the_census_categories(data_client, person):
    html = data_client.post(ABOUT_YOU, about_you_data(
        data_client, ethnic_group="martian", purposes=["equality_monitoring"])).content.decode()
    assert '<a href="#id_ethnic_group_0">Select one of the options</a>' in html
    assert not EqualityProfile.objects.filter(contact=person).exists()


def test_delete_my_answers_blanks_them_and_withdraws_their_use(data_client, person):
    client, path = data_client, ABOUT_YOU
    client.post(path, about_you_data(client, age_band="20-29",
                                     purposes=["equality_monitoring", "equality_targeting"]))
    response = client.post(path, about_you_data(client, age_band="20-29", delete_answers="1",
                                                purposes=["equality_monitoring", "equality_targeting"]))
    assert response.status_code == 302
    profile = EqualityProfile.objects.get(contact=person)
    assert all(getattr(profile, f) == "" for f in EqualityProfile.ANSWER_FIELDS)
    assert statuses(person)["equality_monitoring"] == "withdrawn"
    assert statuses(person)["equality_targeting"] == "withdrawn"


# --- withdraw everything ------------------------------------------------------------------------

def test_withdraw_get_asks_and_post_withdraws_everything(data_client, person):
    client = data_client
    client.post(ABOUT_YOU, about_you_data(client, age_band="30-39", purposes=["equality_monitoring"]))
    path = prefs_path(person, "withdraw/")
    before = ConsentEvent.objects.count()
    page = client.get(path)
    assert page.status_code == 200 and b"Stop all contact" in page.content
    assert ConsentEvent.objects.count() == before

    done = client.post(path)
    assert done.status_code == 200 and b"We will not contact you again" in done.content
    assert set(statuses(person).values()) == {"withdrawn"}
    withdrawn = ConsentEvent.objects.filter(contact=person, action="withdrawn")
    assert {e.method for e in withdrawn} == {"preference_centre"}
    assert {e.purpose.code for e in withdrawn} == {"bulletin", "events", "equality_monitoring"}
    assert Suppression.objects.filter(address_hash=person.email_hash, lifted_at__isnull=True).count() == 3
    assert EqualityProfile.objects.get(contact=person).age_band == ""


# --- download my data ---------------------------------------------------------------------------

def test_download_is_a_json_attachment_of_everything_held(data_client, person):
    client = data_client
    staff = get_user_model().objects.create_user("dp.officer", password="x" * 16)
    services.withdraw(contact=person, purpose="events", method="phone", actor=Actor.staff(staff))
    services.crm_services.set_communication_needs(contact=person, needs={"braille": ""}, actor=Actor.system())
    client.post(ABOUT_YOU, about_you_data(client, disability="no", purposes=["equality_targeting"]))

    response = client.get("/your-data/view/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="my-nhs-data.json"'
    data = json.loads(response.content)
    assert data["contact"]["email"] == "pat@example.org" and data["contact"]["name"] == "Pat Example"
    assert data["communication_needs"] == [{"need": "braille", "label": "Braille", "detail": ""}]
    assert data["equality_answers"]["answers"]["disability"]["answer"] == "no"
    history = data["consent_history"]
    assert [(h["purpose"], h["action"], h["method"]) for h in history] == [
        ("bulletin", "confirmed", "paper_form"), ("events", "confirmed", "paper_form"),
        ("events", "withdrawn", "phone"), ("equality_targeting", "confirmed", "preference_centre"),
    ]
    assert history[0]["statement_version"] == 1
    assert history[0]["statement_text"].startswith("Email me the My NHS e-bulletin")
    assert history[0]["evidence_reference"] == "test form"
    assert history[2]["recorded_by"] == "a member of staff"
    assert "dp.officer" not in response.content.decode()  # staff usernames are not the person's data
    assert {(s["purpose"], s["status"]) for s in data["consent_states"]} == {
        ("bulletin", "granted"), ("events", "withdrawn"), ("equality_targeting", "granted")}
    assert [(s["purpose"], s["reason"]) for s in data["suppressions"]] == [("events", "withdrawal")]


# --- erase me -----------------------------------------------------------------------------------

def test_erase_asks_first_then_leaves_no_trace_but_the_suppression(client, django_capture_on_commit_callbacks):
    name, email = "Zebedee Quuxworthy", "Zeb.Q-Unique@Example.ORG"
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sign-up/", sign_up_data(name=name, email=email, postcode="L31 2PQ",
                                              purposes=["bulletin", "events"]))
    client.post(last_link("confirm"))
    contact = Contact.objects.get()
    address_hash = contact.email_hash
    centre = prefs_path(contact)
    client.post(centre, centre_post_data(client, centre, needs=["other_language"], language_detail="Welsh"))
    open_data_session(client, contact)
    client.post(ABOUT_YOU, about_you_data(client, sex="male", purposes=["equality_monitoring"]))
    erase_path = "/your-data/view/delete/"

    page = client.get(erase_path)
    assert page.status_code == 200 and b"This cannot be undone" in page.content
    assert Contact.objects.filter(pk=contact.pk).exists()

    done = client.post(erase_path)
    assert done.status_code == 200 and b"Your details have been deleted" in done.content
    assert not Contact.objects.exists() and not ConsentEvent.objects.exists()
    assert client.get(centre).status_code == 404  # every personal link died with the record
    assert client.get("/your-data/view/").status_code == 403  # and the data session with it

    dump = database_dump().lower()
    for needle in ("zeb.q-unique", "example.org", "zebedee", "quuxworthy", "l31 2pq", "welsh"):
        assert needle not in dump, needle
    assert Suppression.objects.filter(address_hash=address_hash, reason="erasure", lifted_at__isnull=True).count() >= 2
    assert address_hash in dump
    assert len(mail.outbox) == 1  # the confirmation; erasure itself sends nothing to the erased address
