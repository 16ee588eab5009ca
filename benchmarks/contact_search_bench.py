"""How fast is staff contact search at a million contacts? (consent.search, keyset pagination.)

    .venv/bin/python benchmarks/contact_search_bench.py                   # 1,000,000 contacts, SQLite
    .venv/bin/python benchmarks/contact_search_bench.py --contacts 100000
    .venv/bin/python benchmarks/contact_search_bench.py \\
        --database-url postgres://postgres@127.0.0.1:5432/mynhs_search_bench   # PostgreSQL

Builds a fresh database, migrates it, bulk-loads the contacts (plus topics, consent events and
states, communication needs: the same seeded population on either database), then times each
filter the staff page offers: the first page, the tenth page reached by following "next" links,
a deep page (seeking near the oldest record), and the capped count shown above the results. Each
figure is the median of several runs, warm cache.

By default the database is a temporary SQLite file (the embedded default, WAL mode), loaded with
plain ``executemany`` in batches. With ``--database-url`` it is a PostgreSQL database, created
fresh (dropped first if it exists; its name must contain "bench") and dropped at the end, loaded
with COPY, then vacuumed and analysed (``--keep-database`` leaves it behind, to study with psql).

It then adds the candidate indexes, if any (``candidate_indexes`` of SQLiteBench and
PostgresBench), and times everything again, so the effect of each is visible before anyone
proposes it for the schema. Prints a table and writes benchmarks/results/contact_search.json
(SQLite) or contact_search_postgresql.json. The query plans (page and count) are recorded too.
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
SEED = 2026
BATCH = 50_000
REPEATS = 5

FIRST_NAMES = ["Olivia", "Amelia", "Isla", "Ava", "Mia", "Grace", "Freya", "Lily", "Emily", "Sophie", "Ella",
               "Jack", "Oliver", "Harry", "George", "Noah", "Leo", "Jacob", "Thomas", "James", "Joseph", "John",
               "Margaret", "Patricia", "Susan", "David", "Peter", "Paul", "Mary", "Anne", "Catherine", "Michael",
               "Zebedee"]
RARE_FIRST_NAME = "Zebedee"
SURNAMES = ["Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
            "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
            "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill",
            "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen", "Murphy",
            "Kelly", "Doherty", "McDonald", "Byrne", "Quayle", "Zielinski"]
RARE_SURNAME = "Zielinski"
ONE_PERSON = f"{RARE_FIRST_NAME} {RARE_SURNAME}".lower()  # about 4 in a million
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

CONTACT_COLUMNS = ("id", "public_id", "email", "email_normalised", "email_hash", "name", "postcode", "locality_id",
                   "kind", "organisation_id", "preferred_language", "source", "confirmed_at", "created_at",
                   "updated_at")
EVENT_COLUMNS = ("id", "contact_id", "purpose_id", "action", "statement_id", "method", "recorded_by_label",
                 "occurred_at", "recorded_at", "evidence_reference")
STATE_COLUMNS = ("contact_id", "purpose_id", "status", "statement_id", "since", "last_event_id")


class SQLiteBench:
    """The embedded default: a temporary SQLite file in WAL mode."""

    vendor = "sqlite"
    results = RESULTS_DIR / "contact_search.json"
    explain = "EXPLAIN QUERY PLAN"
    # Indexes worth measuring, added to this script's own database for a second round of timings,
    # before anyone proposes them for the schema. None left here: LOWER(name), measured here
    # before, is in the schema (crm migration 0004) since a whole-name prefix took 140 ms without it.
    candidate_setup: list[str] = []
    candidate_indexes: dict[str, str] = {}

    def __init__(self, directory: Path):
        self.database = directory / "bench.sqlite3"
        self.where = str(directory)

    def environment(self) -> dict:
        return {"SQLITE_PATH": str(self.database)}

    def create(self) -> None:
        pass  # the file appears when Django first connects

    def drop(self) -> None:
        pass  # the temporary folder goes, and the file with it

    def loading(self, cursor, *, done: bool) -> None:
        # Every row loaded is valid; checking each foreign key is slow.
        cursor.execute("PRAGMA foreign_keys=ON" if done else "PRAGMA foreign_keys=OFF")

    def insert(self, cursor, table: str, columns: tuple, rows: list, *, ignore_conflicts: bool = False) -> None:
        verb = "INSERT OR IGNORE" if ignore_conflicts else "INSERT"
        cursor.executemany(f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['?'] * len(columns))})",
                           rows)

    def analyse(self, cursor) -> None:
        cursor.execute("ANALYZE")  # what a long-running database would have: planner statistics

    def size_mib(self, cursor) -> float:
        return sum(p.stat().st_size for p in self.database.parent.glob(self.database.name + "*")) / 2**20

    def machine(self, cursor) -> dict:
        return {"sqlite": __import__("sqlite3").sqlite_version}


class PostgresBench:
    """A PostgreSQL database made for the run, at ``url`` (its name must contain "bench": it is dropped)."""

    vendor = "postgresql"
    results = RESULTS_DIR / "contact_search_postgresql.json"
    explain = "EXPLAIN"
    # A trigram index answers "name contains" (Django's icontains: UPPER(name::text) LIKE UPPER(…))
    # from the index instead of reading the table, but it needs the pg_trgm extension (trusted
    # since PostgreSQL 13: a role with CREATE on the database can add it; else a superuser must),
    # so it is measured here and not in the migrations.
    candidate_setup = ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]
    candidate_indexes = {
        "contact_name_trgm_idx": "CREATE INDEX contact_name_trgm_idx ON crm_contact"
                                 " USING gin (UPPER(name::text) gin_trgm_ops)",
    }

    def __init__(self, url: str, *, keep: bool = False):
        parts = urlsplit(url)
        self.url, self.name, self.keep = url, parts.path.lstrip("/"), keep
        if not parts.scheme.startswith("postgres"):
            raise SystemExit(f"--database-url must be a postgres:// URL, not {parts.scheme}://")
        if "bench" not in self.name:
            raise SystemExit(f"refusing to use {self.name!r}: it is dropped first, so its name must contain 'bench'")
        self.server = urlunsplit(parts._replace(path="/postgres"))  # to create and drop it from
        self.where = f"PostgreSQL database {self.name} on {parts.hostname}:{parts.port or 5432}"

    def environment(self) -> dict:
        return {"DATABASE_URL": self.url}

    def _admin(self, statement: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.server, autocommit=True) as admin:
            admin.execute(sql.SQL(statement).format(sql.Identifier(self.name)))

    def create(self) -> None:
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self._admin("CREATE DATABASE {}")

    def drop(self) -> None:
        from django.db import connections

        connections.close_all()
        if self.keep:
            print(f"Kept {self.where} (--keep-database)")
            return
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")

    def loading(self, cursor, *, done: bool) -> None:
        # The equivalent of PRAGMA foreign_keys=OFF: no foreign-key (or other) triggers fire for the
        # rows loaded, all of them valid. Needs a superuser, which this throwaway database has.
        cursor.execute(f"SET session_replication_role = {'DEFAULT' if done else 'replica'}")

    def insert(self, cursor, table: str, columns: tuple, rows: list, *, ignore_conflicts: bool = False) -> None:
        if ignore_conflicts:  # COPY cannot skip a row; the few rows that may conflict go through INSERT
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES"
                               f" ({', '.join(['%s'] * len(columns))}) ON CONFLICT DO NOTHING", rows)
            return
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def analyse(self, cursor) -> None:
        # What a long-running database would have: planner statistics, and (as autovacuum would
        # leave it) a visibility map, so index-only scans need not visit the table. Done now so that
        # autovacuum does not start in the middle of the timings.
        cursor.execute("VACUUM ANALYZE")

    def size_mib(self, cursor) -> float:
        cursor.execute("SELECT pg_database_size(current_database())")
        return cursor.fetchone()[0] / 2**20

    def machine(self, cursor) -> dict:
        import psycopg

        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0]
        cursor.execute("SELECT name, current_setting(name) FROM pg_settings WHERE name IN"
                       " ('shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'jit',"
                       " 'max_parallel_workers_per_gather', 'lc_collate') ORDER BY name")
        return {"postgresql": version, "postgresql_settings": dict(cursor.fetchall()), "psycopg": psycopg.__version__}


def setup_django(bench, directory: Path) -> None:
    os.environ["MYNHS_VAR_DIR"] = str(directory)
    for variable in ("DATABASE_URL", "SQLITE_PATH", "REDIS_URL"):
        os.environ.pop(variable, None)
    os.environ.update(bench.environment())
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")  # UTC: Django's connections to either database are in UTC


def load(bench, n: int) -> dict:
    """Bulk-load ``n`` contacts and what hangs off them. Returns row counts."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from consent.models import ConsentEvent, ConsentStatement, Purpose
    from crm.models import Contact, Locality, Organisation, PostcodeDistrict, Topic
    from crm.normalise import address_hash

    rng = random.Random(SEED)
    districts = list(PostcodeDistrict.objects.values_list("code", "locality_id"))
    topic_ids = list(Topic.objects.values_list("pk", flat=True))
    purposes = dict(Purpose.objects.values_list("code", "pk"))
    statements = {s.purpose_id: s.pk for s in ConsentStatement.objects.filter(published_at__isnull=False)}
    kinds = ["public"] * 80 + ["carer"] * 10 + ["patient_rep"] * 5 + ["partner"] * 3 + ["practice_staff"] * 2
    needs = ["large_print"] * 5 + ["easy_read"] * 4 + ["braille"] + ["bsl"] * 2 + ["plain_text_email"] * 8
    with transaction.atomic():
        Organisation.objects.bulk_create(
            [Organisation(name=f"Organisation {i:03d}", kind="voluntary") for i in range(200)])
    organisation_ids = list(Organisation.objects.values_list("pk", flat=True))
    assert Locality.objects.exists() and districts and topic_ids

    now = datetime(2026, 11, 23, tzinfo=UTC)
    counts = {"contacts": 0, "topic_links": 0, "consent_events": 0, "consent_states": 0, "needs": 0}
    event_id = 0
    with connection.cursor() as cursor:
        bench.loading(cursor, done=False)
        for start in range(0, n, BATCH):
            contacts, links, events, states, need_rows = [], [], [], [], []
            for i in range(start + 1, min(n, start + BATCH) + 1):
                first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
                if first == RARE_FIRST_NAME and rng.random() < 0.9:
                    first = "Olivia"  # keep the rare names rare (about 0.2% each)
                if last == RARE_SURNAME and rng.random() < 0.9:
                    last = "Smith"
                email = f"{first}.{last}.{i}@example.org".lower()
                code, locality_id = rng.choice(districts)
                created = now - timedelta(minutes=(n - i) * 2)
                organisation = rng.choice(organisation_ids) if rng.random() < 0.05 else None
                contacts.append((
                    i, uuid.UUID(int=rng.getrandbits(128)).hex, email, email, address_hash(email), f"{first} {last}",
                    f"{code} {rng.randint(1, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}",
                    locality_id, rng.choice(kinds), organisation, "English", "demo", stamp(created), stamp(created),
                    stamp(created),
                ))
                for topic in rng.sample(topic_ids, rng.choice([0, 1, 1, 2, 2, 3])):
                    links.append((i, topic))
                for code_, share, withdrawn_share in (("bulletin", 0.75, 0.06), ("events", 0.2, 0.1),
                                                     ("involvement", 0.1, 0.1)):
                    if rng.random() < share:
                        event_id += 1
                        purpose_id = purposes[code_]
                        action = "withdrawn" if rng.random() < withdrawn_share else "confirmed"
                        events.append((event_id, i, purpose_id, action, statements[purpose_id], "demo", "system",
                                       stamp(created), stamp(created), ""))
                        status = "withdrawn" if action == "withdrawn" else "granted"
                        states.append((i, purpose_id, status, statements[purpose_id], stamp(created), event_id))
                if rng.random() < 0.04:
                    need_rows.append((i, rng.choice(needs), ""))
            with transaction.atomic():
                bench.insert(cursor, "crm_contact", CONTACT_COLUMNS, contacts)
                bench.insert(cursor, "crm_contact_topics", ("contact_id", "topic_id"), links)
                bench.insert(cursor, "consent_consentevent", EVENT_COLUMNS, events)
                bench.insert(cursor, "consent_consentstate", STATE_COLUMNS, states)
                bench.insert(cursor, "crm_communicationneed", ("contact_id", "need", "detail"), need_rows,
                             ignore_conflicts=True)
            for key, rows in (("contacts", contacts), ("topic_links", links), ("consent_events", events),
                              ("consent_states", states), ("needs", need_rows)):
                counts[key] += len(rows)
            print(f"  loaded {counts['contacts']:,} contacts", end="\r", flush=True)
        bench.loading(cursor, done=True)
        # Ids were given explicitly: move the sequences past them (PostgreSQL's setval; nothing on SQLite).
        for sql in connection.ops.sequence_reset_sql(no_style(), [Contact, ConsentEvent]):
            cursor.execute(sql)
        bench.analyse(cursor)
    print()
    return counts


