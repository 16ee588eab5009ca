"""How fast does a bulletin go out, beside django-newsletter on the same machine and the same N?

    .venv/bin/python benchmarks/bulletin_send_bench.py                       # everything (about 25 min)
    .venv/bin/python benchmarks/bulletin_send_bench.py --sizes 10000 --no-peer

PostgreSQL (127.0.0.1:5432, a fresh database per size) with Redis Huey (db 7) and 2 real
``manage.py run_huey`` consumer processes (2 threads each), for each size:

- fan-out: the one INSERT … SELECT creating a Delivery row per recipient (timed inside start_send);
- the provider batch path: our anymail channel with anymail's test backend (one "API call" per
  500 recipients, per-recipient merge data), every row claimed, consent re-checked, recorded;
- SMTP: our SMTP channel (one connection per batch) to a local aiosmtpd sink in its own process
  (the mail server: its CPU is not ours);
- our CPU per recipient: the consumers' user+system CPU (from wait4) plus this process's during
  start_send; the PostgreSQL backends serving our database are reported apart;
- the consumers' peak RSS (ru_maxrss), to compare 10,000 with 100,000.

Then the embedded default at 10,000: SQLite (WAL), Huey on SQLite, one consumer, the outbox channel
writing one .eml file per message. And django-newsletter's discard figure from
/work/shared/peer-bench at the same sizes, in the same run, with the ratios.

Recipients: N confirmed contacts granted ``bulletin``, all on topic A, every second one also on B
(two renderings), 2% plain-text only; a bulletin with an item on A and one on B, audience "topics".
Every figure is checked: N rows sent, N messages at the sink / provider.
Writes benchmarks/results/bulletin_send.json.
"""

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "bulletin_send.json"
PEER = Path("/work/shared/peer-bench/django_newsletter_bench.py")
PG = "postgres://postgres@127.0.0.1:5432/"
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
CONSUMERS, THREADS = 2, 2
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


# --- the channel the provider path uses in the consumers -----------------------------------------
class BenchAnymailChannel:
    """Our anymail channel on anymail's test backend. The test backend keeps every message in
    django.core.mail.outbox (and finds each one's id by scanning it): emptied after every call so
    the benchmark measures our memory, not the test backend's. Counts recipients into a file."""

    _lock = threading.Lock()

    def __init__(self):
        from bulletins.channels.anymail import AnymailChannel

        self.inner = AnymailChannel()
        self.max_batch = self.inner.max_batch
        self.count_file = Path(os.environ["BENCH_COUNT_DIR"]) / f"{os.getpid()}-{threading.get_ident()}.count"

    def send(self, messages):
        from django.core import mail

        with self._lock:
            results = self.inner.send(messages)
            mail.outbox.clear()
        sent = sum(1 for r in results if r.outcome == "sent")
        previous = int(self.count_file.read_text()) if self.count_file.exists() else 0
        self.count_file.write_text(str(previous + sent))
        return results


# --- the SMTP sink (a separate process: the mail server) -----------------------------------------
def run_sink(port: int, count_file: str) -> None:
    from aiosmtpd.controller import Controller

    class Counting:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Counting.received += len(envelope.rcpt_tos)
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("sink ready", flush=True)
    while not stop.wait(0.5):
        Path(count_file).write_text(str(Counting.received))
    controller.stop()
    Path(count_file).write_text(str(Counting.received))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- set-up inside a child ------------------------------------------------------------------------
