"""How long do the audit log's checks and pages take as the log grows?

    .venv/bin/python benchmarks/audit_bench.py                      # 100,000 and 1,000,000 entries
    .venv/bin/python benchmarks/audit_bench.py --sizes 50000

For each size, a fresh SQLite database (the embedded default, WAL mode) in a temporary folder is
migrated and filled with a valid hash chain of entries shaped like the real ones (hashes computed by
crm.audit.entry_digest, written in bulk). Then it times:

- ``first_broken_link()``: the full walk (HMAC-SHA256 per entry) behind ``manage.py verify_audit`` and the
  staff check page (every broken link is collected, so the walk never stops early);
- the staff audit log page's query: its count, the first page and a deep page (page 1,000), with
  and without an action filter.

Prints the figures and writes benchmarks/results/audit.json.
"""

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fresh_process import run_child  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "audit.json"
SEED = 2026
BATCH = 20_000
ACTIONS = ["consent.confirmed", "consent.given", "consent.withdrawn", "contact.created", "contact.updated",
           "preferences.viewed", "staff.signed_in", "equality.answers_viewed"]


def setup_django(directory: Path) -> None:
    os.environ["MYNHS_VAR_DIR"] = str(directory)
    os.environ["SQLITE_PATH"] = str(directory / "bench.sqlite3")
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def fill(n: int) -> None:
    """Append ``n`` chained entries in bulk, then point the head row at the last one."""
    from django.db import transaction

    from crm.audit import GENESIS_HASH, entry_digest
    from crm.models import AuditEntry, AuditHead

    rng = random.Random(SEED)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    prev_hash, entry = GENESIS_HASH, None
    for first in range(0, n, BATCH):
        batch = []
        for i in range(first, min(n, first + BATCH)):
            fields = {
                "created_at": start + timedelta(seconds=i * 30), "actor_label": rng.choice(["public", "system", "dpo"]),
                "action": rng.choice(ACTIONS), "object_type": "crm.contact", "object_id": str(rng.randint(1, 10**6)),
                "summary": "", "changes": {"purpose": "bulletin", "method": "web_form"}, "ip_address": "192.0.2.1",
            }
            digest = entry_digest(prev_hash=prev_hash, **fields)
            batch.append(AuditEntry(prev_hash=prev_hash, entry_hash=digest, **fields))
            prev_hash = digest
        with transaction.atomic():
            created = AuditEntry.objects.bulk_create(batch)
        entry = created[-1]
    last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    AuditHead.objects.update_or_create(pk=AuditHead.SINGLETON_ID,
                                       defaults={"entry_id": last, "entry_hash": entry.entry_hash, "entry_count": n})


def timed(fn, repeats: int) -> tuple[float, object]:
    runs, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(runs), 1), result


def measure(n: int) -> dict:
    from django.contrib.auth.models import AnonymousUser
    from django.core.paginator import Paginator

    from crm.audit import first_broken_link
    from crm.audit_labels import audit_rows
    from crm.staff.selectors import audit_entries
    from crm.staff.views import AUDIT_PAGE_SIZE

    started = time.perf_counter()
    fill(n)
    fill_seconds = time.perf_counter() - started

    verify_ms, broken = timed(first_broken_link, repeats=1)
    assert broken is None, broken
    figures = {"entries": n, "fill_seconds": round(fill_seconds, 1), "verify_ms": verify_ms,
               "verify_entries_per_second": round(n / (verify_ms / 1000))}
    for label, filters in (("all", {}), ("action filter", {"action": "consent.withdrawn"})):
        def page(number, filters=filters):
            paginator = Paginator(audit_entries(**filters), AUDIT_PAGE_SIZE)
            return list(paginator.get_page(number).object_list)
        figures[label] = {
            "count_ms": timed(lambda filters=filters: audit_entries(**filters).count(), repeats=3)[0],
            "first_page_ms": timed(lambda: page(1), repeats=3)[0],
            "page_1000_ms": timed(lambda: page(1000), repeats=3)[0],
        }
    # The page as a data protection lead reads it: labels, object names and details for one page.
    reader = AnonymousUser()
    figures["labelled_first_page_ms"] = timed(lambda: audit_rows(list(Paginator(
        audit_entries(), AUDIT_PAGE_SIZE).get_page(1).object_list), user=reader), repeats=3)[0]
    return figures


def child(size: int) -> dict:
    setup_django(Path(os.environ["MYNHS_VAR_DIR"]))
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return measure(size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    runs = []
    for size in args.sizes:
        figures = run_child(__file__, size)
        runs.append(figures)
        print(f"{size:,} audit entries: fill {figures['fill_seconds']} s; verify {figures['verify_ms'] / 1000:.1f} s "
              f"({figures['verify_entries_per_second']:,} entries/s)")
        for label in ("all", "action filter"):
            f = figures[label]
            print(f"  log page ({label}): count {f['count_ms']} ms, first page {f['first_page_ms']} ms, "
                  f"page 1,000 {f['page_1000_ms']} ms")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "audit", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version},
        "runs": runs,
    }, indent=2) + "\n")
    print(f"Written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