def scenarios() -> dict:
    from consent.search import ContactFilters
    from crm.models import Contact, Locality, Organisation, Topic

    sample = Contact.objects.order_by("-pk").values_list("email_normalised", flat=True)[12345]
    maghull = Locality.objects.get(name="Maghull").pk
    dementia = Topic.objects.get(name="Dementia").pk
    organisation = Organisation.objects.order_by("pk").values_list("pk", flat=True).first()
    return {
        "no filter": ContactFilters(),
        "name starts with (common: 'oli')": ContactFilters(name="oli", name_match="prefix"),
        "name starts with (rare: 'zebed')": ContactFilters(name=RARE_FIRST_NAME[:5].lower(), name_match="prefix"),
        "name contains (common: 'son')": ContactFilters(name="son"),
        "name contains (rare: 'zielin')": ContactFilters(name=RARE_SURNAME[:6].lower()),
        "email exact": ContactFilters(email=sample),
        "email starts with ('olivia.sm')": ContactFilters(email="olivia.sm"),
        "postcode starts with ('L20 3')": ContactFilters(postcode="L20 3"),
        "locality (Maghull)": ContactFilters(locality=maghull),
        "topic (Dementia)": ContactFilters(topic=dementia),
        "bulletin granted": ContactFilters(purpose="bulletin", purpose_state="granted"),
        "events withdrawn": ContactFilters(purpose="events", purpose_state="withdrawn"),
        "involvement never asked": ContactFilters(purpose="involvement", purpose_state="none"),
        "kind (partner)": ContactFilters(kind="partner"),
        "organisation (one)": ContactFilters(organisation=organisation),
        "need (braille)": ContactFilters(need="braille"),
        "locality + topic + bulletin granted": ContactFilters(locality=maghull, topic=dementia, purpose="bulletin",
                                                              purpose_state="granted"),
        # One person's whole name, as staff most often search: a handful match, so a scan reads every row.
        f"name starts with (few: '{ONE_PERSON}')": ContactFilters(name=ONE_PERSON, name_match="prefix"),
        f"name contains (few: '{ONE_PERSON}')": ContactFilters(name=ONE_PERSON),
    }


