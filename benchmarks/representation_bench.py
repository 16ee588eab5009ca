"""How fast is the "who are we missing" report (segments.representation.representation) over 1,000,000 contacts?

    .venv/bin/python benchmarks/representation_bench.py                       # 1,000,000 contacts, PostgreSQL
    .venv/bin/python benchmarks/representation_bench.py --contacts 100000 \\
        --database-url postgres://postgres@127.0.0.1:5432/mynhs_repr_bench
    .venv/bin/python benchmarks/representation_bench.py --keep-database    # then, without loading again:
    .venv/bin/python benchmarks/representation_bench.py --existing

PostgreSQL only (the issue's target: under 2 s there). The database (its name must contain "bench")
is dropped if it exists, created, migrated and loaded with COPY: the seeded population of
benchmarks/contact_search_bench.py (contacts, topics, bulletin/events/involvement consent), the
suppressions benchmarks/reachable_bench.py adds (withdrawals, hard bounces, erased addresses), and
on top, from this script (seed 2026):

- ``equality_monitoring`` consent for 85% of contacts (3% of them withdrawn);
- an equality profile for 80% of those with monitoring consent and 20% of those without, each
  drawn exactly as the demo draws one (consent.demo.population: the Sefton census baseline for age,
  sex, ethnic group and religion, national shares for the rest, "prefer not to say" sometimes);
- 30 events, invitations for 4% of contacts (one or two events each, about 35% of them attended),
  and walk-ins (attended without an invitation) for 0.3%.

Then, for each population (reachable, invited, attended), ``representation(population=...)`` is
timed: the first run and the median of 5 warm runs. Its counts are checked against a plain-SQL count
from first principles (granted and no active suppression in the suppression table, for monitoring
and for at least one contact purpose; invitations and attendance from the invitation table), per
characteristic and category, before any timing is trusted: the run stops if they disagree.
Writes benchmarks/results/representation.json.
"""

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results" / "representation.json"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mynhs_he_repr_bench"
SEED = 2026
REPEATS = 5
TARGET_S = 2.0
BATCH = 50_000
POPULATIONS = ("reachable", "invited", "attended")
EVENTS = 30
PROFILE_FIELDS = ("age_band", "sex", "gender_identity", "ethnic_group", "religion", "disability",
                  "sexual_orientation", "pregnancy_maternity", "marital_status", "carer")


def complete(model, columns: tuple, rows: list) -> tuple[tuple, list]:
    """Add the NOT NULL columns a model has beyond those given, with their defaults (the model may grow)."""
    from django.db import connection
    from django.db.models import NOT_PROVIDED, DateTimeField

    missing = [f for f in model._meta.concrete_fields if f.column not in columns and not f.primary_key
               and not f.null and f.db_default is NOT_PROVIDED]
    if not missing:
        return columns, rows
    now = datetime(2026, 11, 23, tzinfo=UTC)
    extra = []
    for f in missing:
        if isinstance(f, DateTimeField):
            extra.append(f.get_db_prep_save(now, connection))
        elif f.get_default() is not None:  # its default, or "" for a blank text field
            extra.append(f.get_db_prep_save(f.get_default(), connection))
        else:
            raise SystemExit(f"{model.__name__}.{f.name} has no default: teach representation_bench.py to fill it")
    return (*columns, *(f.column for f in missing)), [(*row, *extra) for row in rows]


def insert(bench, cursor, model, columns: tuple, rows: list) -> None:
    if rows:
        columns, rows = complete(model, columns, rows)
        bench.insert(cursor, model._meta.db_table, columns, rows)


