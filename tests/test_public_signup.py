"""Public sign-up, double opt-in, personal-link tokens and expiry of unconfirmed sign-ups (web)."""

import pytest
from django.core import mail
from django.utils import timezone

from consent import erasure, retention, services, tasks
from consent.models import ConsentEvent, ConsentState, Suppression
from consent.tokens import personal_link_tokens
from crm.audit import Actor
from crm.models import AuditEntry, Contact
from tests.public_support import last_link, links_in, old_token, sign_up_data, strip_csrf, tampered

pytestmark = pytest.mark.django_db


@pytest.fixture
def sign_up(client, django_capture_on_commit_callbacks):
    """POST the web sign-up form and run the on-commit email tasks, as a real request would."""

    def post(**overrides):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/sign-up/", sign_up_data(**overrides))

    return post


def state(contact, purpose="bulletin"):
    return ConsentState.objects.get(contact=contact, purpose__code=purpose).status


# --- the form ---------------------------------------------------------------------------------

def test_sign_up_page_offers_each_purpose_unticked_with_its_current_wording(client):
    html = client.get("/sign-up/").content.decode()
    for code in ("bulletin", "events", "involvement"):
        assert f'type="checkbox" value="{code}"' in html
        assert f'value="{code}" checked' not in html
    assert "Email me the My NHS e-bulletin about the topics I choose." in html
    # The person reads the wording; its version travels only in the hidden field.
    assert "wording version" not in html.lower()
    assert 'name="wording" value="bulletin:1 events:1 involvement:1"' in html
    # Equality purposes belong to the separate "about you" step.
    assert 'value="equality_monitoring"' not in html and 'value="equality_targeting"' not in html
    assert 'href="/privacy/"' in html
    assert 'value="cancer"' in html
    assert "Big Chat events" not in html  # events are a purpose (above), not also a topic


def test_empty_sign_up_shows_error_summary_linked_to_each_field(client):
    response = client.post("/sign-up/", {})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: " in html
    assert 'class="nhsuk-error-summary"' in html and "There is a problem" in html
    for anchor, message in [("id_name", "Enter your name"), ("id_email", "Enter your email address"),
                            ("id_purposes_0", "Choose at least one thing you would like to hear from us about")]:
        assert f'<a href="#{anchor}">{message}</a>' in html
        assert f'<span class="nhsuk-u-visually-hidden">Error: </span>{message}' in html
    assert 'aria-describedby="id_name-error"' in html and "nhsuk-input--error" in html
    assert not Contact.objects.exists()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("email", "not-an-address", "Enter an email address in the correct format, like name@example.com"),
    ("email", "ann@", "Enter an email address in the correct format, like name@example.com"),
    ("postcode", "XYZ", "Enter a real postcode, like L20 3NJ"),
])
def test_invalid_email_or_postcode_is_explained(client, field, value, message):
    html = client.post("/sign-up/", sign_up_data(**{field: value})).content.decode()
    assert f'<a href="#id_{field}">{message}</a>' in html
    assert not Contact.objects.exists()


def test_changed_wording_is_shown_again_before_consent_is_recorded(client):
    response = client.post("/sign-up/", sign_up_data(wording="bulletin:0 events:1 involvement:1"))
    assert response.status_code == 200
    assert "The wording of these choices has changed" in response.content.decode()
    assert not Contact.objects.exists()


# --- double opt-in ----------------------------------------------------------------------------

def test_sign_up_is_pending_and_sends_only_the_confirmation_email(sign_up):
    response = sign_up(email="New.Person@Example.org", purposes=["bulletin", "events"], topics=["cancer", "dementia"])
    assert response.status_code == 302 and response["Location"] == "/sign-up/check-your-email/"
    contact = Contact.objects.get()
    assert contact.email == "New.Person@Example.org" and contact.email_normalised == "new.person@example.org"
    assert contact.confirmed_at is None and contact.locality.name == "Bootle"
    assert sorted(contact.topics.values_list("slug", flat=True)) == ["cancer", "dementia"]
    assert state(contact, "bulletin") == "pending" and state(contact, "events") == "pending"
    assert not ConsentState.objects.filter(contact=contact, purpose__code="involvement").exists()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Confirm your My NHS sign-up"
    assert mail.outbox[0].to == ["New.Person@Example.org"]


