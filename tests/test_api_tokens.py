"""Personal API tokens: shown once, stored hashed, own tokens only, revocable, last use recorded,
and checked on the staff API exactly like the pages' permissions."""

import hashlib

import pytest
from django.test import Client
from django.urls import reverse

from crm.audit import Actor, record_audit
from crm.models import AuditEntry, StaffApiToken
from crm.roles import ADMINISTRATOR, COMMUNICATIONS, DATA_PROTECTION, ENGAGEMENT
from crm.staff import services

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def make_token(user, name="script"):
    return services.create_api_token(user=user, name=name, actor=Actor.system())


def test_token_is_shown_once_and_only_its_hash_is_stored(staff_client):
    client = staff_client(ENGAGEMENT)
    response = client.post(reverse("staff:tokens"), {"name": "Monthly report"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    raw = html.split('id="raw-token" type="text" value="', 1)[1].split('"', 1)[0]
    assert raw.startswith("mynhs_")
    token = StaffApiToken.objects.get(user=client.user)
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(f"mynhs_{token.prefix}_")
    assert not StaffApiToken.objects.filter(token_hash=raw).exists()

    listing = client.get(reverse("staff:tokens")).content.decode()
    assert "Monthly report" in listing and token.prefix in listing and raw not in listing
    entry = AuditEntry.objects.get(action="staff.api_token_created")
    assert raw not in str(entry.changes) and token.token_hash not in str(entry.changes)


def test_token_name_is_required(staff_client):
    client = staff_client(ENGAGEMENT)
    response = client.post(reverse("staff:tokens"), {"name": "  "})
    assert response.status_code == 200 and "Enter a name for the token" in response.content.decode()
    assert not StaffApiToken.objects.exists()


def test_me_with_a_valid_token_records_last_use(staff_user):
    user = staff_user(DATA_PROTECTION, username="dp-api")
    token, raw = make_token(user, "cli")
    assert token.last_used_at is None
    response = Client().get("/api/v1/staff/me", **bearer(raw))
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "dp-api" and body["roles"] == [DATA_PROTECTION] and body["token_name"] == "cli"
    assert "crm.view_auditentry" in body["permissions"]
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nonsense", "Bearer mynhs_00000000_unknownsecret",
                                    "Token mynhs_x_y"])
def test_missing_malformed_or_unknown_tokens_get_401(header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    assert Client().get("/api/v1/staff/me", **extra).status_code == 401
    assert Client().get("/api/v1/staff/audit", **extra).status_code == 401


def test_revoked_token_gets_401_and_last_use_is_not_touched(staff_client):
    client = staff_client(DATA_PROTECTION)
    token, raw = make_token(client.user)
    assert Client().get("/api/v1/staff/audit", **bearer(raw)).status_code == 200
    used = StaffApiToken.objects.get(pk=token.pk).last_used_at
    response = client.post(reverse("staff:token_revoke", kwargs={"token_id": token.pk}))
    assert response.status_code == 302
    assert Client().get("/api/v1/staff/audit", **bearer(raw)).status_code == 401
    assert Client().get("/api/v1/staff/me", **bearer(raw)).status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None and token.last_used_at == used
    assert AuditEntry.objects.filter(action="staff.api_token_revoked", object_id=str(token.pk)).exists()


def test_token_of_a_deactivated_account_gets_401(staff_user):
    user = staff_user(DATA_PROTECTION)
    _token, raw = make_token(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert Client().get("/api/v1/staff/me", **bearer(raw)).status_code == 401


@pytest.mark.parametrize("role", [COMMUNICATIONS, ENGAGEMENT, ADMINISTRATOR])
def test_wrong_role_gets_403_on_the_audit_api(staff_user, role):
    _token, raw = make_token(staff_user(role))
    response = Client().get("/api/v1/staff/audit", **bearer(raw))
    assert response.status_code == 403
    assert "entries" not in response.content.decode() and "items" not in response.json()


def test_audit_api_is_paginated_newest_first_and_filterable(staff_user):
    _token, raw = make_token(staff_user(DATA_PROTECTION))
    for n in range(60):
        record_audit(actor=Actor.system(), action="test.tick", object_type="test.thing", object_id=str(n))
    first = Client().get("/api/v1/staff/audit?action=test.", **bearer(raw)).json()
    assert first["count"] == 60 and len(first["items"]) == 50
    assert [item["object_id"] for item in first["items"][:3]] == ["59", "58", "57"]
    assert first["items"][0]["actor"] == "system"
    second = Client().get("/api/v1/staff/audit?action=test.&page=2", **bearer(raw)).json()
    assert [item["object_id"] for item in second["items"]] == [str(n) for n in range(9, -1, -1)]
    one = Client().get("/api/v1/staff/audit?object_type=test.thing&object_id=7", **bearer(raw)).json()
    assert one["count"] == 1 and one["items"][0]["object_id"] == "7"
    export = record_audit(actor=Actor.system(), action="sar.exported", object_type="test.thing", object_id="x")
    labelled = Client().get("/api/v1/staff/audit?action=sar.", **bearer(raw)).json()["items"]
    assert [(item["id"], item["action"], item["action_label"]) for item in labelled] == [
        (export.id, "sar.exported", "Subject access export downloaded")]


def test_staff_can_only_revoke_their_own_tokens(staff_client, staff_user):
    client = staff_client(ENGAGEMENT)
    other = staff_user(ENGAGEMENT)
    theirs, raw = make_token(other)
    response = client.post(reverse("staff:token_revoke", kwargs={"token_id": theirs.pk}))
    assert response.status_code == 404
    assert StaffApiToken.objects.get(pk=theirs.pk).revoked_at is None
    assert theirs.prefix not in client.get(reverse("staff:tokens")).content.decode()
    assert Client().get("/api/v1/staff/me", **bearer(raw)).status_code == 200
