"""The audit log: hash chain with a head row, tamper detection by verify_audit (edits, deletions,
deletion of the newest entry), the staff audit page and its check page, and the read-only admin."""

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from crm.audit import (
    CHECK_ACTION,
    GENESIS_HASH,
    Actor,
    chain_head,
    first_broken_link,
    last_chain_check,
    record_audit,
)
from crm.models import AuditEntry, AuditHead
from crm.roles import DATA_PROTECTION

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    """Five fresh entries at the end of the chain (ids ascending)."""
    return [record_audit(actor=Actor.system(), action="test.step", object_type="test.thing", object_id=str(n))
            for n in range(5)]


def run_verify():
    """(ok, message) from the management command."""
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError as error:
        assert error.returncode == 1
        return False, str(error)
    return True, out.getvalue()


def sql(statement: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_each_entry_names_its_predecessor_and_the_head_follows(chain):
    for earlier, later in zip(chain, chain[1:], strict=False):
        assert later.prev_hash == earlier.entry_hash
    head = chain_head()
    assert head.entry_id == chain[-1].id and head.entry_hash == chain[-1].entry_hash
    assert head.entry_count == AuditEntry.objects.count()
    ok, message = run_verify()
    assert ok and message.startswith("OK:") and chain[-1].entry_hash in message


def test_intact_empty_log_is_ok():
    AuditEntry.objects.all().delete()
    AuditHead.objects.all().delete()
    assert first_broken_link() is None
    assert run_verify()[0]
    first = record_audit(actor=Actor.system(), action="test.first")
    assert first.prev_hash == GENESIS_HASH
    assert run_verify()[0]


def test_editing_an_entry_with_raw_sql_is_detected(chain):
    sql("UPDATE crm_auditentry SET action = %s WHERE id = %s", ["test.innocent", chain[2].id])
    ok, message = run_verify()
    assert not ok
    assert f"BROKEN at audit entry {chain[2].id}" in message and "does not match its hash" in message


def test_rewriting_an_entry_and_its_own_hash_is_caught_by_the_next_entry(chain):
    from crm.audit import entry_digest

    victim = AuditEntry.objects.get(pk=chain[1].id)
    forged = entry_digest(prev_hash=victim.prev_hash, created_at=victim.created_at, actor_label="someone-else",
                          action=victim.action, object_type=victim.object_type, object_id=victim.object_id,
                          summary=victim.summary, changes=victim.changes, ip_address=victim.ip_address)
    sql("UPDATE crm_auditentry SET actor_label = %s, entry_hash = %s WHERE id = %s",
        ["someone-else", forged, victim.id])
    ok, message = run_verify()
    assert not ok and f"audit entry {chain[2].id}" in message and "removed or altered" in message


def test_deleting_an_entry_in_the_middle_is_detected(chain):
    sql("DELETE FROM crm_auditentry WHERE id = %s", [chain[2].id])
    ok, message = run_verify()
    assert not ok and f"audit entry {chain[3].id}" in message


def test_deleting_the_last_entry_is_detected(chain):
    sql("DELETE FROM crm_auditentry WHERE id = %s", [chain[-1].id])
    ok, message = run_verify()
    assert not ok
    assert f"audit entry {chain[-1].id}" in message and "newest entry was removed" in message


def test_deleting_the_last_entry_stays_detected_after_new_entries(chain):
    sql("DELETE FROM crm_auditentry WHERE id = %s", [chain[-1].id])
    after = record_audit(actor=Actor.system(), action="test.after")
    assert after.prev_hash == chain[-1].entry_hash  # chained to the head, not to the surviving row
    ok, message = run_verify()
    assert not ok and f"audit entry {after.id}" in message


def test_deleting_the_last_entries_and_the_head_row_is_detected(chain):
    sql("DELETE FROM crm_auditentry WHERE id >= %s", [chain[3].id])
    sql("DELETE FROM crm_audithead")
    ok, message = run_verify()
    assert not ok and "head record is missing" in message


def test_truncating_the_whole_log_is_detected(chain):
    sql("DELETE FROM crm_auditentry")
    ok, message = run_verify()
    assert not ok and "newest entry was removed" in message


def test_audit_page_is_newest_first_filterable_and_paginated(staff_client, chain):
    client = staff_client(DATA_PROTECTION)
    for n in range(55):
        record_audit(actor=Actor.system(), action="test.bulk", object_type="test.other", object_id=str(n))
    page = client.get(reverse("staff:audit"), {"action": "test.bulk"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "55 entries match" in html
    assert html.index("test.other 54<") < html.index("test.other 53<")
    assert "test.step" not in html
    assert 'rel="next"' in html and "page=2" in html and "action=test.bulk" in html
    second = client.get(reverse("staff:audit"), {"action": "test.bulk", "page": 2}).content.decode()
    assert "test.other 4<" in second and "test.other 5<" not in second

    by_object = client.get(reverse("staff:audit"), {"object_type": "test.thing", "object_id": "3"}).content.decode()
    assert "1 entry match" in by_object
    by_actor = client.get(reverse("staff:audit"), {"actor": "nobody"}).content.decode()
    assert "No entries match these filters" in by_actor


def test_audit_check_page_runs_the_check_in_the_background_and_shows_the_outcome(staff_client, chain):
    client = staff_client(DATA_PROTECTION)
    assert "The audit log has not been checked yet" in client.get(reverse("staff:audit_verify")).content.decode()

    response = client.post(reverse("staff:audit_verify"), REMOTE_ADDR="192.0.2.31")  # Huey runs it at once in tests
    assert response.status_code == 302
    check = AuditEntry.objects.get(action=CHECK_ACTION)
    assert check.changes == {"entries": AuditHead.objects.get().entry_count - 1, "intact": True}
    assert check.ip_address == "192.0.2.31" and check.actor_label != "system"
    intact = client.get(reverse("staff:audit_verify")).content.decode()
    assert "No audit entry had been edited or removed" in intact and f"every one of {check.changes['entries']}" in intact
    assert chain_head().entry_hash in intact

    sql("DELETE FROM crm_auditentry WHERE id = %s", [chain[2].id])
    client.post(reverse("staff:audit_verify"))
    broken = client.get(reverse("staff:audit_verify")).content.decode()
    # The entry after the removed one no longer finds its predecessor.
    assert "The audit log has been tampered with" in broken and f"entry {chain[3].id}: previous entry" in broken


def test_nightly_check_records_a_break_and_keeps_the_record_of_it(chain):
    from crm import tasks

    tasks.nightly_audit_chain_check.call_local()
    assert last_chain_check().changes["intact"] is True
    sql("UPDATE crm_auditentry SET action = 'test.edited' WHERE id = %s", [chain[2].id])
    tasks.nightly_audit_chain_check.call_local()
    latest = last_chain_check()
    assert latest.actor_label == "system"
    assert latest.changes == {"entries": latest.changes["entries"], "intact": False, "broken_entry_id": chain[2].id,
                              "reason": "entry content does not match its hash"}


def test_audit_check_needs_the_audit_permission(staff_client):
    from crm.roles import COMMUNICATIONS

    assert staff_client(COMMUNICATIONS).post(reverse("staff:audit_verify")).status_code == 403
    assert not AuditEntry.objects.filter(action=CHECK_ACTION).exists()


def test_staff_actions_are_audited_with_who_and_from_where(staff_client):
    client = staff_client(DATA_PROTECTION)
    client.post(reverse("staff:tokens"), {"name": "x"}, REMOTE_ADDR="192.0.2.10")
    entry = AuditEntry.objects.get(action="staff.api_token_created")
    assert entry.actor_id == client.user.pk and entry.actor_label == client.user.username
    assert entry.ip_address == "192.0.2.10" and entry.object_type == "crm.staffapitoken"


def test_audit_entries_are_read_only_in_the_admin(rf, staff_user, chain):
    superuser = staff_user(is_superuser=True, is_staff=True)
    request = rf.get("/admin/")
    request.user = superuser
    model_admin = admin.site._registry[AuditEntry]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, chain[0])
    assert not model_admin.has_delete_permission(request, chain[0])
    from crm.models import EqualityProfile

    assert EqualityProfile not in admin.site._registry


def test_admin_needs_a_verified_second_factor(staff_user, staff_client):
    superuser = staff_user(is_superuser=True, is_staff=True)
    unverified = Client()
    unverified.force_login(superuser)
    response = unverified.get("/admin/crm/auditentry/")
    assert response.status_code == 302
    login = unverified.get(response["Location"])
    assert login.status_code == 302 and login["Location"].startswith(reverse("staff:login"))
    verified = staff_client(user=superuser)
    assert verified.get("/admin/crm/auditentry/").status_code == 200
