"""The API's contract: the OpenAPI schema lists every answer a route gives, with its body, and bad
input of every kind (out-of-range numbers, control characters, malformed JSON, wrong types) is a
documented 4xx with a message per field, never a 500.

The expected tables below are written by hand from the requirement, not read from the code.
bin/api-fuzz checks the same contract with schemathesis against a live server.
"""

import json
import re
from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import Client

from consent.models import ConsentEvent
from crm.audit import Actor
from crm.models import Contact
from crm.roles import COMMUNICATIONS, DATA_PROTECTION
from crm.staff.services import create_api_token

pytestmark = pytest.mark.django_db

CONTACT = "/api/v1/staff/contacts/{public_id}"
CONSENTS = "/api/v1/staff/contacts/{public_id}/consents"

# (method, path) → every status the route can answer: 2xx, bad JSON (400), no/unknown token (401),
# wrong role (403), no such record (404), invalid input (422), over the public rate limit (429).
DOCUMENTED = {
    ("get", "/api/v1/topics"): {"200"},
    ("get", "/api/v1/purposes"): {"200"},
    ("post", "/api/v1/signup"): {"202", "400", "422", "429"},
    ("get", "/api/v1/staff/me"): {"200", "401"},
    ("get", "/api/v1/staff/audit"): {"200", "401", "403", "422"},
    ("get", "/api/v1/staff/contacts"): {"200", "401", "403", "422"},
    ("get", CONTACT): {"200", "401", "403", "404"},
    ("post", CONSENTS): {"201", "400", "401", "403", "404", "422"},
}


@pytest.fixture
def schema(client):
    return client.get("/api/v1/openapi.json").json()


@pytest.fixture
def dpo_token(staff_user):
    return create_api_token(user=staff_user(DATA_PROTECTION), name="contract", actor=Actor.system())[1]


def bearer(raw):
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def resolve(schema, ref_or_schema):
    ref = ref_or_schema.get("$ref", "")
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else ref_or_schema


def response_schema(schema, method, path, status):
    content = schema["paths"][path][method]["responses"][status]["content"]["application/json"]
    return resolve(schema, content["schema"])


def operations(schema):
    return {(method, path): op for path, methods in schema["paths"].items() for method, op in methods.items()}


def test_every_route_documents_exactly_the_answers_it_gives(schema):
    documented = {key: set(op["responses"]) for key, op in operations(schema).items() if key in DOCUMENTED}
    assert documented == DOCUMENTED


def test_every_staff_route_of_every_app_documents_401_and_403(schema):
    for (method, path), op in operations(schema).items():
        if path.startswith(("/api/v1/staff/", "/api/v1/segments")) and path != "/api/v1/staff/me":
            assert op["security"] == [{"StaffTokenAuth": []}], path
            assert {"401", "403"} <= set(op["responses"]), (method, path)


def test_error_bodies_are_explicit_schemas(schema):
    for (method, path), op in operations(schema).items():
        for status in {code for code in op["responses"] if code >= "400"}:
            body = response_schema(schema, method, path, status)
            if status == "422":
                assert body["title"] == "ValidationErrorOut" and set(body["required"]) == {"detail", "errors"}
                assert body["properties"]["errors"]["additionalProperties"]["items"] == {"type": "string"}
            else:
                assert body["title"] == "ErrorOut" and body["required"] == ["detail"]
            assert schema["paths"][path][method]["responses"][status]["description"] not in ("", "OK")


def test_429_documents_retry_after_and_401_www_authenticate(schema):
    limited = schema["paths"]["/api/v1/signup"]["post"]["responses"]["429"]
    assert limited["headers"]["Retry-After"]["required"] is True
    unauthorised = schema["paths"]["/api/v1/staff/me"]["get"]["responses"]["401"]
    assert "WWW-Authenticate" in unauthorised["headers"]