def timed(fn) -> tuple[float, object]:
    runs, result = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(runs), 2), result


def plan(bench, filters, after=None, *, count=False) -> list[str]:
    """The plan of the page query search_contacts runs (or of capped_count's query)."""
    from django.db import connection

    from consent.search import count_queryset, search_queryset

    if count:
        sql, params = count_queryset(filters).query.sql_with_params()
        sql = f"SELECT COUNT(*) FROM ({sql}) subquery"  # as QuerySet.count() wraps a sliced query
    else:
        sql, params = search_queryset(filters, after=after).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{bench.explain} {sql}", params)
        return [row[-1] for row in cursor.fetchall()]


def measure_all(bench, label: str) -> dict:
    from consent.search import capped_count, search_contacts

    results = {}
    print(f"\n{label}")
    print(f"{'filter':46} {'page 1':>9} {'page 10':>9} {'deep':>9} {'count≤1000':>11}  matches")
    for name, filters in scenarios().items():
        first_ms, page = timed(lambda f=filters: search_contacts(f))
        cursor, tenth_ms = page.next_after, 0.0
        for _ in range(9):  # follow "next" nine times, timing each hop
            if cursor is None:
                break
            hop_ms, hop = timed(lambda f=filters, c=cursor: search_contacts(f, after=c))
            tenth_ms, cursor = hop_ms, hop.next_after
        deep_ms, _ = timed(lambda f=filters: search_contacts(f, after=5000))
        count_ms, (count, capped) = timed(lambda f=filters: capped_count(f))
        results[name] = {
            "first_page_ms": first_ms, "tenth_page_ms": tenth_ms, "deep_page_ms": deep_ms, "capped_count_ms": count_ms,
            "matches": f"more than {count}" if capped else count, "first_page_rows": len(page.rows),
            "plan_first_page": plan(bench, filters), "plan_deep_page": plan(bench, filters, after=5000),
            "plan_capped_count": plan(bench, filters, count=True),
        }
        print(f"{name:46} {first_ms:>8.1f}ms {tenth_ms:>8.1f}ms {deep_ms:>8.1f}ms {count_ms:>10.1f}ms  "
              f"{results[name]['matches']}")
    return results


