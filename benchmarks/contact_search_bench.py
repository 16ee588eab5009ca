"""How fast is staff contact search at a million contacts? (consent.search, keyset pagination.)

    .venv/bin/python benchmarks/contact_search_bench.py                   # 1,000,000 contacts
    .venv/bin/python benchmarks/contact_search_bench.py --contacts 100000

Builds a temporary SQLite database (the embedded default, WAL mode), migrates it, bulk-loads the
contacts with plain ``executemany`` in batches (plus topics, consent events and states,
communication needs), then times each filter the staff page offers: the first page, the tenth
page reached by following "next" links, a deep page (seeking near the oldest record), and the
capped count shown above the results. Each figure is the median of several runs, warm cache.

It then adds candidate indexes (see CANDIDATE_INDEXES) and times everything again, so the effect
of each is visible before anyone proposes it for the schema. Prints a table and writes
benchmarks/results/contact_search.json. The query plans are recorded too.
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

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "contact_search.json"
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
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# Indexes worth measuring. They are NOT in the project's migrations (crm's schema is the lead's):
# this script adds them to its own database for the second round of timings. Finding at 1,000,000
# contacts: LOWER(name) only speeds up the capped count of a rare name prefix (about 50 ms → 2 ms)
# and slows that page a little, so the existing indexes are enough (consent.search uses it if present).
CANDIDATE_INDEXES = {
    "contact_name_lower_idx": "CREATE INDEX contact_name_lower_idx ON crm_contact (LOWER(name))",
}


def setup_django(directory: Path) -> None:
    os.environ["MYNHS_VAR_DIR"] = str(directory)
    os.environ["SQLITE_PATH"] = str(directory / "bench.sqlite3")
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def load(n: int) -> dict:
    """Bulk-load ``n`` contacts and what hangs off them. Returns row counts."""
    from django.db import connection, transaction

    from consent.models import ConsentStatement, Purpose
    from crm.models import Locality, Organisation, PostcodeDistrict, Topic
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
        cursor.execute("PRAGMA foreign_keys=OFF")  # every row below is valid; checking each is slow
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
                cursor.executemany(
                    "INSERT INTO crm_contact (id, public_id, email, email_normalised, email_hash, name, postcode,"
                    " locality_id, kind, organisation_id, preferred_language, source, confirmed_at, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", contacts)
                cursor.executemany("INSERT INTO crm_contact_topics (contact_id, topic_id) VALUES (?, ?)", links)
                cursor.executemany(
                    "INSERT INTO consent_consentevent (id, contact_id, purpose_id, action, statement_id, method,"
                    " recorded_by_label, occurred_at, recorded_at, evidence_reference)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
                cursor.executemany(
                    "INSERT INTO consent_consentstate (contact_id, purpose_id, status, statement_id, since,"
                    " last_event_id) VALUES (?, ?, ?, ?, ?, ?)", states)
                cursor.executemany(
                    "INSERT OR IGNORE INTO crm_communicationneed (contact_id, need, detail) VALUES (?, ?, ?)",
                    need_rows)
            for key, rows in (("contacts", contacts), ("topic_links", links), ("consent_events", events),
                              ("consent_states", states), ("needs", need_rows)):
                counts[key] += len(rows)
            print(f"  loaded {counts['contacts']:,} contacts", end="\r", flush=True)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("ANALYZE")  # what a long-running database would have: planner statistics
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
    }


def timed(fn) -> tuple[float, object]:
    runs, result = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = fn()
        runs.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(runs), 2), result


def plan(filters, after=None) -> list[str]:
    from django.db import connection

    from consent.search import filtered_contacts

    qs = filtered_contacts(filters).select_related("locality", "organisation")  # as search_contacts runs it
    if after is not None:
        qs = qs.filter(pk__lt=after)
    sql, params = qs.order_by("-pk")[:51].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return [row[-1] for row in cursor.fetchall()]


def measure_all(label: str) -> dict:
    from consent.search import capped_count, search_contacts

    results = {}
    print(f"\n{label}")
    print(f"{'filter':42} {'page 1':>9} {'page 10':>9} {'deep':>9} {'count≤1000':>11}  matches")
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
            "plan_first_page": plan(filters), "plan_deep_page": plan(filters, after=5000),
        }
        print(f"{name:42} {first_ms:>8.1f}ms {tenth_ms:>8.1f}ms {deep_ms:>8.1f}ms {count_ms:>10.1f}ms  "
              f"{results[name]['matches']}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mynhs-search-bench-") as tmp:
        setup_django(Path(tmp))
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        print(f"Loading {args.contacts:,} contacts into {tmp} …")
        started = time.perf_counter()
        counts = load(args.contacts)
        load_seconds = time.perf_counter() - started
        print(f"Loaded {sum(counts.values()):,} rows in {load_seconds:.0f}s")
        current = measure_all("Current schema (project migrations)")
        with connection.cursor() as cursor:
            for sql in CANDIDATE_INDEXES.values():
                cursor.execute(sql)
            cursor.execute("ANALYZE")
        from consent import search

        search._has_index.cache_clear()  # the name prefix search now finds the index
        with_candidates = measure_all(f"With candidate indexes: {', '.join(CANDIDATE_INDEXES)}")
        database = Path(tmp) / "bench.sqlite3"
        size_mib = sum(p.stat().st_size for p in database.parent.glob(database.name + "*")) / 2**20
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count(), "sqlite": __import__("sqlite3").sqlite_version},
        "contacts": args.contacts, "rows": counts, "load_seconds": round(load_seconds, 1),
        "database_mib": round(size_mib, 1), "repeats_per_figure": REPEATS,
        "current_schema": current,
        "candidate_indexes": {"sql": CANDIDATE_INDEXES, "results": with_candidates},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
