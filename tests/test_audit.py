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
    assert f"first at audit entry {chain[2].id}" in message and "does not match its fingerprint" in message


def test_rewriting_an_entry_and_its_own_hash_is_caught_by_the_next_entry(chain):
    from crm.audit import entry_digest

    victim = AuditEntry.objects.get(pk=chain[1].id)
    forged = entry_digest(prev_hash=victim.prev_hash, created_at=victim.created_at, actor_label="someone-else",
                          action=victim.action, object_type=victim.object_type, object_id=victim.object_id,
                          summary=victim.summary, changes=victim.changes, ip_address=victim.ip_address)
    sql("UPDATE crm_auditentry SET actor_label = %s, entry_hash = %s WHERE id = %s",
        ["someone-else", forged, victim.id])
    ok, message = run_verify()
    assert not ok and f"audit entry {chain[2].id}: previous entry was removed or altered" in message


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
        record_audit(actor=Actor.system(), action="test.bulk", object_type="test.other", object_id=str(n),
                     summary=f"Bulk entry {n}.")
    page = client.get(reverse("staff:audit"), {"action": "test.bulk"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "55 entries match" in html
    assert html.index("Bulk entry 54.<") < html.index("Bulk entry 53.<")
    assert "Test: step" not in html
    assert 'rel="next"' in html and "page=2" in html and "action=test.bulk" in html
    second = client.get(reverse("staff:audit"), {"action": "test.bulk", "page": 2}).content.decode()
    assert "Bulk entry 4.<" in second and "Bulk entry 5.<" not in second

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
    assert check.changes == {"entries": AuditHead.objects.get().entry_count - 1, "intact": True,
                             "head_entry_id": chain[-1].id, "head_hash": chain[-1].entry_hash}
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
    head = AuditHead.objects.get()
    assert latest.changes == {
        "entries": head.entry_count - 1, "intact": False, "broken_count": 1,
        "broken": [{"entry_id": chain[2].id, "reason": "entry content does not match its fingerprint"}],
        # the head as the check saw it: the entry just before the check's own record
        "head_entry_id": latest.id - 1, "head_hash": latest.prev_hash,
    }


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


# --- Addresses as stored, every break, the key, the head history -------------------------------------
@pytest.mark.parametrize(("given", "stored"), [
    ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),          # IPv4-mapped IPv6, as a proxy hands it on
    ("::ffff:a00:1", "::ffff:10.0.0.1"),             # the same address as Python's ipaddress prints it
    ("::FFFF:0A00:0001", "::ffff:10.0.0.1"),
    ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),         # long IPv6 form, upper case
    ("2001:db8::1", "2001:db8::1"),
    ("fe80::1", "fe80::1"),
    ("10.0.0.1", "10.0.0.1"),
    ("not-an-address", None),
])
def test_client_address_is_stored_as_it_was_hashed_and_the_chain_stays_intact(given, stored):
    entry = record_audit(actor=Actor.public(given), action="test.from_proxy")
    after = record_audit(actor=Actor.system(), action="test.after_proxy")
    entry.refresh_from_db()
    assert entry.ip_address == stored
    from crm.audit import stored_ip

    field = AuditEntry._meta.get_field("ip_address")
    assert stored_ip(given) == (field.get_prep_value(given.strip()) if stored else None)
    assert after.prev_hash == entry.entry_hash
    assert first_broken_link() is None
    ok, _message = run_verify()
    assert ok


def test_every_broken_link_is_reported_not_only_the_first(chain):
    sql("UPDATE crm_auditentry SET action = 'test.edited' WHERE id = %s", [chain[0].id])
    sql("DELETE FROM crm_auditentry WHERE id = %s", [chain[2].id])
    sql("UPDATE crm_auditentry SET object_id = '99' WHERE id = %s", [chain[4].id])
    from crm.audit import broken_links

    assert [(found.entry_id, found.reason) for found in broken_links()] == [
        (chain[0].id, "entry content does not match its fingerprint"),
        (chain[3].id, "previous entry was removed or altered"),
        (chain[4].id, "entry content does not match its fingerprint"),
    ]
    from io import StringIO

    err = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit", stdout=StringIO(), stderr=err)
    assert "3 broken links" in str(raised.value)
    assert err.getvalue().count("BROKEN at audit entry") == 3


def test_the_check_page_lists_every_broken_link(staff_client, chain):
    client = staff_client(DATA_PROTECTION)
    sql("UPDATE crm_auditentry SET summary = 'edited' WHERE id IN (%s, %s)", [chain[1].id, chain[3].id])
    client.post(reverse("staff:audit_verify"))
    html = client.get(reverse("staff:audit_verify")).content.decode()
    assert "found 2 broken links" in html
    assert f"entry {chain[1].id}: entry content" in html and f"entry {chain[3].id}: entry content" in html