def test_query_numbers_document_their_range(schema):
    def params(path):
        return {p["name"]: p["schema"] for p in schema["paths"][path]["get"]["parameters"]}

    audit = params("/api/v1/staff/audit")
    assert (audit["page"]["minimum"], audit["page"]["maximum"]) == (1, 2**31 - 1)
    assert (audit["page_size"]["anyOf"][0]["minimum"], audit["page_size"]["anyOf"][0]["maximum"]) == (1, 500)
    contacts = params("/api/v1/staff/contacts")
    for name in ("after", "before", "organisation"):
        bounds = contacts[name]["anyOf"][0]
        assert (bounds["minimum"], bounds["maximum"]) == (1, 2**63 - 1), name
    assert (contacts["limit"]["minimum"], contacts["limit"]["maximum"]) == (1, 200)


def test_text_parameters_document_their_length_and_the_control_character_rule(schema):
    contacts = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/staff/contacts"]["get"]["parameters"]}
    # Hand-set limits: the database columns (name 200, email 254, postcode 10).
    assert {name: contacts[name]["maxLength"] for name in ("name", "email", "postcode")} == {
        "name": 200, "email": 254, "postcode": 10}
    evidence = schema["components"]["schemas"]["ConsentIn"]["properties"]["evidence_reference"]
    assert (evidence["minLength"], evidence["maxLength"]) == (1, 200)
    for documented in (contacts["name"], evidence):
        pattern = re.compile(documented["pattern"])
        assert pattern.match("Anne-Marie O'Neill, café 😀") and not pattern.match("Ann\r\nBcc: x")
        assert not pattern.match("nul\x00") and not pattern.match("\u202eevil")


# --- out-of-range numbers: 422 naming the parameter (these were 500s: OverflowError on SQLite,
# "integer out of range" on PostgreSQL) -------------------------------------------------------

@pytest.mark.parametrize(("query", "field"), [
    ("page=0", "page"),
    ("page=-1", "page"),
    (f"page={2**31}", "page"),
    (f"page={10**30}", "page"),
    ("page=1.5", "page"),
    ("page_size=0", "page_size"),
    ("page_size=501", "page_size"),
    (f"page_size={10**25}", "page_size"),
])
def test_audit_page_numbers_out_of_range_answer_422(dpo_token, query, field):
    response = Client().get(f"/api/v1/staff/audit?{query}", **bearer(dpo_token))
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "Check the fields listed in errors." and list(body["errors"]) == [field]


@pytest.mark.parametrize(("query", "field"), [
    (f"after={2**63}", "after"),
    (f"after={10**40}", "after"),
    ("after=0", "after"),
    ("before=-5", "before"),
    (f"before={2**64}", "before"),
    (f"organisation={10**30}", "organisation"),
    ("organisation=-1", "organisation"),
    ("limit=0", "limit"),
    ("limit=201", "limit"),
    (f"limit={2**70}", "limit"),
])
def test_contact_search_numbers_out_of_range_answer_422(dpo_token, query, field):
    response = Client().get(f"/api/v1/staff/contacts?{query}", **bearer(dpo_token))
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]


def test_the_largest_ids_are_still_accepted(dpo_token, make_contact):
    make_contact()
    biggest = 2**63 - 1
    response = Client().get(f"/api/v1/staff/contacts?after={biggest}&organisation={biggest}&limit=200",
                            **bearer(dpo_token))
    assert response.status_code == 200 and response.json()["items"] == []
    assert Client().get(f"/api/v1/staff/audit?page={2**31 - 1}&page_size=500", **bearer(dpo_token)).json()["items"] == []


# --- text with control characters, at every entrance ---------------------------------------

@pytest.mark.parametrize("value", ["Ann\x00", "A\r\nBcc: x", "tab\there", "bell\x07", "\u202eevil"])
@pytest.mark.parametrize("field", ["name", "email", "postcode", "locality", "topic"])
def test_contact_search_text_with_control_characters_answers_422(dpo_token, field, value):
    response = Client().get("/api/v1/staff/contacts", {field: value}, **bearer(dpo_token))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert list(errors) == [field] and "Remove line breaks, tabs and other hidden characters" in errors[field]


@pytest.mark.parametrize("field", ["action", "object_type", "object_id", "actor"])
def test_audit_filters_with_control_characters_answer_422(dpo_token, field):
    response = Client().get("/api/v1/staff/audit", {field: "consent.\x00given"}, **bearer(dpo_token))
    assert response.status_code == 422 and list(response.json()["errors"]) == [field]