def setup_django(env: dict) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def recreate_pg_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG + "postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def populate(n: int):
    """N reachable people (set-based SQL: the ledger rows the consent services would write)."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from consent.models import ConsentEvent, ConsentState, Purpose
    from consent.selectors import current_statement
    from crm.models import CommunicationNeed, Contact, Topic
    from crm.normalise import address_hash

    topic_a, topic_b = Topic.objects.order_by("pk")[:2]
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    purpose = Purpose.objects.get(code="bulletin")
    statement = current_statement(purpose)
    quote = connection.ops.quote_name
    contact_table, topics_table = Contact._meta.db_table, Contact.topics.through._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, n, 10_000):
            rows = []
            for i in range(start, min(n, start + 10_000)):
                email = f"reader{i:07d}@example.org"
                rows.append((uuid.uuid4().hex if connection.vendor == "sqlite" else uuid.uuid4(), email, email,
                             address_hash(email), f"Reader {i}", "", "public", "English", "import", at, at, at))
            cursor.executemany(
                f"INSERT INTO {contact_table} (public_id, email, email_normalised, email_hash, name, postcode, kind, "
                "preferred_language, source, confirmed_at, created_at, updated_at"
                + _extra_contact_columns(Contact) + ") VALUES (" + ", ".join(["%s"] * 12)
                + _extra_contact_values(Contact) + ")", rows)
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {contact_table}")
        low, high = cursor.fetchone()
        cursor.execute(f"INSERT INTO {topics_table} (contact_id, topic_id) SELECT id, %s FROM {contact_table}",
                       [topic_a.pk])
        cursor.execute(f"INSERT INTO {topics_table} (contact_id, topic_id) SELECT id, %s FROM {contact_table} "
                       "WHERE id %% 2 = 0", [topic_b.pk])
        events, states = ConsentEvent._meta.db_table, ConsentState._meta.db_table
        cursor.execute(
            f"INSERT INTO {events} (contact_id, purpose_id, action, statement_id, method, recorded_by_label, "
            f"occurred_at, recorded_at, evidence_reference) SELECT id, %s, 'confirmed', %s, 'import', 'system', "
            f"%s, %s, 'benchmark' FROM {contact_table}", [purpose.pk, statement.pk, at, at])
        cursor.execute(
            f"INSERT INTO {states} (contact_id, purpose_id, status, statement_id, since, last_event_id) "
            f"SELECT contact_id, purpose_id, 'granted', statement_id, occurred_at, id FROM {events} "
            "WHERE purpose_id = %s", [purpose.pk])
        cursor.execute(
            f"INSERT INTO {quote(CommunicationNeed._meta.db_table)} (contact_id, need, detail) "
            f"SELECT id, 'plain_text_email', '' FROM {contact_table} WHERE id %% %s = 0", [50])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    users = [get_user_model().objects.create_user(username=name, email=f"{name}@nhs.example")
             for name in ("bench.writer", "bench.approver")]
    return topic_a, topic_b, users, high - low + 1


def _extra_contact_columns(model) -> str:
    """Columns added to Contact by others since this was written, filled with their defaults."""
    return "".join(f", {f.column}" for f in _extra_fields(model))


def _extra_contact_values(model) -> str:
    return "".join(f", {int(f.default) if isinstance(f.default, bool | int) else repr(f.default)}"
                   for f in _extra_fields(model))


KNOWN = {"id", "public_id", "email", "email_normalised", "email_hash", "name", "postcode", "kind",
         "preferred_language", "source", "confirmed_at", "created_at", "updated_at", "locality", "organisation"}


def _extra_fields(model):
    from django.db.models import NOT_PROVIDED

    return [f for f in model._meta.concrete_fields
            if f.name not in KNOWN and not f.null and f.default is not NOT_PROVIDED and not callable(f.default)]


def make_bulletin(topic_a, topic_b, users, subject: str):
    from django.utils import timezone

    from bulletins.models import Bulletin, Item

    writer, approver = users
    bulletin = Bulletin.objects.create(subject=subject, preheader="News from your NHS", introduction="Hello **all**.",
                                       created_by=writer, status="approved", version=1, approved_version=1,
                                       approved_by=approver, approved_at=timezone.now())
    body = "A paragraph about winter services, with [a link](https://www.nhs.uk/) and *emphasis*.\n\n" * 3
    for position, topic in enumerate((topic_a, topic_b), start=1):
        Item.objects.create(bulletin=bulletin, position=position, title=f"News on {topic.name}",
                            body_markdown=body, topic=topic)
    return bulletin


# --- processes ----------------------------------------------------------------------------------
def start_consumers(env: dict, logs: Path, count: int) -> list[subprocess.Popen]:
    processes = []
    for n in range(count):
        log = (logs / f"consumer{n}.log").open("w")
        processes.append(subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "run_huey", "-w", str(THREADS), "-k", "thread", "-n"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all("Huey consumer started" in (logs / f"consumer{n}.log").read_text() for n in range(count)):
            return processes
        time.sleep(0.2)
    raise SystemExit("consumers did not start:\n" + (logs / "consumer0.log").read_text()[-3000:])


def stop_consumers(processes) -> dict:
    """SIGINT (Huey's graceful stop), then wait4 for each one's CPU and peak RSS."""
    cpu, rss = 0.0, 0
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        _pid, _status, usage = os.wait4(process.pid, 0)
        process.returncode = 0
        cpu += usage.ru_utime + usage.ru_stime
        rss = max(rss, usage.ru_maxrss)
    return {"cpu_s": cpu, "peak_rss_mib": rss / 1024}


def database_backend_cpu(db_name: str) -> float:
    """CPU seconds of the PostgreSQL backends now connected to ``db_name`` (their process titles name it)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            if not cmdline.startswith("postgres:") or f" {db_name} " not in cmdline:
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
    return total / TICKS


# --- one measured send ----------------------------------------------------------------------------
def measure_send(*, label: str, n_expected: int, env: dict, logs: Path, consumers: int, world,
                 count_received, db_name: str | None = None) -> dict:
    from bulletins import sending
    from bulletins.models import Bulletin, Delivery
    from bulletins.sending import lifecycle
    from crm.audit import Actor

    processes = start_consumers(env, logs, consumers)
    bulletin = make_bulletin(*world, subject=f"Benchmark {label}")
    fanout = {}
    real_create = lifecycle.create_deliveries

    def timed_create(**kwargs):
        started = time.perf_counter()
        added = real_create(**kwargs)
        fanout["s"] = time.perf_counter() - started
        return added

    lifecycle.create_deliveries = timed_create
    try:
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        rows = sending.start_send(bulletin=bulletin, actor=Actor.system())
        started_send = time.perf_counter()
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        lifecycle.create_deliveries = real_create
    assert rows == n_expected, (rows, n_expected)
    deadline = time.monotonic() + 3600
    while Bulletin.objects.filter(pk=bulletin.pk, status="sending").exists():
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            raise SystemExit(f"{label}: send did not finish; see {logs}")
        time.sleep(0.25)
    finished = time.perf_counter()
    db_cpu = database_backend_cpu(db_name) if db_name else None
    usage = stop_consumers(processes)
    sent = Delivery.objects.filter(bulletin=bulletin, status="sent").count()
    received = count_received()
    assert sent == n_expected and received == n_expected, (label, sent, received, n_expected)
    bench_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    ours = usage["cpu_s"] + bench_cpu
    total = finished - started
    return {
        "recipients": n_expected, "fanout_s": round(fanout["s"], 2),
        "start_send_s": round(started_send - started, 2), "wall_s": round(total, 1),
        "msgs_per_s": round(n_expected / total, 1),
        "send_only_msgs_per_s": round(n_expected / (finished - started_send), 1),
        "our_cpu_s": round(ours, 1), "our_cpu_ms_per_recipient": round(ours * 1000 / n_expected, 3),
        "database_cpu_ms_per_recipient": round(db_cpu * 1000 / n_expected, 3) if db_cpu is not None else None,
        "consumer_peak_rss_mib": round(usage["peak_rss_mib"], 1),
        "consumers": consumers, "threads_per_consumer": THREADS,
    }


def child_pg(size: int) -> dict:
    db_name = f"mynhs_b1_bench_{size}"
    recreate_pg_database(db_name)
    queue = f"b1-bench-{uuid.uuid4().hex[:8]}"
    var_dir = Path(tempfile.mkdtemp(prefix="b1-bench-"))
    base_env = {"DATABASE_URL": PG + db_name, "REDIS_URL": REDIS, "HUEY_NAME": queue, "MYNHS_ENV": "test",
                "MYNHS_VAR_DIR": str(var_dir), "BULLETIN_MAX_PER_SECOND": "1000000", "BULLETIN_BATCH_SIZE": "500"}
    setup_django(base_env)
    from django.core.management import call_command
    from huey.contrib.djhuey import HUEY

    call_command("migrate", verbosity=0)
    HUEY.flush()
    started = time.perf_counter()
    *world, people = populate(size)
    populate_s = time.perf_counter() - started
    figures = {"database": "postgresql", "size": size, "populate_s": round(populate_s, 1)}

    counts = var_dir / "counts"
    counts.mkdir()
    provider_env = {**os.environ, **base_env, "BULLETIN_CHANNEL": "benchmarks.bulletin_send_bench.BenchAnymailChannel",
                    "BULLETIN_ANYMAIL_BACKEND": "anymail.backends.test.EmailBackend", "BENCH_COUNT_DIR": str(counts)}
    figures["provider_batch"] = measure_send(
        label=f"provider {size}", n_expected=people, env=provider_env, logs=var_dir, consumers=CONSUMERS,
        world=world, db_name=db_name,
        count_received=lambda: sum(int(p.read_text()) for p in counts.glob("*.count")))

    port, sink_count = free_port(), var_dir / "sink.count"
    sink = subprocess.Popen([sys.executable, __file__, "--sink", str(port), str(sink_count)],
                            stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "sink ready"
    smtp_env = {**os.environ, **base_env, "BULLETIN_CHANNEL": "smtp", "EMAIL_HOST": "127.0.0.1",
                "EMAIL_PORT": str(port), "EMAIL_USE_TLS": "0"}

    def sink_received() -> int:
        time.sleep(1.0)  # the sink writes its count twice a second
        return int(sink_count.read_text())

    try:
        figures["smtp"] = measure_send(label=f"smtp {size}", n_expected=people, env=smtp_env, logs=var_dir,
                                       consumers=CONSUMERS, world=world, db_name=db_name, count_received=sink_received)
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    HUEY.flush()
    return figures


def child_sqlite(size: int) -> dict:
    var_dir = Path(tempfile.mkdtemp(prefix="b1-bench-sqlite-"))
    outbox = var_dir / "outbox"
    base_env = {"MYNHS_ENV": "test", "MYNHS_VAR_DIR": str(var_dir), "EMAIL_OUTBOX_DIR": str(outbox),
                "BULLETIN_MAX_PER_SECOND": "1000000", "BULLETIN_CHANNEL": "outbox"}
    for name in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "HUEY_SQLITE_PATH"):
        os.environ.pop(name, None)
    setup_django(base_env)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)  # the throttle's shared counter without Redis
    started = time.perf_counter()
    *world, people = populate(size)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(base_env)
    figures = {"database": "sqlite", "size": size, "populate_s": round(time.perf_counter() - started, 1)}
    figures["outbox"] = measure_send(label=f"sqlite outbox {size}", n_expected=people, env=env, logs=var_dir,
                                     consumers=1, world=world, count_received=lambda: len(list(outbox.glob("*.eml"))))
    return figures


