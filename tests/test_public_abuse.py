"""Bad input and abuse on the public side (issue 7), tried from outside through HTTP.

- Free text that reaches an email (a name, a language) with CR, LF or another control character is
  refused with a clear field error, on the web forms and the API.
- Personal-link emails are capped per recipient address, whoever asks and from wherever: thirty
  requests from thirty client addresses send one person at most PERSONAL_LINK_EMAIL_RATE emails,
  and every client gets the same answer.
- One public rate-limit budget per client across the web sign-up, the API sign-up and the link
  requests; every 429 carries Retry-After.
- HEAD is answered wherever GET is, and changes nothing.
- No public page shows "(wording version 1)".
"""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from consent.models import ConsentEvent, ConsentState
from consent.tokens import DATA_ACCESS, personal_link_tokens
from crm.models import AuditEntry, Contact
from crm.validators import has_control_characters, reject_control_characters
from tests.public_support import open_data_session, sign_up_data, strip_csrf

pytestmark = pytest.mark.django_db

NAME_ERROR = "Name must not contain line breaks, tabs or other hidden characters"


# --- control characters -----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "refused"), [
    ("Ann Example", False),
    ("Zoë O'Brien-Łukasiewicz", False),
    ("José María", False),
    ("مهسا\u200cرضایی", False),  # zero-width non-joiner: ordinary Persian spelling
    ("👩\u200d⚕️ Ann", False),  # zero-width joiner inside an emoji
    ("Ann\r\nBcc: victim@example.org", True),
    ("Ann\nExample", True),
    ("Ann\rExample", True),
    ("Ann\tExample", True),
    ("Ann\x00", True),
    ("Ann\x1b[31m", True),  # escape
    ("Ann\x7f", True),  # delete
    ("Ann\x85Example", True),  # C1 next line
    ("Ann\u2028Example", True),  # Unicode line separator
    ("Ann\u2029Example", True),  # Unicode paragraph separator
    ("Ann \u202eelpmaxE", True),  # right-to-left override
    ("Ann \u2066x\u2069", True),  # bidi isolates
])
def test_control_character_validator(text, refused):
    assert has_control_characters(text) is refused
    if refused:
        with pytest.raises(Exception, match="line breaks") as caught:
            reject_control_characters(text)
        assert caught.value.code == "control_characters"
    else:
        reject_control_characters(text)