def test_confirmation_email_link_confirms_on_post(client, sign_up):
    sign_up(purposes=["bulletin", "involvement"])
    message = mail.outbox[0]
    path = last_link("confirm")
    html_part = message.alternatives[0][0]
    assert path in html_part  # the HTML part carries the same working link

    page = client.get(path)
    assert page.status_code == 200
    assert "Confirm your sign-up" in page.content.decode() and ">\n        Confirm\n      </button>" in page.content.decode()
    contact = Contact.objects.get()
    assert state(contact) == "pending"

    done = client.post(path)
    assert done.status_code == 200
    assert "Sign-up confirmed" in done.content.decode()
    contact.refresh_from_db()
    assert contact.confirmed_at is not None
    assert state(contact, "bulletin") == "granted" and state(contact, "involvement") == "granted"
    confirmed = ConsentEvent.objects.filter(contact=contact, action="confirmed")
    assert {e.method for e in confirmed} == {"email_confirmation"}
    assert {e.recorded_by_label for e in confirmed} == {"the person"}
    # The success page leads to the optional "about you" step (this session only, see test_personal_links).
    assert 'href="/your-data/view/about-you/"' in done.content.decode()


def test_get_on_confirm_link_changes_nothing(client, sign_up):
    sign_up()
    path = last_link("confirm")
    contact = Contact.objects.get()
    before = (ConsentEvent.objects.count(), AuditEntry.objects.count(), list(ConsentState.objects.values()))
    for _ in range(3):  # a link scanner may fetch it several times
        assert client.get(path).status_code == 200
    contact.refresh_from_db()
    assert contact.confirmed_at is None
    assert (ConsentEvent.objects.count(), AuditEntry.objects.count(), list(ConsentState.objects.values())) == before


def bad_confirm_tokens(contact):
    return {
        "tampered": tampered(personal_link_tokens.make_token(contact, "confirm")),
        "expired": old_token(contact, "confirm", days=31),
        "wrong purpose": personal_link_tokens.make_token(contact, "preferences"),
        "garbage": "not-a-token",
        "unknown person": "0" * 32 + ":1xVS8S:" + "A" * 43,
    }


@pytest.mark.parametrize("kind", ["tampered", "expired", "wrong purpose", "garbage", "unknown person"])
def test_bad_confirm_tokens_are_refused_without_hints(client, sign_up, kind):
    sign_up(name="Quentin Blakeworth", email="quentin@example.org")
    contact = Contact.objects.get()
    token = bad_confirm_tokens(contact)[kind]
    for response in (client.get(f"/confirm/{token}/"), client.post(f"/confirm/{token}/")):
        html = response.content.decode()
        assert response.status_code == 404
        assert "This link is not valid" in html
        assert "Quentin" not in html and "quentin@" not in html
    contact.refresh_from_db()
    assert contact.confirmed_at is None and state(contact) == "pending"


def test_token_dies_when_the_address_changes(client, sign_up):
    sign_up()
    path = last_link("confirm")
    contact = Contact.objects.get()
    services.crm_services.change_contact_email(contact=contact, email="other@example.org", actor=Actor.system())
    assert client.get(path).status_code == 404


# --- no address enumeration, and no undoing a withdrawal ---------------------------------------

def test_sign_up_answers_identically_for_known_and_unknown_addresses(client, sign_up, make_contact):
    make_contact(email="known@example.org")
    sign_up(email="pending@example.org")  # known but never confirmed
    mail.outbox.clear()

    answers = []
    for email in ("unknown@example.org", "known@example.org", "KNOWN@Example.ORG", "pending@example.org"):
        response = sign_up(email=email)
        page = client.get(response["Location"])
        answers.append((response.status_code, response["Location"], response.content,
                        page.status_code, strip_csrf(page.content.decode())))
    assert all(answer == answers[0] for answer in answers)

    # Behind the identical answer: new and pending addresses get a confirmation link, a known
    # confirmed address gets a link to its preference centre, and nothing about it changes.
    kinds = [("confirm" if links_in(m, "confirm") else "preferences", m.to[0]) for m in mail.outbox]
    assert kinds == [("confirm", "unknown@example.org"), ("preferences", "known@example.org"),
                     ("preferences", "known@example.org"), ("confirm", "pending@example.org")]
    assert Contact.objects.filter(email_normalised="known@example.org").count() == 1


def test_re_sign_up_cannot_undo_a_withdrawal_until_the_person_acts_from_their_mailbox(client, sign_up, make_contact):
    contact = make_contact(email="changed.mind@example.org", purposes=("bulletin",))
    services.unsubscribe_one_click(contact=contact, actor=Actor.public("203.0.113.9"))
    assert state(contact) == "withdrawn"

    response = sign_up(email="changed.mind@example.org", purposes=["bulletin"])
    assert response.status_code == 302
    assert state(contact) == "withdrawn"
    assert Suppression.objects.filter(address_hash=contact.email_hash, lifted_at__isnull=True).exists()
    assert links_in(mail.outbox[-1], "preferences") and not links_in(mail.outbox[-1], "confirm")

    # Only the person's own action, from the link sent to their address, restores it.
    path = last_link("preferences")
    form = client.get(path).context["form"]
    client.post(path, {"wording": form.wording_current, "name": contact.name, "purposes": ["bulletin"]})
    assert state(contact) == "granted"
    assert not Suppression.objects.filter(address_hash=contact.email_hash, lifted_at__isnull=True).exists()


