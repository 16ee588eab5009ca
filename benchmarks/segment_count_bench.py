"""How long does counting a segment take at a million contacts? (segments.selectors.count_segment)

    .venv/bin/python benchmarks/segment_count_bench.py                       # 1,000,000, SQLite
    .venv/bin/python benchmarks/segment_count_bench.py --contacts 100000
    .venv/bin/python benchmarks/segment_count_bench.py \\
        --database-url postgres://postgres@127.0.0.1:5432/mynhs_segment_bench   # PostgreSQL
    # PostgreSQL at 1,000,000 without the demo loader's hours: the COPY-loaded database that
    # representation_bench.py --keep-database leaves (contacts, topics, consents, needs, equality
    # profiles, events, invitations, suppressions), counted and kept:
    .venv/bin/python benchmarks/segment_count_bench.py --existing-database \\
        --database-url postgres://postgres@127.0.0.1:5432/mynhs_he_repr_bench

A fresh database (a temporary SQLite file, or a PostgreSQL database whose name must contain
"bench", dropped first and at the end), migrated and filled by the demo loader (contacts with
localities, topics, communication needs, equality answers, the consent ledger and states,
suppressions). Then each segment below is counted several times, warm: the figure is the median
of the whole ``count_segment`` call — the matching count plus the reachable-for-events and
reachable-for-bulletin counts the rule builder shows. The target (issue 9): under 1 s at 1,000,000
on SQLite and PostgreSQL, with the rules that hit the most tables. Writes
benchmarks/results/segment_count[_postgresql].json.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
REPEATS = 5

SEGMENTS = {
    "one locality": {"version": 1, "match": "all", "rules": [
        {"field": "locality", "op": "in", "value": ["bootle"]}]},
    "most tables": {"version": 1, "match": "all", "rules": [
        {"field": "locality", "op": "in", "value": ["bootle", "seaforth-litherland"]},
        {"field": "topics", "op": "any", "value": ["dementia", "mental-health"]},
        {"field": "purpose", "op": "reachable", "value": "events"},
        {"field": "communication_need", "op": "none", "value": ["braille"]},
        {"field": "signed_up", "op": "on_or_after", "value": "2020-01-01"},
        {"match": "any", "rules": [
            {"field": "age_band", "op": "in", "value": ["70-79", "80+"]},
            {"field": "disability", "op": "in", "value": ["yes_a_lot", "yes_a_little"]},
            {"field": "kind", "op": "in", "value": ["carer"]},
        ]},
    ]},
    "all of two topics, not invited": {"version": 1, "match": "all", "rules": [
        {"field": "topics", "op": "all", "value": ["dementia", "mental-health"]},
        {"field": "event", "op": "not_invited", "value": [1]},
    ]},
}


def _postgres_setup(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit("The PostgreSQL database name must contain 'bench' (it is dropped and re-created)")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _postgres_drop(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}"')


def run(contacts: int, database_url: str | None, *, existing: str | None = None, keep: bool = False,
        existing_database: bool = False) -> dict:
    var_dir = existing or tempfile.mkdtemp(prefix="mynhs-segbench-")
    if existing_database:
        existing, keep = var_dir, True
    os.environ.update(MYNHS_VAR_DIR=var_dir, MYNHS_ENV="demo", DJANGO_SETTINGS_MODULE="crm.settings")
    os.environ.pop("REDIS_URL", None)
    if database_url:
        if not existing:
            _postgres_setup(database_url)
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection

    from crm.audit import Actor
    from segments.models import Event
    from segments.selectors import count_segment

    call_command("migrate", verbosity=0)
    load_seconds = None
    if existing:  # re-time a database kept by an earlier run (no reload)
        user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
            "bench", "bench@example.org", "x")
        if not Event.objects.filter(pk=1).exists():
            Event.objects.create(title="Bench Big Chat", starts_at="2026-03-12T10:00Z",
                                 ends_at="2026-03-12T12:00Z", created_by=user, pk=1)
    else:
        started = time.perf_counter()
        call_command("load_demo", contacts=contacts, seed=2026, verbosity=0)
        load_seconds = round(time.perf_counter() - started, 1)
        user = User.objects.create_superuser("bench", "bench@example.org", "x")  # holds the equality permission
        Event.objects.create(title="Bench Big Chat", starts_at="2026-03-12T10:00Z", ends_at="2026-03-12T12:00Z",
                             created_by=user, pk=1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    actor = Actor.staff(user)
    if existing:
        from crm.models import Contact

        contacts = Contact.objects.count()
    figures = {}
    for name, rules in SEGMENTS.items():
        count_segment(rules=rules, actor=actor)  # warm
        times, result = [], None
        for _ in range(REPEATS):
            start = time.perf_counter()
            result = count_segment(rules=rules, actor=actor)
            times.append(time.perf_counter() - start)
        figures[name] = {
            "median_ms": round(statistics.median(times) * 1000, 1), "max_ms": round(max(times) * 1000, 1),
            "matching": result.matching, "reachable_for_events": result.reachable_for_events,
            "reachable_for_bulletin": result.reachable_for_bulletin,
        }
        print(f"  {name:34} {figures[name]['median_ms']:>8.1f} ms median  "
              f"(matching {result.matching:,}, events {result.reachable_for_events:,})", flush=True)
    connection.close()
    if keep:
        print(f"Kept the database: --existing {var_dir}" + (f" --database-url {database_url}" if database_url else ""))
    elif database_url:
        _postgres_drop(database_url)
    return {"vendor": "postgresql" if database_url else "sqlite", "contacts": contacts,
            "load_seconds": load_seconds, "segments": figures, "target_ms": 1000,
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the loaded database and print how to re-time it")
    parser.add_argument("--existing", metavar="VAR_DIR", help="re-time a database an earlier --keep run left")
    parser.add_argument("--existing-database", action="store_true",
                        help="count on the PostgreSQL database --database-url names as it is (no load, kept)")
    args = parser.parse_args()
    if args.existing_database and not args.database_url:
        parser.error("--existing-database needs --database-url")
    print(f"Segment count on {'PostgreSQL' if args.database_url else 'SQLite'}: "
          + (f"re-timing the database in {args.existing or args.database_url}"
             if args.existing or args.existing_database
             else f"{args.contacts:,} contacts (loading demo data first)"), flush=True)
    result = run(args.contacts, args.database_url, existing=args.existing, keep=args.keep,
                 existing_database=args.existing_database)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    suffix = "_postgresql" if args.database_url else ""
    out = RESULTS_DIR / f"segment_count{suffix}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
