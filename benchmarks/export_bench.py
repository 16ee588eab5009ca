"""How fast, and in how much memory, is an invitation-list export? Beside django-import-export.

    .venv/bin/python benchmarks/export_bench.py                    # 10,000 and 100,000 rows, SQLite
    .venv/bin/python benchmarks/export_bench.py --sizes 10000 --no-peer

Each size runs in its own process on its own temporary SQLite database (the embedded default):
the demo loader writes N contacts, every one of them is then given ``events`` consent in one
set-based call (so the list has about N rows: the suppressed and withdrawn are left out, as the
law requires), and ``segments.exports.create_invitation_export`` is timed writing the CSV and the
XLSX: the segment query, the per-chunk lookups (topics, needs, consent wording), the
formula-safe writer, the SHA-256, the export record and the INSERT … SELECT of invitations.
Peak RSS is the child's (ru_maxrss).

The peer, django-import-export 4.4.3 (../shared/peer-bench/import_export_bench.py), runs at the
same sizes in the same run, exporting its CSV the way its admin does; the ratio is printed.
Writes benchmarks/results/export.json.
"""

import argparse
import cProfile
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
from pathlib import Path

from fresh_process import (  # benchmarks/ is on sys.path
    own_peak_mib,
    run_child,
    run_grandchild,
    setup_django_in_child,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "export.json"
PEER = ROOT.parent / "shared" / "peer-bench"
COLUMNS = ["name", "email", "postcode", "locality", "organisation", "topics", "communication_needs", "consent"]


def measure(size: int) -> dict:
    """In a child process: load N contacts and consent everyone to events, then export in a grandchild
    on the same database, so the export's peak memory is its own, not the loader's."""
    setup_django_in_child()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from consent.services import record_consent_for_many
    from crm.audit import Actor
    from crm.models import Contact

    call_command("migrate", verbosity=0)
    call_command("load_demo", contacts=size, seed=2026, verbosity=0)
    user = User.objects.create_superuser("bench", "bench@example.org", "x")
    ids = list(Contact.objects.values_list("pk", flat=True))
    record_consent_for_many(contact_ids=ids, purpose="events", action="confirmed", method="paper_form",
                            actor=Actor.staff(user), evidence_reference="benchmark")
    figures = {}
    for file_format in ("csv", "xlsx"):
        figures[file_format] = run_grandchild(__file__, "--export-child", file_format)
    return figures


def export_once(file_format: str) -> dict:
    setup_django_in_child()
    from django.contrib.auth.models import User
    from django.utils import timezone

    from crm.audit import Actor
    from segments import exports, services
    from segments.models import Event, Segment

    user = User.objects.get(username="bench")
    actor = Actor.staff(user)
    segment = Segment.objects.filter(name="Everyone").first() or services.create_segment(
        name="Everyone", rules={"version": 1, "match": "all", "rules": []}, actor=actor)
    event = Event.objects.create(title=f"Bench {file_format}", starts_at=timezone.now(),
                                 ends_at=timezone.now() + timezone.timedelta(hours=2), created_by=user)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profile = cProfile.Profile() if os.environ.get("BENCH_PROFILE") else None
    started, cpu = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    record = exports.create_invitation_export(segment=segment, event=event, stated_purpose="Benchmark",
                                              columns=COLUMNS, file_format=file_format, actor=actor)
    wall = time.perf_counter() - started
    if profile:
        profile.disable()
        # The grandchild's stderr is not shown: BENCH_PROFILE names the file the profile goes to.
        with open(os.environ["BENCH_PROFILE"] + f".{file_format}.txt", "w") as out:
            pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(30)
    return {
        "rows": record.row_count, "wall_s": round(wall, 3), "cpu_s": round(time.process_time() - cpu, 3),
        "rows_per_s": round(record.row_count / wall, 1),
        "bytes": (exports.exports_dir() / record.file_name).stat().st_size,
        "rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        # ru_maxrss survives execve on Linux: it starts at the loader child's RSS when it forked us.
        # VmHWM is this process's own high-water mark (a new address space at exec).
        "own_peak_rss_mib": own_peak_mib(),
    }


def peer(sizes: list[int]) -> dict:
    """django-import-export's admin CSV export at the same sizes (its own harness and venv)."""
    subprocess.run(["bash", str(PEER / "setup_import_export.sh")], check=True, capture_output=True)
    result = subprocess.run(
        [sys.executable, str(PEER / "import_export_bench.py"), "--sizes", ",".join(map(str, sizes)),
         "--exports", "csv:off:plain,csv:on:plain,xlsx:on:plain", "--imports", "", "--no-probes",
         "--skip-over", "600"],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _peer_export(peer_result: dict, size: int, fmt: str, escape: str) -> dict | None:
    # The harness keys each size's figures by variant: {"exports": {"export csv escape=on qs=plain": {...}}}.
    for item in peer_result.get("sizes", {}).get(str(size), {}).get("exports", {}).values():
        if item.get("fmt") == fmt and item.get("escape") == escape and item.get("qs") == "plain":
            return item
    return None


def report(ours: dict, peer_result: dict | None, sizes: list[int]) -> None:
    """The side-by-side table; ``--report`` prints it again from the results file."""
    print(f"\n{'contacts':>9} {'format':>6} {'rows':>8} {'ours rows/s':>12} {'peer rows/s':>12} {'ratio':>6} "
          f"{'our own peak MiB':>16}")
    for size in sizes:
        for fmt in ("csv", "xlsx"):
            mine = ours[size][fmt]
            other = _peer_export(peer_result, size, fmt, "on") if peer_result else None
            ratio = f"{mine['rows_per_s'] / other['rows_per_s']:.1f}x" if other and other.get("rows_per_s") else "-"
            print(f"{size:>9,} {fmt:>6} {mine['rows']:>8,} {mine['rows_per_s']:>12,.0f} "
                  f"{(other or {}).get('rows_per_s', 0):>12,.0f} {ratio:>6} {mine['own_peak_rss_mib']:>16}")
    print("(peer: django-import-export's admin export with formula escaping on, the same run)")
    if len(sizes) > 1:
        for fmt in ("csv", "xlsx"):
            small, large = ours[sizes[0]][fmt]["own_peak_rss_mib"], ours[sizes[-1]][fmt]["own_peak_rss_mib"]
            print(f"{fmt} export own peak (VmHWM) {sizes[0]:,}: {small} MiB, {sizes[-1]:,}: {large} MiB "
                  f"({(large - small) / small * 100:+.1f}%)")


def main() -> None:
    if "--export-child" in sys.argv:
        print(json.dumps(export_once(sys.argv[sys.argv.index("--export-child") + 1])))
        return
    if "--child" in sys.argv:
        print(json.dumps(measure(int(sys.argv[sys.argv.index("--child") + 1]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--report", action="store_true", help="print the table again from the results file")
    args = parser.parse_args()
    if args.report:
        saved = json.loads(RESULTS.read_text())
        report({int(k): v for k, v in saved["ours"].items()}, saved["peer"], sorted(int(k) for k in saved["ours"]))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    ours = {}
    for size in sizes:
        print(f"our export at {size:,} contacts …", flush=True)
        ours[size] = run_child(__file__, size)
    peer_result = None if args.no_peer else peer(sizes)
    report(ours, peer_result, sizes)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "ours": {str(k): v for k, v in ours.items()}, "peer": peer_result,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }, indent=2) + "\n")
    print(f"Wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
