"""How fast is "how many people can we email?" (consent.selectors.contacts_reachable_for(...).count())?

    .venv/bin/python benchmarks/reachable_bench.py                      # 100,000 and 1,000,000, SQLite
    .venv/bin/python benchmarks/reachable_bench.py --sizes 100000 \\
        --database-url postgres://postgres@127.0.0.1:5432/mynhs_reach_bench   # and PostgreSQL too
    .venv/bin/python benchmarks/reachable_bench.py --peer 100000        # run the peer's harness beside it

Each (database, size) runs in a fresh process on a fresh, migrated database, loaded in bulk with the
seeded population of benchmarks/contact_search_bench.py (contacts, topics, consent events and
states: 75% asked for the bulletin, 6% of them withdrew). Then suppressions are added with plain
INSERT … SELECT, as the triggers will see them in life: one for every withdrawal, a hard bounce for
2% of all contacts (most of them still granted: the "granted but suppressed" case), and 2% more for
addresses nobody holds (erased people). Statistics are gathered (ANALYZE / VACUUM ANALYZE).

Timed, each the median of 7 warm runs (the first run is reported too):
- ``count``: ``contacts_reachable_for(purpose="bulletin").count()``, through the ORM;
- ``count_before``: the same answer by the query this replaced (EXISTS on the state joined to
  Purpose by code, NOT EXISTS on the suppression table, per contact);
- ``batch_recheck``: ``reachable_contact_ids`` for 500 ids (the sender's re-check of one batch).
The two counts must agree, and must equal the figure computed from the load itself: the run stops
otherwise. The query plan of the count is recorded.

The peer, django-newsletter 1.2.1 (/work/shared/peer-bench), counts its audience with
``newsletter.get_subscriptions().count()`` (one flag, no suppression check). Its README measured
14.5 ms (min of 5) at 100,000 subscribers on this machine; ``--peer N`` runs its own harness's
setup phase at N subscribers (165 s at 100,000: it saves one row per commit) and reports its count.

Prints a table and writes benchmarks/results/reachable.json.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results" / "reachable.json"
PEER_DIR = Path("/work/shared/peer-bench")
PEER_README_COUNT_MS = {"subscribers": 100_000, "first_ms": 26.7, "min_of_5_ms": 14.5}
REPEATS = 7
TARGET_MS = {100_000: 15, 1_000_000: 150}


def timed(fn) -> tuple[float, float, object]:
    started = time.perf_counter()
    result = fn()
    first = (time.perf_counter() - started) * 1000
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - started) * 1000)
    return round(first, 2), round(statistics.median(runs), 2), result


def add_suppressions(bench, cursor) -> dict:
    """Suppressions as life makes them, written by plain SQL so the database triggers do the rest."""
    now = "2026-11-23 12:00:00"
    true = "true" if bench.vendor == "postgresql" else "1"
    cursor.execute(
        "INSERT INTO consent_suppression (address_hash, key_id, purpose_id, reason, created_at) "
        "SELECT c.email_hash, 'v1', st.purpose_id, 'withdrawal', %s FROM consent_consentstate st "
        "JOIN crm_contact c ON c.id = st.contact_id WHERE st.status = 'withdrawn'", [now])
    withdrawals = cursor.rowcount
    cursor.execute(
        "INSERT INTO consent_suppression (address_hash, key_id, purpose_id, reason, created_at) "
        "SELECT c.email_hash, 'v1', p.id, 'hard_bounce', %s FROM crm_contact c, consent_purpose p "
        "WHERE p.code = 'bulletin' AND c.id %% 50 = 7 AND NOT EXISTS (SELECT 1 FROM consent_suppression s "
        "WHERE s.address_hash = c.email_hash AND s.purpose_id = p.id AND s.lifted_at IS NULL)", [now])
    bounces = cursor.rowcount
    cursor.execute(
        "INSERT INTO consent_suppression (address_hash, key_id, purpose_id, reason, created_at) "
        "SELECT 'z' || substr(c.email_hash, 2), 'v1', p.id, 'erasure', %s FROM crm_contact c, consent_purpose p "
        "WHERE p.code = 'bulletin' AND c.id %% 50 = 11", [now])
    erased = cursor.rowcount
    cursor.execute(f"SELECT COUNT(*) FROM consent_consentstate WHERE suppressed = {true}")  # noqa: S608
    flagged = cursor.fetchone()[0]
    return {"withdrawal": withdrawals, "hard_bounce": bounces, "erased_addresses": erased,
            "state_rows_flagged_by_triggers": flagged}


def expected_reachable(cursor) -> int:
    """The answer from first principles, in plain SQL: granted for bulletin, no active suppression."""
    cursor.execute(
        "SELECT COUNT(*) FROM crm_contact c JOIN consent_consentstate st ON st.contact_id = c.id "
        "JOIN consent_purpose p ON p.id = st.purpose_id WHERE p.code = 'bulletin' AND st.status = 'granted' "
        "AND NOT EXISTS (SELECT 1 FROM consent_suppression s WHERE s.address_hash = c.email_hash "
        "AND s.purpose_id = p.id AND s.lifted_at IS NULL)")
    return cursor.fetchone()[0]


def count_before():
    """The query contacts_reachable_for ran before this change, for the before/after figure."""
    from django.db.models import Exists, OuterRef

    from consent.models import ConsentState, Suppression
    from crm.models import Contact

    granted = ConsentState.objects.filter(contact=OuterRef("pk"), purpose__code="bulletin", status="granted")
    suppressed = Suppression.objects.filter(address_hash=OuterRef("email_hash"), purpose__code="bulletin",
                                            lifted_at__isnull=True)
    return Contact.objects.filter(Exists(granted)).exclude(Exists(suppressed)).count()


def fill_new_columns(bench) -> None:
    """contact_search_bench writes the columns it knows of; a NOT NULL column added to a table since
    (with a Python default only) gets its default here, so the load keeps working as models grow."""
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    from consent.models import ConsentEvent, ConsentState
    from crm.models import CommunicationNeed, Contact

    models = {m._meta.db_table: m for m in (Contact, ConsentEvent, ConsentState, CommunicationNeed)}
    insert = bench.insert

    def complete(cursor, table, columns, rows, **kwargs):
        model = models.get(table)
        missing = [f for f in model._meta.concrete_fields if f.column not in columns and not f.null
                   and f.db_default is NOT_PROVIDED and f.has_default()] if model else []
        if missing:
            columns = (*columns, *(f.column for f in missing))
            rows = [(*row, *(f.get_db_prep_save(f.get_default(), connection) for f in missing)) for row in rows]
        insert(cursor, table, columns, rows, **kwargs)

    bench.insert = complete


def child(vendor: str, size: int, database_url: str | None) -> dict:
    import contact_search_bench as csb

    directory = Path(tempfile.mkdtemp(prefix="mynhs-reach-bench-"))
    bench = csb.PostgresBench(database_url) if vendor == "postgresql" else csb.SQLiteBench(directory)
    bench.create()
    csb.setup_django(bench, directory)
    from django.core.management import call_command
    from django.db import connection

    from consent.selectors import contacts_reachable_for, reachable_contact_ids

    try:
        call_command("migrate", verbosity=0)
        fill_new_columns(bench)
        started = time.perf_counter()
        rows = csb.load(bench, size)
        with connection.cursor() as cursor:
            suppressions = add_suppressions(bench, cursor)
            bench.analyse(cursor)
            expected = expected_reachable(cursor)
            load_s = round(time.perf_counter() - started, 1)
            qs = contacts_reachable_for(purpose="bulletin")
            sql, params = qs._reachable_states.query.sql_with_params()
            cursor.execute(f"{bench.explain} SELECT COUNT(*) FROM ({sql}) counted", params)
            plan = [" ".join(str(part) for part in row) for row in cursor.fetchall()]
            size_mib = round(bench.size_mib(cursor), 1)
            machine = bench.machine(cursor)
        first, median, ours = timed(lambda: contacts_reachable_for(purpose="bulletin").count())
        before_first, before_median, theirs = timed(count_before)
        batch = list(range(1, size + 1, max(1, size // 500)))[:500]
        _, batch_ms, _ = timed(lambda: reachable_contact_ids(contact_ids=batch, purpose="bulletin"))
        if not ours == theirs == expected:
            raise SystemExit(f"counts disagree: new {ours}, before {theirs}, from first principles {expected}")
        return {"database": vendor, "contacts": size, "reachable": ours, "count_first_ms": first,
                "count_ms": median, "count_before_first_ms": before_first, "count_before_ms": before_median,
                "batch_recheck_500_ms": batch_ms, "target_ms": TARGET_MS.get(size), "load_s": load_s,
                "rows": rows, "suppressions": suppressions, "database_mib": size_mib, "count_plan": plan,
                "machine": machine}
    finally:
        bench.drop()


def run_child(vendor: str, size: int, database_url: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH"}}
    env.update(MYNHS_ENV="demo")  # the embedded default, as benchmarks/fresh_process.py runs it
    command = [sys.executable, __file__, "--child", vendor, str(size)]
    if database_url:
        command += ["--database-url", database_url]
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{vendor} at {size:,} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_peer(subscribers: int) -> dict:
    """The peer harness's own setup phase (create N subscribers, then time the count), in its venv."""
    venv = Path(os.environ.get("PEER_VENV", Path(tempfile.gettempdir()) / "peer-bench-venv"))
    subprocess.run([str(PEER_DIR / "setup.sh")], check=True, capture_output=True)
    with tempfile.TemporaryDirectory(prefix="peer-bench-") as workdir:
        python = str(venv / "bin" / "python")
        subprocess.run([python, "-c", f"import sys; sys.path.insert(0, {str(PEER_DIR)!r}); "
                        f"import django_newsletter_bench as b; b.write_project({workdir!r})"], check=True)
        result = subprocess.run([python, str(PEER_DIR / "django_newsletter_bench.py"), "--phase", "setup",
                                 "--workdir", workdir, "--subscribers", str(subscribers)],
                                capture_output=True, text=True, check=True)
    setup = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    return {"subscribers": subscribers, **setup["count"], "create_s": setup["create"]["total_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--database-url", help="also run on this PostgreSQL database (name must contain 'bench')")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--peer", type=int, default=0, help="run the peer harness at this many subscribers")
    parser.add_argument("--child", nargs=2, metavar=("VENDOR", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), args.database_url)))
        return
    vendors = ([] if args.no_sqlite else ["sqlite"]) + (["postgresql"] if args.database_url else [])
    runs = []
    for vendor in vendors:
        for size in args.sizes:
            print(f"{vendor} at {size:,} contacts …", flush=True)
            runs.append(run_child(vendor, size, args.database_url))
            print(f"  reachable {runs[-1]['reachable']:,}: {runs[-1]['count_ms']} ms (before: "
                  f"{runs[-1]['count_before_ms']} ms)", flush=True)
    peer = run_peer(args.peer) if args.peer else None
    print(f"\n{'database':<11}{'contacts':>11}{'reachable':>11}{'count ms':>10}{'before ms':>11}"
          f"{'target':>8}{'500-id recheck ms':>19}")
    for run in runs:
        print(f"{run['database']:<11}{run['contacts']:>11,}{run['reachable']:>11,}{run['count_ms']:>10}"
              f"{run['count_before_ms']:>11}{run['target_ms'] or '-':>8}{run['batch_recheck_500_ms']:>19}")
    print(f"peer django-newsletter, README: {PEER_README_COUNT_MS['min_of_5_ms']} ms at "
          f"{PEER_README_COUNT_MS['subscribers']:,} (min of 5; {PEER_README_COUNT_MS['first_ms']} ms first)")
    if peer:
        print(f"peer django-newsletter, this run: {peer['min_of_5_ms']} ms at {peer['subscribers']:,} "
              f"(min of 5; {peer['first_ms']} ms first)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    merged = {f"{r['database']}:{r['contacts']}": r for r in previous.get("runs", [])}
    merged.update({f"{r['database']}:{r['contacts']}": r for r in runs})
    RESULTS.write_text(json.dumps({
        "runs": sorted(merged.values(), key=lambda r: (r["database"], r["contacts"])),
        "peer_readme": PEER_README_COUNT_MS, "peer_this_run": peer or previous.get("peer_this_run"),
        "python": platform.python_version(), "cpus": os.cpu_count(),
    }, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