def test_erased_person_who_signs_up_again_stays_suppressed_until_confirming(client, sign_up, make_contact):
    contact = make_contact(email="back.again@example.org")
    address_hash = contact.email_hash
    erasure.erase_contact(contact=contact, actor=Actor.system())

    sign_up(email="back.again@example.org")
    assert Suppression.objects.filter(address_hash=address_hash, purpose__code="bulletin",
                                      lifted_at__isnull=True).exists()
    client.post(last_link("confirm"))
    contact = Contact.objects.get()
    assert state(contact) == "granted"
    assert not Suppression.objects.filter(address_hash=address_hash, purpose__code="bulletin",
                                          lifted_at__isnull=True).exists()


# --- asking for a preferences link -------------------------------------------------------------

def test_preferences_link_request_answers_identically_and_mails_only_confirmed_contacts(
        client, sign_up, make_contact, django_capture_on_commit_callbacks):
    make_contact(email="confirmed@example.org")
    sign_up(email="unconfirmed@example.org")
    mail.outbox.clear()
    answers = []
    for email in ("confirmed@example.org", "nobody@example.org", "unconfirmed@example.org"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/preferences/", {"email": email})
        page = client.get(response["Location"])
        answers.append((response.status_code, response["Location"], page.status_code, page.content))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][1] == "/preferences/check-your-email/"
    assert [m.to for m in mail.outbox] == [["confirmed@example.org"]]
    assert client.get(last_link("preferences")).status_code == 200


def test_preferences_link_request_explains_a_malformed_address(client):
    html = client.post("/preferences/", {"email": "nope"}).content.decode()
    assert '<a href="#id_email">Enter an email address in the correct format, like name@example.com</a>' in html


# --- rate limits --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/sign-up/", "/preferences/"])
def test_public_forms_are_rate_limited_per_client_address(client, settings, path):
    settings.PUBLIC_RATE_LIMIT = "3/m"
    for _ in range(3):
        assert client.post(path, {}, REMOTE_ADDR="198.51.100.7").status_code == 200
    limited = client.post(path, {}, REMOTE_ADDR="198.51.100.7")
    assert limited.status_code == 429 and "Too many requests" in limited.content.decode()
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert client.post(path, {}, REMOTE_ADDR="198.51.100.8").status_code == 200
    assert client.get(path, REMOTE_ADDR="198.51.100.7").status_code == 200  # reading the form is not limited


# --- expiry of unconfirmed sign-ups ------------------------------------------------------------

def test_expired_unconfirmed_sign_ups_are_deleted_by_service_and_periodic_task(sign_up, make_contact):
    sign_up(email="stale1@example.org")
    sign_up(email="stale2@example.org")
    sign_up(email="fresh@example.org")
    old_confirmed = make_contact(email="confirmed@example.org")
    long_ago = timezone.now() - timezone.timedelta(days=31)
    Contact.objects.filter(email_normalised__startswith="stale").update(created_at=long_ago)
    Contact.objects.filter(pk=old_confirmed.pk).update(created_at=long_ago)
    Contact.objects.filter(email_normalised="stale2@example.org").update(
        created_at=timezone.now() - timezone.timedelta(days=29))

    assert retention.delete_expired_sign_ups(actor=Actor.system()) == 1
    remaining = set(Contact.objects.values_list("email_normalised", flat=True))
    assert remaining == {"stale2@example.org", "fresh@example.org", "confirmed@example.org"}

    Contact.objects.filter(email_normalised="stale2@example.org").update(created_at=long_ago)
    tasks.delete_expired_sign_ups()  # the Huey periodic task, run through Huey (immediate mode in tests)
    assert set(Contact.objects.values_list("email_normalised", flat=True)) == {"fresh@example.org",
                                                                              "confirmed@example.org"}
    # Their pending consent events went with them; no suppression was created (they never consented).
    assert not ConsentEvent.objects.filter(contact__email_normalised__startswith="stale").exists()
    assert not Suppression.objects.exists()
    assert AuditEntry.objects.filter(action="contact.unconfirmed_expired").count() == 2


def test_a_simultaneous_duplicate_sign_up_gets_the_same_answer(client, monkeypatch):
    def raced(**kwargs):
        raise services.crm_services.DuplicateContact({"email": "A contact with this email address already exists"})

    monkeypatch.setattr(services.crm_services, "create_contact", raced)
    response = client.post("/sign-up/", sign_up_data())
    assert response.status_code == 302 and response["Location"] == "/sign-up/check-your-email/"
    api = client.post("/api/v1/signup", {"email": "a@example.org", "name": "A", "purposes": ["bulletin"]},
                      content_type="application/json")
    assert api.status_code == 202