@pytest.mark.parametrize("name", ["Ann\r\nBcc: victim@example.org", "Ann\nSmith", "Ann\x00", "Ann\tSmith", "Ann\x1b[2J"])
def test_sign_up_name_with_control_characters_is_a_field_error_and_stores_nothing(client, name):
    body = {"email": "ann@example.org", "name": name, "purposes": ["bulletin"]}
    response = client.post("/api/v1/signup", body, content_type="application/json")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert list(errors) == ["name"] and "line breaks" in errors["name"][0]
    assert not Contact.objects.exists() and not mail.outbox


def test_sign_up_lone_surrogate_is_a_field_error_not_a_500(client):
    raw = '{"email": "ann@example.org", "name": "Ann \\ud800", "purposes": ["bulletin"]}'
    response = client.post("/api/v1/signup", raw, content_type="application/json")
    assert response.status_code == 422 and list(response.json()["errors"]) == ["name"]
    assert not Contact.objects.exists()


def test_evidence_reference_with_a_line_break_answers_422(dpo_token, make_contact):
    contact = make_contact()
    body = {"purpose": "events", "action": "confirmed", "method": "phone", "evidence_reference": "call\r\n12"}
    response = Client().post(CONSENTS.format(public_id=contact.public_id), body, content_type="application/json",
                             **bearer(dpo_token))
    assert response.status_code == 422 and list(response.json()["errors"]) == ["evidence_reference"]
    assert not ConsentEvent.objects.filter(contact=contact, purpose__code="events").exists()


# --- the recording route: types mean what they say ----------------------------------------

@pytest.mark.parametrize(("changes", "field"), [
    ({"statement_version": 2**31}, "statement_version"),
    ({"statement_version": 0}, "statement_version"),
    ({"statement_version": True}, "statement_version"),
    ({"statement_version": "1"}, "statement_version"),
    ({"occurred_at": 0}, "occurred_at"),
    ({"occurred_at": "0001-01-01T00:00:00+05:00"}, "occurred_at"),
    ({"occurred_at": "9999-12-31T23:00:00-05:00"}, "occurred_at"),
    ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),  # in the future
    ({"purpose": "astrology"}, "purpose"),
    ({"evidence_reference": ""}, "evidence_reference"),
    ({"evidence_reference": 12}, "evidence_reference"),
])
def test_consent_body_out_of_range_or_wrong_type_answers_422(dpo_token, make_contact, changes, field):
    contact = make_contact()
    body = {"purpose": "events", "action": "confirmed", "method": "phone", "evidence_reference": "call 12"}
    response = Client().post(CONSENTS.format(public_id=contact.public_id), {**body, **changes},
                             content_type="application/json", **bearer(dpo_token))
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]
    assert not ConsentEvent.objects.filter(contact=contact, purpose__code="events").exists()


@time_machine.travel(datetime(2026, 11, 23, 12, tzinfo=UTC), tick=True)  # 2 November 2026 is in the past
def test_consent_with_an_iso_time_in_the_past_is_recorded(dpo_token, make_contact):
    contact = make_contact()
    body = {"purpose": "events", "action": "confirmed", "method": "phone", "evidence_reference": "call 12",
            "occurred_at": "2026-11-02T09:30:00"}
    response = Client().post(CONSENTS.format(public_id=contact.public_id), body, content_type="application/json",
                             **bearer(dpo_token))
    assert response.status_code == 201
    assert response.json()["occurred_at"] == "2026-11-02T09:30:00Z"  # 9:30am in London in November is UTC


def test_a_refused_consent_event_answers_422_with_the_reason(dpo_token, make_contact):
    contact = make_contact()
    url = CONSENTS.format(public_id=contact.public_id)
    withdraw = {"purpose": "bulletin", "action": "withdrawn", "method": "phone", "evidence_reference": "call"}
    assert Client().post(url, withdraw, content_type="application/json", **bearer(dpo_token)).status_code == 201
    again = {**withdraw, "action": "confirmed"}
    response = Client().post(url, again, content_type="application/json", **bearer(dpo_token))
    assert response.status_code == 422
    body = response.json()
    assert "withdrawn" in body["detail"] and body["errors"] == {"body": [body["detail"]]}