def test_rechaining_without_the_key_is_detected(chain):
    """Someone with database access rewrites an entry and re-chains everything after it with plain
    SHA-256 (the algorithm is public; the key is not). Every re-chained entry fails its fingerprint."""
    import hashlib
    import json

    rows = list(AuditEntry.objects.filter(id__gte=chain[1].id).order_by("id"))
    prev = AuditEntry.objects.get(pk=chain[0].id).entry_hash
    for row in rows:
        if row.id == chain[1].id:
            row.actor_label = "someone-else"
        payload = json.dumps([prev, row.created_at.isoformat(), row.actor_label, row.action, row.object_type,
                              row.object_id, row.summary, row.changes, row.ip_address or ""],
                             sort_keys=True, separators=(",", ":"), default=str)
        forged = hashlib.sha256(payload.encode()).hexdigest()
        sql("UPDATE crm_auditentry SET actor_label = %s, prev_hash = %s, entry_hash = %s WHERE id = %s",
            [row.actor_label, prev, forged, row.id])
        prev = forged
    sql("UPDATE crm_audithead SET entry_hash = %s", [prev])
    from crm.audit import broken_links

    assert [found.entry_id for found in broken_links()] == [row.id for row in rows]


def test_the_chain_only_verifies_with_the_key_it_was_written_with(chain, settings):
    assert first_broken_link() is None
    settings.AUDIT_HMAC_KEY = "another-key-entirely-" + "x" * 40
    from crm.audit import broken_links

    assert {found.reason for found in broken_links()} == {"entry content does not match its fingerprint"}


def test_fingerprint_is_an_hmac_with_the_configured_key(chain, settings):
    import hashlib
    import hmac
    import json

    entry = AuditEntry.objects.get(pk=chain[2].id)
    payload = json.dumps([entry.prev_hash, entry.created_at.isoformat(), entry.actor_label, entry.action,
                          entry.object_type, entry.object_id, entry.summary, entry.changes, ""],
                         sort_keys=True, separators=(",", ":"))
    assert entry.entry_hash == hmac.new(settings.AUDIT_HMAC_KEY.encode(), payload.encode(), hashlib.sha256).hexdigest()
    assert entry.entry_hash != hashlib.sha256(payload.encode()).hexdigest()


def test_production_refuses_the_development_audit_key(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {key: value for key, value in os.environ.items()
           if key not in {"AUDIT_HMAC_KEY", "DATABASE_URL", "REDIS_URL", "MYNHS_ENV", "DEBUG"}}
    env.update(MYNHS_VAR_DIR=str(tmp_path), PYTHONPATH=str(root), MYNHS_ENV="production", DEBUG="0",
               SECRET_KEY="k3J9-production-secret-that-is-long-enough-0123456789abcdef",
               ANYMAIL_WEBHOOK_SECRET="anymail:webhook-secret-value",
               SUPPRESSION_PEPPER="pepper-for-suppression-hashes-0123456789", ALLOWED_HOSTS="mynhs.example.nhs.uk")
    setup = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'crm.settings'; django.setup()"
    refused = subprocess.run([sys.executable, "-c", setup], cwd=root, env=env, capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode != 0 and "AUDIT_HMAC_KEY must be set" in refused.stderr
    env["AUDIT_HMAC_KEY"] = "a-real-audit-key-from-the-environment-0123456789"
    started = subprocess.run([sys.executable, "-c", setup], cwd=root, env=env, capture_output=True, text=True,
                             timeout=60)
    assert "AUDIT_HMAC_KEY" not in started.stderr


def test_checks_record_the_head_and_the_page_and_command_show_the_history(staff_client, chain):
    from io import StringIO

    from crm import tasks

    tasks.nightly_audit_chain_check.call_local()
    first_head = chain[-1].entry_hash
    more = record_audit(actor=Actor.system(), action="test.later")
    tasks.nightly_audit_chain_check.call_local()
    checks = list(AuditEntry.objects.filter(action=CHECK_ACTION).order_by("id"))
    assert [c.changes["head_hash"] for c in checks] == [first_head, more.entry_hash]
    assert [c.changes["head_entry_id"] for c in checks] == [chain[-1].id, more.id]

    html = staff_client(DATA_PROTECTION).get(reverse("staff:audit_verify")).content.decode()
    assert "Fingerprints recorded by each check" in html
    assert first_head in html and more.entry_hash in html
    assert html.index(more.entry_hash) < html.index(first_head)  # newest check first

    out = StringIO()
    call_command("verify_audit", "--head", stdout=out)
    printed = out.getvalue()
    head = chain_head()
    assert printed.splitlines()[0] == f"Head: entry {head.entry_id}, {head.entry_count} entries, hash {head.entry_hash}"
    assert first_head in printed and more.entry_hash in printed