@pytest.mark.parametrize("name", ["Ann\r\nBcc: victim@example.org", "Ann\nExample", "Ann\u2028Example", "Ann\x00x"])
def test_sign_up_form_refuses_a_name_with_control_characters(client, name, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/sign-up/", sign_up_data(name=name))
    html = response.content.decode()
    assert response.status_code == 200
    if "\x00" in name:  # Django's own null-character check answers first
        assert "Null characters are not allowed" in html
    else:
        assert f'<a href="#id_name">{NAME_ERROR}</a>' in html
    assert not Contact.objects.exists() and not mail.outbox


def test_api_sign_up_refuses_a_name_with_control_characters_with_422(client):
    response = client.post("/api/v1/signup", {"email": "api@example.org", "name": "Api\r\nBcc: x@example.org",
                                              "purposes": ["bulletin"]}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"]["name"] == [NAME_ERROR]
    assert not Contact.objects.exists() and not mail.outbox


def test_preference_centre_and_details_refuse_control_characters(client, make_contact):
    person = make_contact(email="free.text@example.org", name="Free Text")
    path = f"/preferences/{personal_link_tokens.make_token(person, 'preferences')}/"
    form = client.get(path).context["form"]
    html = client.post(path, {"wording": form.wording_current, "purposes": ["bulletin"], "needs": ["other_language"],
                              "language_detail": "Polish\r\nX", "preferred_language": "Eng\nlish"}).content.decode()
    assert "Language must not contain line breaks, tabs or other hidden characters" in html
    assert "Preferred language must not contain line breaks, tabs or other hidden characters" in html
    open_data_session(client, person)
    html = client.post("/your-data/view/details/", {"name": "Free\r\nText", "postcode": ""}).content.decode()
    assert f'<a href="#id_name">{NAME_ERROR}</a>' in html
    person.refresh_from_db()
    assert (person.name, person.preferred_language) == ("Free Text", "English")
    assert not person.communication_needs.exists()


# --- personal-link emails capped per recipient ---------------------------------------------------------

def from_thirty_clients(post):
    """Call ``post(client, remote_addr)`` from thirty different client addresses; return the answers."""
    answers = []
    for n in range(30):
        response = post(Client(), f"203.0.113.{n + 1}")
        answers.append((response.status_code, response.get("Location"), strip_csrf(response.content.decode())))
    return answers


@pytest.mark.parametrize("kind", ["pending sign-up", "known address sign-up", "preferences link", "data link"])
def test_thirty_requests_from_thirty_clients_send_one_person_three_emails(
        kind, make_contact, django_capture_on_commit_callbacks):
    if kind == "pending sign-up":
        email = "target@example.org"  # the first sign-up creates it; the rest find it pending
    else:
        email = make_contact(email="target@example.org").email
    path, data = {
        "pending sign-up": ("/sign-up/", sign_up_data(email=email)),
        "known address sign-up": ("/sign-up/", sign_up_data(email=email)),
        "preferences link": ("/preferences/", {"email": email}),
        "data link": ("/your-data/", {"email": email}),
    }[kind]

    def post(client, remote_addr):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(path, data, REMOTE_ADDR=remote_addr)

    answers = from_thirty_clients(post)
    assert all(answer == answers[0] for answer in answers)  # every client is told the same
    assert answers[0][0] == 302
    assert [m.to for m in mail.outbox] == [["target@example.org"]] * 3

    # The cap is the address's alone: another person is still emailed ...
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/sign-up/", sign_up_data(email="someone.else@example.org"), REMOTE_ADDR="198.51.100.1")
    assert mail.outbox[-1].to == ["someone.else@example.org"]
    # ... and the target is emailed again once the hour has passed.
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)), \
            django_capture_on_commit_callbacks(execute=True):
        Client().post(path, data, REMOTE_ADDR="198.51.100.2")
    assert [m.to for m in mail.outbox].count(["target@example.org"]) == 4


def test_the_preference_centre_data_link_button_is_capped_too(make_contact, django_capture_on_commit_callbacks):
    person = make_contact(email="button@example.org")
    path = f"/preferences/{personal_link_tokens.make_token(person, 'preferences')}/data-link/"
    for n in range(10):
        with django_capture_on_commit_callbacks(execute=True):
            assert Client().post(path, REMOTE_ADDR=f"203.0.113.{n + 1}").status_code == 302
    assert len(mail.outbox) == 3


# --- one public budget per client, Retry-After on every 429 --------------------------------------------

def test_one_budget_per_client_across_web_api_and_link_requests(client, settings, make_contact):
    settings.PUBLIC_RATE_LIMIT = "4/m"
    person = make_contact(email="budget@example.org")
    me = {"REMOTE_ADDR": "198.51.100.50"}
    assert client.post("/sign-up/", sign_up_data(email="a@example.org"), **me).status_code == 302
    assert client.post("/api/v1/signup", {"email": "b@example.org", "name": "B", "purposes": ["bulletin"]},
                       content_type="application/json", **me).status_code == 202
    assert client.post("/preferences/", {"email": "c@example.org"}, **me).status_code == 302
    assert client.post("/your-data/", {"email": "d@example.org"}, **me).status_code == 302

    # The budget is spent, whichever door the client tries next.
    web = client.post("/sign-up/", sign_up_data(email="e@example.org"), **me)
    api = client.post("/api/v1/signup", {"email": "f@example.org", "name": "F", "purposes": ["bulletin"]},
                      content_type="application/json", **me)
    link = client.post("/preferences/", {"email": "g@example.org"}, **me)
    data = client.post("/your-data/", {"email": "h@example.org"}, **me)
    button = client.post(f"/preferences/{personal_link_tokens.make_token(person, 'preferences')}/data-link/", **me)
    for response in (web, api, link, data, button):
        assert response.status_code == 429
        assert 1 <= int(response["Retry-After"]) <= 60
    assert b"Too many requests" in web.content
    assert api.json() == {"detail": api.json()["detail"]} and api.json()["detail"]
    assert not Contact.objects.filter(email_normalised__in=["e@example.org", "f@example.org"]).exists()

    # Another client has its own budget; reading pages spends none.
    other = {"REMOTE_ADDR": "198.51.100.51"}
    assert client.post("/sign-up/", sign_up_data(email="i@example.org"), **other).status_code == 302
    assert client.get("/sign-up/", **me).status_code == 200


