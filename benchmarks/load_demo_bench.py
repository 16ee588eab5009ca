"""How fast is ``manage.py load_demo``? Loads 10,000 and 100,000 people into fresh SQLite databases.

    .venv/bin/python benchmarks/load_demo_bench.py                 # 10k and 100k
    .venv/bin/python benchmarks/load_demo_bench.py --sizes 5000    # other sizes

Each size runs in its own process on its own temporary database (the embedded default: SQLite in
WAL mode), so peak memory is that run's alone. Prints contacts/s, rows/s and peak RSS, and writes
benchmarks/results/load_demo.json.
"""

import argparse
import json
import os
import platform
import resource
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from fresh_process import run_child  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "load_demo.json"
SEED = 2026


def measure(size: int) -> dict:
    """Runs in a child process: migrate an empty database, then time the load alone."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from consent.demo.loader import load_demo
    from crm.audit import Actor

    call_command("migrate", verbosity=0)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    summary = load_demo(contacts=size, seed=SEED, actor=Actor.system())
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    database = Path(settings.DATABASES["default"]["NAME"])
    return {
        "contacts": summary.contacts,
        "rows": summary.rows,
        "consent_events": summary.consent_events,
        "seconds": round(seconds, 2),
        "contacts_per_second": round(summary.contacts / seconds),
        "rows_per_second": round(summary.rows / seconds),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "rss_before_load_mib": round(rss_before / 1024, 1),
        "database_mib": round(sum(p.stat().st_size for p in database.parent.glob(database.name + "*")) / 2**20, 1),
    }


def machine() -> dict:
    import django

    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child)))
        return
    runs = []
    print(f"{'contacts':>9} {'seconds':>8} {'contacts/s':>11} {'rows':>9} {'rows/s':>9} {'peak RSS':>10}")
    for size in args.sizes:
        outcome = run_child(__file__, size)
        runs.append(outcome)
        print(f"{outcome['contacts']:>9} {outcome['seconds']:>8} {outcome['contacts_per_second']:>11} "
              f"{outcome['rows']:>9} {outcome['rows_per_second']:>9} {outcome['peak_rss_mib']:>7} MiB")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {"benchmark": "load_demo", "seed": SEED, "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
              "machine": machine(), "runs": runs}
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"Written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