def run(bench, contacts: int, directory: Path) -> dict:
    setup_django(bench, directory)
    from django.core.management import call_command
    from django.db import connection

    bench.create()
    try:
        call_command("migrate", verbosity=0)
        print(f"Loading {contacts:,} contacts into {bench.where} …")
        started = time.perf_counter()
        counts = load(bench, contacts)
        load_seconds = time.perf_counter() - started
        print(f"Loaded {sum(counts.values()):,} rows in {load_seconds:.0f}s")
        current = measure_all(bench, "Current schema (project migrations)")
        with_candidates = {}
        if bench.candidate_indexes:
            with connection.cursor() as cursor:
                for sql in [*bench.candidate_setup, *bench.candidate_indexes.values()]:
                    cursor.execute(sql)
                cursor.execute("ANALYZE")
            from consent import search

            search._has_index.cache_clear()  # in case a candidate is one consent.search looks for
            with_candidates = measure_all(bench, f"With candidate indexes: {', '.join(bench.candidate_indexes)}")
        with connection.cursor() as cursor:
            size_mib, machine = bench.size_mib(cursor), bench.machine(cursor)
    finally:
        bench.drop()
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": bench.vendor,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), **machine},
        "contacts": contacts, "rows": counts, "load_seconds": round(load_seconds, 1),
        "database_mib": round(size_mib, 1), "repeats_per_figure": REPEATS,
        "current_schema": current,
        "candidate_indexes": {"setup": bench.candidate_setup, "sql": bench.candidate_indexes,
                              "results": with_candidates},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="",
                        help="postgres://… of a database to create, fill, time and drop (default: temporary SQLite)")
    parser.add_argument("--keep-database", action="store_true",
                        help="PostgreSQL: leave the database behind afterwards, to study plans with psql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mynhs-search-bench-") as tmp:
        bench = (PostgresBench(args.database_url, keep=args.keep_database) if args.database_url
                 else SQLiteBench(Path(tmp)))
        report = run(bench, args.contacts, Path(tmp))
    bench.results.parent.mkdir(parents=True, exist_ok=True)
    bench.results.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote {bench.results.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