# --- HEAD ---------------------------------------------------------------------------------------------------

def state_of_everything():
    return (
        list(Contact.objects.order_by("pk").values_list("pk", "confirmed_at", "link_epoch", "data_link_counter")),
        list(ConsentState.objects.order_by("pk").values_list("pk", "status")),
        ConsentEvent.objects.count(), AuditEntry.objects.count(),
    )


def test_head_is_answered_like_get_on_every_personal_link_and_changes_nothing(client, make_contact, public_actor):
    from consent import services

    person = make_contact(email="head@example.org")
    pending = services.sign_up(email="pending.head@example.org", name="Pending", purposes=["bulletin"],
                               actor=public_actor).contact
    mail.outbox.clear()
    paths = [
        f"/confirm/{personal_link_tokens.make_token(pending, 'confirm')}/",
        f"/confirm/{personal_link_tokens.make_token(person, 'confirm')}/",  # already used
        f"/unsubscribe/{personal_link_tokens.make_token(person, 'unsubscribe')}",
        f"/unsubscribe/{personal_link_tokens.make_token(person, 'unsubscribe')}/",
        f"/preferences/{personal_link_tokens.make_token(person, 'preferences')}/",
        f"/preferences/{personal_link_tokens.make_token(person, 'preferences')}/withdraw/",
        f"/your-data/open/{personal_link_tokens.make_token(person, DATA_ACCESS)}/",
    ]
    before = state_of_everything()
    for path in paths:
        for _ in range(3):
            get = client.get(path)
            head = client.head(path)
            assert (head.status_code, head["Content-Type"]) == (get.status_code, get["Content-Type"]) == (
                200, "text/html; charset=utf-8"), path
            assert head.content == b"" and int(head["Content-Length"]) > 0
            assert "no-store" in head["Cache-Control"]
    assert state_of_everything() == before
    assert not mail.outbox


@pytest.mark.parametrize("path", ["/", "/sign-up/", "/preferences/", "/your-data/", "/privacy/",
                                  "/api/v1/topics", "/api/v1/purposes", "/preferences/not-a-token/"])
def test_head_is_answered_wherever_get_is(client, path):
    get, head = client.get(path), client.head(path)
    assert head.status_code == get.status_code != 405
    assert head.content == b""


def test_head_on_a_post_only_address_is_refused_like_get(client, make_contact):
    person = make_contact(email="post.only@example.org")
    path = f"/preferences/{personal_link_tokens.make_token(person, 'preferences')}/sign-out-everywhere/"
    assert client.head(path).status_code == client.get(path).status_code == 405
    person.refresh_from_db()
    assert person.link_epoch == 0


# --- what a new user noticed ---------------------------------------------------------------------------------

def test_no_public_page_shows_the_wording_version(client, make_contact, public_actor):
    from consent import services

    person = make_contact(email="wording@example.org")
    pending = services.sign_up(email="pending.wording@example.org", name="Pending", purposes=["bulletin", "events"],
                               actor=public_actor).contact
    prefs = personal_link_tokens.make_token(person, "preferences")
    pages = ["/sign-up/", f"/preferences/{prefs}/", f"/confirm/{personal_link_tokens.make_token(pending, 'confirm')}/"]
    for path in pages:
        html = client.get(path).content.decode().lower()
        assert "wording version" not in html, path
        assert "version 1" not in html, path
    open_data_session(client, person)
    assert "wording version" not in client.get("/your-data/view/about-you/").content.decode().lower()


def test_every_429_carries_retry_after_even_a_staff_lockout(staff_user, settings):
    from django.urls import reverse

    staff_user(username="locked.out")
    client = Client()
    for n in range(settings.AXES_FAILURE_LIMIT + 1):
        response = client.post(reverse("staff:login"), {"username": "locked.out", "password": f"wrong-{n}"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
