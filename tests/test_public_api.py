"""Public JSON API: sign-up (202 either way, 422 per field, throttled), topics, purposes, docs."""

import pytest
from django.core import mail

from consent.models import ConsentEvent, ConsentState
from crm.models import Contact
from tests.public_support import links_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_sign_up(client, django_capture_on_commit_callbacks):
    def post(payload, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post("/api/v1/signup", payload, content_type="application/json", **extra)

    return post


def payload(**overrides):
    body = {"email": "api.person@example.org", "name": "Api Person", "postcode": "L21 1AA",
            "topics": ["respiratory"], "purposes": ["bulletin", "involvement"]}
    body.update(overrides)
    return body


def test_sign_up_is_pending_and_sends_a_confirmation(api_sign_up):
    response = api_sign_up(payload())
    assert response.status_code == 202
    assert response.json()["detail"].startswith("Thank you.")
    contact = Contact.objects.get()
    assert contact.source == "api" and contact.confirmed_at is None and contact.locality.name == "Seaforth & Litherland"
    assert list(contact.topics.values_list("slug", flat=True)) == ["respiratory"]
    assert set(ConsentState.objects.filter(contact=contact).values_list("purpose__code", "status")) == {
        ("bulletin", "pending"), ("involvement", "pending")}
    assert set(ConsentEvent.objects.filter(contact=contact).values_list("method", flat=True)) == {"api"}
    assert len(mail.outbox) == 1 and links_in(mail.outbox[0], "confirm")


def test_sign_up_answers_identically_for_known_and_unknown_addresses(api_sign_up, make_contact):
    make_contact(email="known@example.org")
    unknown = api_sign_up(payload(email="unknown@example.org"))
    known = api_sign_up(payload(email="Known@Example.org"))
    assert (unknown.status_code, unknown.content, unknown["Content-Type"]) == (
        known.status_code, known.content, known["Content-Type"])
    assert known.status_code == 202
    assert [bool(links_in(m, "confirm")) for m in mail.outbox] == [True, False]
    assert links_in(mail.outbox[1], "preferences")
    assert Contact.objects.filter(email_normalised="known@example.org").count() == 1


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"email": "nope"}, "email", "Enter an email address in the correct format, like name@example.com"),
    ({"email": ""}, "email", "Enter your email address"),
    ({"name": ""}, "name", "Enter your name"),
    ({"postcode": "12345"}, "postcode", "Enter a real postcode, like L20 3NJ"),
    ({"purposes": ["spam"]}, "purposes", "Unknown purpose: spam"),
    ({"purposes": ["equality_targeting"]}, "purposes", "Unknown purpose: equality_targeting"),
    ({"purposes": []}, "purposes", "Choose at least one thing you would like to hear from us about"),
    ({"topics": ["astrology"]}, "topics", "Unknown topic: astrology"),
])
def test_invalid_input_gets_422_with_a_message_per_field(api_sign_up, changes, field, message):
    response = api_sign_up(payload(**changes))
    assert response.status_code == 422
    assert response.json()["errors"][field] == [message]
    assert not Contact.objects.exists() and not mail.outbox


def test_several_invalid_fields_are_all_reported(api_sign_up):
    response = api_sign_up({"email": "x", "purposes": []})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"email", "name", "purposes"}


def test_wrong_types_get_422_too(api_sign_up):
    assert api_sign_up({"email": "a@example.org", "name": "A", "purposes": "bulletin"}).status_code == 422
    assert not Contact.objects.exists()


def test_sign_up_is_throttled_per_client_address(api_sign_up, settings):
    settings.PUBLIC_RATE_LIMIT = "2/m"
    first = api_sign_up(payload(email="one@example.org"), REMOTE_ADDR="192.0.2.10")
    second = api_sign_up(payload(email="x"), REMOTE_ADDR="192.0.2.10")  # invalid requests count too
    assert (first.status_code, second.status_code) == (202, 422)
    limited = api_sign_up(payload(email="three@example.org"), REMOTE_ADDR="192.0.2.10")
    assert limited.status_code == 429 and limited.json() == {"detail": "Too many requests."}
    # A forged X-Forwarded-For does not buy a fresh allowance.
    forged = api_sign_up(payload(email="four@example.org"), REMOTE_ADDR="192.0.2.10",
                         HTTP_X_FORWARDED_FOR="203.0.113.77")
    assert forged.status_code == 429
    assert api_sign_up(payload(email="five@example.org"), REMOTE_ADDR="192.0.2.11").status_code == 202
    assert set(Contact.objects.values_list("email_normalised", flat=True)) == {"one@example.org", "five@example.org"}


def test_topics_lists_active_topics(client):
    from crm.models import Topic

    Topic.objects.filter(slug="dementia").update(is_active=False)
    response = client.get("/api/v1/topics")
    assert response.status_code == 200
    slugs = [t["slug"] for t in response.json()]
    assert "cancer" in slugs and "dementia" not in slugs
    assert {"slug", "name", "description"} == set(response.json()[0])


def test_purposes_lists_sign_up_purposes_with_current_statement(client):
    response = client.get("/api/v1/purposes")
    assert response.status_code == 200
    by_code = {p["code"]: p for p in response.json()}
    assert set(by_code) == {"bulletin", "events", "involvement"}
    assert by_code["bulletin"]["statement"]["version"] == 1
    assert by_code["bulletin"]["statement"]["text"].startswith("Email me the My NHS e-bulletin")
    assert by_code["bulletin"]["lawful_basis"] == "consent"


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/signup", "/api/v1/topics", "/api/v1/purposes"} <= set(paths)
    assert {"202", "422", "429"} <= set(paths["/api/v1/signup"]["post"]["responses"])
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
