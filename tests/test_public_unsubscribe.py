"""One-click unsubscribe exactly as RFC 8058: no CSRF token, no cookie, no redirect; GET changes nothing."""

import pytest
from django.test import Client

from consent.models import ConsentEvent, ConsentState, Suppression
from consent.tokens import personal_link_tokens
from crm.models import AuditEntry
from tests.public_support import old_token, tampered

pytestmark = pytest.mark.django_db

ONE_CLICK_BODY = "List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def person(make_contact):
    return make_contact(email="reader@example.org", purposes=("bulletin", "events"))


@pytest.fixture
def mail_client():
    """A mail provider's POST: CSRF checks on, and no cookie or session of any kind."""
    return Client(enforce_csrf_checks=True)


def bulletin_status(contact):
    return ConsentState.objects.get(contact=contact, purpose__code="bulletin").status


@pytest.mark.parametrize("slash", ["", "/"])
def test_get_shows_a_button_and_changes_nothing(mail_client, person, slash):
    token = personal_link_tokens.make_token(person, "unsubscribe")
    before = (ConsentEvent.objects.count(), AuditEntry.objects.count())
    for _ in range(3):  # link scanners and previews fetch links, sometimes repeatedly
        response = mail_client.get(f"/unsubscribe/{token}{slash}")
        assert response.status_code == 200
        html = response.content.decode()
        assert '<form method="post"' in html and "Unsubscribe" in html
        assert 'name="List-Unsubscribe" value="One-Click"' in html
        assert "csrfmiddlewaretoken" not in html
        assert not response.cookies
    assert bulletin_status(person) == "granted"
    assert (ConsentEvent.objects.count(), AuditEntry.objects.count()) == before


@pytest.mark.parametrize("slash", ["", "/"])
def test_one_click_post_with_no_cookie_unsubscribes_with_200_and_no_redirect(mail_client, person, slash):
    token = personal_link_tokens.make_token(person, "unsubscribe")
    response = mail_client.post(f"/unsubscribe/{token}{slash}", ONE_CLICK_BODY, content_type=FORM)
    assert response.status_code == 200  # not 301/302 (APPEND_SLASH) and not 403 (CSRF)
    assert "Location" not in response
    assert b"You have unsubscribed" in response.content
    assert not response.cookies
    assert bulletin_status(person) == "withdrawn"
    event = ConsentEvent.objects.get(contact=person, action="withdrawn")
    assert (event.purpose.code, event.method, event.recorded_by_label) == (
        "bulletin", "one_click_unsubscribe", "the person")
    assert Suppression.objects.filter(address_hash=person.email_hash, purpose__code="bulletin",
                                      lifted_at__isnull=True).exists()
    # Only the e-bulletin: other purposes are the person's to change in the preference centre.
    assert ConsentState.objects.get(contact=person, purpose__code="events").status == "granted"


def test_one_click_is_idempotent(mail_client, person):
    path = f"/unsubscribe/{personal_link_tokens.make_token(person, 'unsubscribe')}"
    for _ in range(3):
        assert mail_client.post(path, ONE_CLICK_BODY, content_type=FORM).status_code == 200
    assert ConsentEvent.objects.filter(contact=person, action="withdrawn").count() == 1
    assert Suppression.objects.filter(address_hash=person.email_hash, lifted_at__isnull=True).count() == 1


def test_the_pages_own_button_unsubscribes(mail_client, person):
    path = f"/unsubscribe/{personal_link_tokens.make_token(person, 'unsubscribe')}/"
    mail_client.get(path)
    response = mail_client.post(path, {"List-Unsubscribe": "One-Click"})  # what the button's form sends
    assert response.status_code == 200
    assert bulletin_status(person) == "withdrawn"


def test_old_bulletins_still_unsubscribe_but_not_forever(mail_client, person):
    year_old = old_token(person, "unsubscribe", days=365)
    assert mail_client.post(f"/unsubscribe/{year_old}", ONE_CLICK_BODY, content_type=FORM).status_code == 200
    assert bulletin_status(person) == "withdrawn"
    too_old = old_token(person, "unsubscribe", days=401)
    assert mail_client.post(f"/unsubscribe/{too_old}", ONE_CLICK_BODY, content_type=FORM).status_code == 404


@pytest.mark.parametrize("kind", ["tampered", "wrong purpose", "garbage"])
def test_bad_tokens_are_refused_and_change_nothing(mail_client, person, kind):
    token = {
        "tampered": tampered(personal_link_tokens.make_token(person, "unsubscribe")),
        "wrong purpose": personal_link_tokens.make_token(person, "preferences"),
        "garbage": "abc",
    }[kind]
    for response in (mail_client.get(f"/unsubscribe/{token}"),
                     mail_client.post(f"/unsubscribe/{token}", ONE_CLICK_BODY, content_type=FORM)):
        assert response.status_code == 404
        assert b"This link is not valid" in response.content and b"reader@" not in response.content
    assert bulletin_status(person) == "granted"


def test_unsubscribe_refuses_other_methods(mail_client, person):
    token = personal_link_tokens.make_token(person, "unsubscribe")
    assert mail_client.put(f"/unsubscribe/{token}").status_code == 405
    assert bulletin_status(person) == "granted"