def load_equality_and_events(bench, n: int) -> dict:
    """Monitoring consent, equality profiles, events and invitations for ``n`` loaded contacts."""
    import contact_search_bench as csb
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from consent.demo.population import Population
    from consent.models import ConsentEvent, ConsentState, ConsentStatement, Purpose
    from crm.models import EqualityProfile
    from segments.models import Event, Invitation

    rng = random.Random(SEED + 1)
    now = datetime(2026, 11, 23, tzinfo=UTC)
    drawer = Population(seed=SEED, now=now, size=n)
    purpose_id = Purpose.objects.get(code=Purpose.Code.EQUALITY_MONITORING).pk
    statement_id = ConsentStatement.objects.filter(purpose_id=purpose_id, published_at__isnull=False).values_list(
        "pk", flat=True).first()
    user = User.objects.create_user("bench-events", "bench-events@example.org", None)
    events = Event.objects.bulk_create([
        Event(title=f"Big Chat {i + 1}", starts_at=now - timedelta(days=7 * (i + 1)),
              ends_at=now - timedelta(days=7 * (i + 1)) + timedelta(hours=2), created_by=user)
        for i in range(EVENTS)])
    event_ids = [e.pk for e in events]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM consent_consentevent")
        event_id = cursor.fetchone()[0]
    counts = {"monitoring_consent": 0, "monitoring_withdrawn": 0, "equality_profiles": 0, "invitations": 0,
              "attended": 0, "walk_ins": 0}
    stamp = csb.stamp(now - timedelta(days=30))
    with connection.cursor() as cursor:
        bench.loading(cursor, done=False)
        for start in range(1, n + 1, BATCH):
            ledger, states, profiles, invitations = [], [], [], []
            for contact_id in range(start, min(n, start + BATCH - 1) + 1):
                consented = rng.random() < 0.85
                if consented:
                    event_id += 1
                    withdrawn = rng.random() < 0.03
                    action = "withdrawn" if withdrawn else "confirmed"
                    ledger.append((event_id, contact_id, purpose_id, action, statement_id, "demo", "system", stamp,
                                   stamp, ""))
                    states.append((contact_id, purpose_id, "withdrawn" if withdrawn else "granted", statement_id,
                                   stamp, event_id))
                    counts["monitoring_withdrawn" if withdrawn else "monitoring_consent"] += 1
                if rng.random() < (0.8 if consented else 0.2):
                    answers = drawer._equality()  # the demo's own draw, census-weighted
                    profiles.append((contact_id, *(answers.get(f, "") for f in PROFILE_FIELDS)))
                if rng.random() < 0.04:
                    for event in rng.sample(event_ids, rng.choice([1, 1, 2])):
                        attended = rng.random() < 0.35
                        invitations.append((event, contact_id, "export", stamp, "yes" if attended else "",
                                            attended))
                        counts["attended"] += attended
                        counts["invitations"] += 1
                elif rng.random() < 0.003:
                    invitations.append((rng.choice(event_ids), contact_id, "walk_in", None, "", True))
                    counts["walk_ins"] += 1
            counts["equality_profiles"] += len(profiles)
            with transaction.atomic():
                insert(bench, cursor, ConsentEvent, csb.EVENT_COLUMNS, ledger)
                insert(bench, cursor, ConsentState, csb.STATE_COLUMNS, states)
                insert(bench, cursor, EqualityProfile, ("contact_id", *PROFILE_FIELDS), profiles)
                insert(bench, cursor, Invitation, ("event_id", "contact_id", "source", "invited_at", "response",
                                                   "attended"), invitations)
            print(f"  equality and invitations: {min(n, start + BATCH - 1):,} contacts", end="\r", flush=True)
        bench.loading(cursor, done=True)
        cursor.execute("SELECT setval(pg_get_serial_sequence('consent_consentevent', 'id'), %s)", [event_id])
    print()
    return counts


def expected_counts(cursor, population: str) -> dict:
    """From first principles, in plain SQL: {characteristic: {raw value: people}} and the total.

    "Reachable" here reads the suppression table itself (not the state's trigger-kept flag): granted
    for a purpose and no active suppression of the address for it."""
    def reachable_for(codes: str) -> str:
        return (f"SELECT st.contact_id FROM consent_consentstate st JOIN consent_purpose p ON p.id = st.purpose_id "
                f"JOIN crm_contact c ON c.id = st.contact_id WHERE p.code IN ({codes}) AND st.status = 'granted' "
                f"AND NOT EXISTS (SELECT 1 FROM consent_suppression s WHERE s.address_hash = c.email_hash "
                f"AND s.purpose_id = p.id AND s.lifted_at IS NULL)")
    if population == "reachable":
        base = reachable_for("'bulletin', 'events', 'involvement'")
    elif population == "invited":
        base = "SELECT contact_id FROM segments_invitation WHERE source <> 'walk_in'"
    else:
        base = "SELECT contact_id FROM segments_invitation WHERE attended"
    people = (f"SELECT c.id, c.locality_id FROM crm_contact c WHERE c.id IN ({base}) "
              f"AND c.id IN ({reachable_for(chr(39) + 'equality_monitoring' + chr(39))})")
    out = {}
    cursor.execute(f"SELECT COUNT(*) FROM ({people}) x")  # noqa: S608 - constants only
    out["total"] = cursor.fetchone()[0]
    cursor.execute(f"SELECT COALESCE(CAST(locality_id AS text), ''), COUNT(*) FROM ({people}) x GROUP BY 1")  # noqa: S608
    out["locality"] = dict(cursor.fetchall())
    for name, column in (("age", "age_band"), ("sex", "sex"), ("ethnic_group", "ethnic_group"),
                         ("religion", "religion"), ("disability", "disability")):
        cursor.execute(f"SELECT COALESCE(e.{column}, ''), COUNT(*) FROM ({people}) x "  # noqa: S608
                       f"LEFT JOIN crm_equalityprofile e ON e.contact_id = x.id GROUP BY 1")
        grouped: dict[str, int] = {}
        for value, count in cursor.fetchall():
            grouped[value] = grouped.get(value, 0) + count
        out[name] = grouped
    return out


