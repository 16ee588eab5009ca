"""``manage.py verify_audit``: walk the keyed audit hash chain; print OK or every broken link.

Exits 0 when the chain is intact and 1 when any entry was edited, removed or reordered (including
removal of the newest entry, caught through the chain head row), so it can run from cron or CI.
``--head`` prints the chain head (newest entry, count, fingerprint) and the heads recorded by recent
checks, without walking the chain: copy it somewhere the database cannot reach, compare later.
"""

from django.core.management.base import BaseCommand, CommandError

from crm.audit import broken_links, chain_check_history, chain_head
from crm.models import AuditEntry


class Command(BaseCommand):
    help = "Check the audit log's keyed hash chain and report every broken link (or print the head with --head)."

    def add_arguments(self, parser):
        parser.add_argument("--head", action="store_true",
                            help="Print the chain head and the heads recorded by recent checks; do not walk the chain.")

    def handle(self, *args, **options):
        if options["head"]:
            return self.print_head()
        breaks = broken_links()
        if breaks:
            for found in breaks:
                self.stderr.write(f"BROKEN at audit entry {found.entry_id}: {found.reason}")
            raise CommandError(f"{len(breaks)} broken link{'s' if len(breaks) != 1 else ''}; first "
                               f"at audit entry {breaks[0].entry_id}: {breaks[0].reason}", returncode=1)
        head = chain_head()
        count = AuditEntry.objects.count()
        if head is None or head.entry_id is None:
            self.stdout.write(f"OK: {count} audit entries, chain intact (empty)")
        else:
            self.stdout.write(f"OK: {count} audit entries, chain intact; newest entry {head.entry_id}, "
                              f"hash {head.entry_hash}")

    def print_head(self):
        head = chain_head()
        if head is None or head.entry_id is None:
            self.stdout.write("Head: the audit log is empty")
        else:
            self.stdout.write(f"Head: entry {head.entry_id}, {head.entry_count} entries, hash {head.entry_hash}")
        for check in chain_check_history(limit=10):
            changes = check.changes
            outcome = "intact" if changes.get("intact") else f"{changes.get('broken_count', '?')} broken"
            self.stdout.write(f"Checked {check.created_at:%Y-%m-%d %H:%M} UTC: {outcome}; head entry "
                              f"{changes.get('head_entry_id')}, hash {changes.get('head_hash', '')}")