# --- every error body, as documented --------------------------------------------------------

def test_401_body_and_header(client):
    response = client.get("/api/v1/staff/me")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "Send a valid personal API token: Authorization: Bearer mynhs_…"}


def test_403_body(staff_user):
    raw = create_api_token(user=staff_user(COMMUNICATIONS), name="t", actor=Actor.system())[1]
    response = Client().get("/api/v1/staff/audit", **bearer(raw))
    assert response.status_code == 403 and response.json() == {"detail": "You do not have permission to do this."}


@pytest.mark.parametrize("path", [
    "/api/v1/staff/contacts/00000000-0000-0000-0000-000000000000",
    "/api/v1/staff/contacts/not-a-uuid",
    "/api/v1/staff/contacts/a/b",
    "/api/v1/no-such-route",
    "/api/v1/staff/bulletins/%C3%9A%0A",  # a newline in the path (found by the fuzz)
    "/api/v1/staff/segments/%0A",
])
def test_404_is_json_for_unknown_records_and_paths(dpo_token, path):
    response = Client().get(path, **bearer(dpo_token))
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not Found"}


def test_a_post_to_an_unknown_path_is_a_json_404_not_a_csrf_page(dpo_token):
    response = Client(enforce_csrf_checks=True).post("/api/v1/staff/contacts/null/consents", {},
                                                     content_type="application/json", **bearer(dpo_token))
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize("raw", ["{", "\x00", "not json", '{"email": '])
def test_malformed_json_answers_400(client, dpo_token, make_contact, raw):
    response = client.post("/api/v1/signup", raw, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"detail"}
    url = CONSENTS.format(public_id=make_contact().public_id)
    staff = Client().post(url, raw, content_type="application/json", **bearer(dpo_token))
    assert staff.status_code == 400 and set(staff.json()) == {"detail"}


def test_a_body_over_the_upload_limit_answers_the_documented_400(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/api/v1/signup", '{"name": "' + "a" * 2000 + '"}', content_type="application/json")
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "The request body is too large (at most 0.001 MB)"}


@pytest.mark.parametrize("raw", ["[]", '"bulletin"', "17", "null"])
def test_a_body_that_is_not_an_object_is_a_422_on_body(client, raw):
    response = client.post("/api/v1/signup", raw, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"] == "Check the fields listed in errors."
    assert all(isinstance(m, str) for messages in response.json()["errors"].values() for m in messages)


def test_schema_level_422_is_keyed_by_field_like_the_forms(client):
    response = client.post("/api/v1/signup", {"email": 5, "name": ["x"], "purposes": "bulletin"},
                           content_type="application/json")
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"email", "name", "purposes"}


def test_429_body_and_retry_after(client, settings):
    settings.PUBLIC_RATE_LIMIT = "1/m"
    body = {"email": "one@example.org", "name": "One", "purposes": ["bulletin"]}
    assert client.post("/api/v1/signup", body, content_type="application/json").status_code == 202
    limited = client.post("/api/v1/signup", body, content_type="application/json")
    assert limited.status_code == 429 and limited.json() == {"detail": "Too many requests."}
    assert limited["Retry-After"].isdigit() and 1 <= int(limited["Retry-After"]) <= 60


# --- the schema, outside the server ---------------------------------------------------------

def test_export_openapi_schema_works_without_flags(schema):
    out = StringIO()
    call_command("export_openapi_schema", stdout=out)
    exported = json.loads(out.getvalue())
    assert exported["info"]["title"] == "My NHS API"
    assert {path for _method, path in DOCUMENTED} <= set(exported["paths"])
    assert exported == schema


def test_docs_page_loads_only_same_origin_scripts_under_the_csp(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    html = response.content.decode()
    # Every executable script comes from a file on this site; the one inline block is JSON data.
    scripts = html.split("<script")[1:]
    assert len(scripts) == 3
    for tag in scripts:
        opening = tag.split(">", 1)[0]
        assert 'src="/static/' in opening or 'type="application/json"' in opening
    assert " style=" not in html and "cdn" not in html.lower()