def check(tables, expected: dict, population: str) -> None:
    """Roll the first-principles counts up the way the report says it does, and compare every cell."""
    from crm.models import EqualityProfile
    from segments import representation as rep

    for table in tables:
        name = table.characteristic
        raw = expected[name]
        labels = rep._labels(name, rep.CHARACTERISTICS[name][1])
        rolled, unanswered = {}, 0
        for value, count in raw.items():
            if not value or value == EqualityProfile.PREFER_NOT[0]:
                unanswered += count
                continue
            category = rep._roll_up(name, value, labels)
            rolled[category] = rolled.get(category, 0) + count
        got = {c.category: c.count for c in table.cells if c.count}
        if got != rolled or table.not_answered.count != unanswered or table.total != expected["total"]:
            raise SystemExit(f"{population}/{name}: report {got} + {table.not_answered.count} unanswered "
                             f"(total {table.total}) but first principles {rolled} + {unanswered} "
                             f"(total {expected['total']})")


def child(size: int, database_url: str, keep: bool, existing: bool = False) -> dict:
    import contact_search_bench as csb
    import reachable_bench

    directory = Path(tempfile.mkdtemp(prefix="mynhs-repr-bench-"))
    bench = csb.PostgresBench(database_url, keep=keep)
    if not existing:
        bench.create()
    csb.setup_django(bench, directory)
    from django.core.management import call_command
    from django.db import connection

    from segments.representation import representation

    try:
        started = time.perf_counter()
        if existing:  # --existing: a database this script loaded and kept; time it again, no load
            rows, load_s = {"reused": database_url}, None
        else:
            call_command("migrate", verbosity=0)
            reachable_bench.fill_new_columns(bench)
            rows = csb.load(bench, size)
            rows.update(load_equality_and_events(bench, size))
        with connection.cursor() as cursor:
            if not existing:
                rows["suppressions"] = reachable_bench.add_suppressions(bench, cursor)
                bench.analyse(cursor)
                load_s = round(time.perf_counter() - started, 1)
            cursor.execute("SELECT COUNT(*) FROM crm_contact")
            size = cursor.fetchone()[0]
            size_mib = round(bench.size_mib(cursor), 1)
            machine = bench.machine(cursor)
            expected = {p: expected_counts(cursor, p) for p in POPULATIONS}
        timings = {}
        for population in POPULATIONS:
            began = time.perf_counter()
            tables = representation(population=population)
            first = time.perf_counter() - began
            check(tables, expected[population], population)
            runs = []
            for _ in range(REPEATS):
                began = time.perf_counter()
                representation(population=population)
                runs.append(time.perf_counter() - began)
            timings[population] = {"people": tables[0].total, "first_s": round(first, 3),
                                   "median_s": round(statistics.median(runs), 3),
                                   "runs_s": [round(r, 3) for r in runs]}
            print(f"  {population}: {timings[population]}", flush=True)
        return {"contacts": size, "timings": timings, "target_s": TARGET_S, "load_s": load_s, "rows": rows,
                "database_mib": size_mib, "counts_checked": "every cell, against plain SQL",
                "machine": {**machine, "python": platform.python_version(), "cpus": os.cpu_count()}}
    finally:
        bench.drop()


def main() -> None:
    if "--child" in sys.argv:
        args = sys.argv[sys.argv.index("--child") + 1:]
        print(json.dumps(child(int(args[0]), args[1], args[2] != "drop", args[2] == "existing")))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--existing", action="store_true",
                        help="time again on a database kept by --keep-database (no load; kept again)")
    args = parser.parse_args()
    uptime_before = Path("/proc/loadavg").read_text().split()[:3]
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH"}}
    env.update(MYNHS_ENV="demo")
    command = [sys.executable, __file__, "--child", str(args.contacts), args.database_url,
               "existing" if args.existing else "keep" if args.keep_database else "drop"]
    print(f"representation report over {args.contacts:,} contacts on PostgreSQL"
          f"{' (kept database)' if args.existing else ' (load first)'} …", flush=True)
    result = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"failed:\n{result.stdout[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    if args.existing and RESULTS.exists():  # the load's figures are those of the run that loaded it
        loaded = json.loads(RESULTS.read_text())
        figures.update(rows=loaded.get("rows"), load_s=loaded.get("load_s"), loaded_run=loaded.get("timings"),
                       loaded_run_load_average=[loaded.get("load_average_before"), loaded.get("load_average_after")])
    figures["load_average_before"] = uptime_before
    figures["load_average_after"] = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\n{'population':>10} {'people':>9} {'first s':>8} {'median s':>9}  (target under {TARGET_S} s)")
    for population, t in figures["timings"].items():
        print(f"{population:>10} {t['people']:>9,} {t['first_s']:>8} {t['median_s']:>9}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"Wrote {RESULTS.relative_to(ROOT)} (load average before {' '.join(uptime_before)}, "
          f"after {' '.join(figures['load_average_after'])})")


if __name__ == "__main__":
    main()
