"""How fast, and in how much memory, does a contact import run? Beside django-import-export.

    .venv/bin/python benchmarks/import_bench.py                  # 10,000 and 100,000 rows, SQLite
    .venv/bin/python benchmarks/import_bench.py --sizes 10000 --no-peer

Each size runs in its own process on its own temporary SQLite database (the embedded default). The
demo loader first writes N/2 contacts; the file then has N rows like the peer's: half of them those
people (with a changed name and topics, and consent ticks), half new people, with email, name,
postcode, topics and three yes/no consent columns. The import is timed in a grandchild process
(so its peak memory is its own): ``preview_import`` (read, check and classify every row) and then
``confirm_import`` (check again, then bulk writes and set-based consent per chunk), with validation
exactly as the staff page does it.

The peer, django-import-export 4.4.3 (../shared/peer-bench/import_export_bench.py), imports its own
file of the same size in the same run the way its admin does (dry run, then the real run); the
ratio is printed. Writes benchmarks/results/import.json.
"""

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from fresh_process import (  # benchmarks/ is on sys.path
    own_peak_mib,
    run_child,
    run_grandchild,
    setup_django_in_child,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "import.json"
PEER = ROOT.parent / "shared" / "peer-bench"
TOPICS = ["dementia", "cancer", "mental-health", "respiratory"]
POSTCODES = ["L20 3NJ", "L21 7PQ", "L23 4AB", "L30 2DA", "L31 9BX", "PR8 1AA", ""]


def measure(size: int) -> dict:
    """Child: load N/2 people, write the N-row file, then import it in a grandchild on the same database."""
    setup_django_in_child()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from crm.models import Contact

    call_command("migrate", verbosity=0)
    call_command("load_demo", contacts=size // 2, seed=2026, verbosity=0)
    user = User.objects.create_user("bench", "bench@example.org", "x")
    user.groups.add(Group.objects.get(name="Engagement"))
    rng = random.Random(2026)
    existing = list(Contact.objects.values_list("email", flat=True)[: size - size // 2])
    path = Path(os.environ["MYNHS_VAR_DIR"]) / f"import-{size}.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("email,name,postcode,topics,bulletin,events,involvement\n")
        for n in range(size):
            email = existing[n // 2] if n % 2 == 0 and n // 2 < len(existing) else f"new{n:07d}@example.net"
            topics = ";".join(rng.sample(TOPICS, rng.randint(0, 2)))
            handle.write(f"{email},Person {n},{rng.choice(POSTCODES)},{topics},yes,{rng.choice(['yes', 'no', ''])},\n")
    return run_grandchild(__file__, "--import-child", str(path))


def import_once(path: str) -> dict:
    setup_django_in_child()
    from django.contrib.auth.models import User

    from crm.audit import Actor
    from segments import imports

    actor = Actor.staff(User.objects.get(username="bench"))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profiler = None
    if os.environ.get("MYNHS_BENCH_PROFILE"):  # --profile: cProfile the import, stats to that file
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started, cpu = time.perf_counter(), time.process_time()
    with Path(path).open("rb") as handle:  # as the upload page passes it: a file, read block by block
        record, plan = imports.preview_import(content=handle, file_name=path, method="paper_form",
                                              statement_versions=None, collected_on=date(2026, 11, 20),
                                              collected_by="Benchmark", evidence_reference="Benchmark box", actor=actor)
    previewed = time.perf_counter()
    record = imports.confirm_import(record=record, actor=actor)
    wall = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(os.environ["MYNHS_BENCH_PROFILE"])
    rows = sum(plan.counts().values())
    return {
        "rows": rows, "counts": record.counts, "preview_s": round(previewed - started, 3), "wall_s": round(wall, 3),
        "rows_per_s": round(rows / wall, 1), "cpu_s": round(time.process_time() - cpu, 3),
        "rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "own_peak_rss_mib": own_peak_mib(),
    }


def peer(sizes: list[int]) -> dict:
    subprocess.run(["bash", str(PEER / "setup_import_export.sh")], check=True, capture_output=True)
    result = subprocess.run(
        [sys.executable, str(PEER / "import_export_bench.py"), "--sizes", ",".join(map(str, sizes)), "--exports", "",
         "--imports", "csv:off", "--no-probes", "--skip-over", "900"],
        capture_output=True, text=True, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _peer_rate(peer_result: dict, size: int) -> float | None:
    """The admin's whole import: the dry run and the real run, rows over both times."""
    # The harness keys each size's figures by variant: {"imports": {"import csv use_bulk=off dry": {...}}}.
    imports = peer_result.get("sizes", {}).get(str(size), {}).get("imports", {}).values()
    steps = [i for i in imports if i.get("bulk") == "off"]
    total = sum(i["wall_s"] for i in steps if "wall_s" in i)
    return size / total if steps and total else None


def main() -> None:
    if "--import-child" in sys.argv:
        print(json.dumps(import_once(sys.argv[sys.argv.index("--import-child") + 1])))
        return
    if "--child" in sys.argv:
        print(json.dumps(measure(int(sys.argv[sys.argv.index("--child") + 1]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--profile", metavar="FILE", help="cProfile our import (last size) into FILE; "
                        "slows it, so its figures are not written")
    args = parser.parse_args()
    if args.profile:
        os.environ["MYNHS_BENCH_PROFILE"] = str(Path(args.profile).resolve())
    sizes = [int(s) for s in args.sizes.split(",")]
    ours = {}
    for size in sizes:
        print(f"our import of {size:,} rows …", flush=True)
        ours[size] = run_child(__file__, size)
        print(f"  {ours[size]['rows_per_s']:,.0f} rows/s (preview {ours[size]['preview_s']} s, whole "
              f"{ours[size]['wall_s']} s, CPU {ours[size]['cpu_s']} s), own peak {ours[size]['own_peak_rss_mib']} MiB; "
              f"load {' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
    peer_result = None if args.no_peer else peer(sizes)
    print(f"\n{'rows':>9} {'ours rows/s':>12} {'peer rows/s':>12} {'ratio':>7} {'our peak MiB':>13}")
    for size in sizes:
        other = _peer_rate(peer_result, size) if peer_result else None
        ratio = f"{ours[size]['rows_per_s'] / other:.1f}x" if other else "-"
        print(f"{size:>9,} {ours[size]['rows_per_s']:>12,.0f} {other or 0:>12,.0f} {ratio:>7} "
              f"{ours[size]['own_peak_rss_mib']:>13}")
    if len(sizes) > 1:
        small, large = ours[sizes[0]]["own_peak_rss_mib"], ours[sizes[-1]]["own_peak_rss_mib"]
        print(f"import own peak (VmHWM) {sizes[0]:,}: {small} MiB, {sizes[-1]:,}: {large} MiB "
              f"({(large - small) / small * 100:+.1f}%)")
    if args.profile:
        print(f"Profile in {args.profile} (figures not written: the profiler slows the import)")
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"ours": {str(k): v for k, v in ours.items()}, "peer": peer_result,
                                   "machine": {"python": platform.python_version(), "cpus": os.cpu_count()}},
                                  indent=2) + "\n")
    print(f"Wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