# --- the peer, and the parent -------------------------------------------------------------------
def run_peer(size: int) -> dict:
    result = subprocess.run([sys.executable, str(PEER), "--subscribers", str(size), "--backends", "discard"],
                            capture_output=True, text=True, check=False,
                            env={**os.environ, "PEER_VENV": os.environ.get("PEER_VENV", "/tmp/peer-bench-venv")})
    if result.returncode != 0:
        raise SystemExit(f"peer bench failed:\n{result.stderr[-3000:]}")
    summary = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    discard = summary["send"]["discard"]
    return {"subscribers": size, "discard_msgs_per_s": discard["msgs_per_s"],
            "discard_cpu_ms_per_msg": round(discard["cpu_s"] * 1000 / size, 3) if discard.get("cpu_s") else None,
            "discard_peak_rss_mib": discard["peak_rss_mib"], "versions": summary["versions"]}


def run_child(mode: str, size: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH"}}
    result = subprocess.run([sys.executable, __file__, "--child", mode, str(size)], env=env, cwd=ROOT,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{mode} at {size:,} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def describe(label: str, f: dict) -> str:
    db = f" + database {f['database_cpu_ms_per_recipient']} ms" if f.get("database_cpu_ms_per_recipient") else ""
    return (f"  {label}: {f['recipients']:,} in {f['wall_s']} s = {f['msgs_per_s']:,} msg/s "
            f"(fan-out {f['fanout_s']} s); our CPU {f['our_cpu_ms_per_recipient']} ms/recipient{db}; "
            f"consumer peak RSS {f['consumer_peak_rss_mib']} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--sqlite-size", type=int, default=10_000)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--peer-sizes", type=int, nargs="+",
                        help="run django-newsletter at these sizes (default: every size above)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--sink", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        return run_sink(int(args.sink[0]), args.sink[1])
    if args.child:
        mode, size = args.child[0], int(args.child[1])
        print(json.dumps(child_pg(size) if mode == "pg" else child_sqlite(size)))
        return
    results = {"benchmark": "bulletin_send", "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                           "python": platform.python_version(), "load_average_at_start": os.getloadavg()},
               "postgresql": [], "sqlite": None, "peer": {}, "ratios": {},
               "peer_reference_quiet_machine": PEER_README_FIGURES}
    for size in args.sizes:
        figures = run_child("pg", size)
        results["postgresql"].append(figures)
        save(results)
        print(f"PostgreSQL + Redis Huey, {CONSUMERS} consumers, {size:,} people (populated in {figures['populate_s']} s):")
        print(describe("provider batch (anymail test backend)", figures["provider_batch"]))
        print(describe("SMTP to local aiosmtpd", figures["smtp"]))
    if args.sqlite_size:
        results["sqlite"] = run_child("sqlite", args.sqlite_size)
        save(results)
        print(f"Embedded SQLite, 1 consumer, {args.sqlite_size:,} people:")
        print(describe("outbox (.eml files)", results["sqlite"]["outbox"]))
    if not args.no_peer:
        for size in sorted(set(args.peer_sizes or {*args.sizes, args.sqlite_size}) - {0}):
            peer = results["peer"][str(size)] = run_peer(size)
            save(results)
            print(f"django-newsletter {peer['versions']['django_newsletter']} at {size:,}: "
                  f"discard {peer['discard_msgs_per_s']} msg/s, peak RSS {peer['discard_peak_rss_mib']} MiB")
        for figures in results["postgresql"]:
            peer = results["peer"].get(str(figures["size"]))
            if peer:
                ratios = {name: round(figures[name]["msgs_per_s"] / peer["discard_msgs_per_s"], 2)
                          for name in ("provider_batch", "smtp")}
                results["ratios"][f"postgresql_{figures['size']}"] = ratios
                print(f"ratio at {figures['size']:,}: provider batch {ratios['provider_batch']}x "
                      f"(target 5x), SMTP {ratios['smtp']}x (target 1x) django-newsletter's discard")
        if results["sqlite"] and (peer := results["peer"].get(str(args.sqlite_size))):
            ratio = round(results["sqlite"]["outbox"]["msgs_per_s"] / peer["discard_msgs_per_s"], 2)
            results["ratios"][f"sqlite_{args.sqlite_size}"] = {"outbox": ratio}
            print(f"ratio, embedded SQLite outbox at {args.sqlite_size:,}: {ratio}x")
    by_size = {f["size"]: f for f in results["postgresql"]}
    if 10_000 in by_size and 100_000 in by_size:
        small, large = by_size[10_000], by_size[100_000]
        results["rss_growth_10k_to_100k"] = {
            name: round(large[name]["consumer_peak_rss_mib"] / small[name]["consumer_peak_rss_mib"] - 1, 3)
            for name in ("provider_batch", "smtp")}
        print(f"consumer peak RSS growth 10k -> 100k: {results['rss_growth_10k_to_100k']} (target within 10%)")
    for figures in results["postgresql"]:
        reference = PEER_README_FIGURES.get(str(figures["size"]))
        if reference:
            results["ratios"][f"postgresql_{figures['size']}_vs_quiet_machine_reference"] = {
                name: round(figures[name]["msgs_per_s"] / reference, 2) for name in ("provider_batch", "smtp")}
    results["machine"]["load_average_at_end"] = os.getloadavg()
    save(results)
    print(f"Written to {RESULTS.relative_to(ROOT)}")


# django-newsletter's discard figures from /work/shared/peer-bench/README.md (a quiet run of this machine),
# kept beside the same-run figures: other work on the machine changes both sides of a same-run ratio.
PEER_README_FIGURES = {"10000": 393, "100000": 354}


def save(results: dict) -> None:
    """Written after every stage, so a long run stopped part-way keeps what it measured."""
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
