"""Run one benchmark size in a fresh Python process on its own temporary var/ (SQLite database).

A fresh process per size keeps peak memory and warm caches from one size out of the next. The
script is re-run as ``script --child SIZE``; the child prints its figures as one JSON line last.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_child(script: str, size: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="mynhs-bench-") as var_dir:
        # The embedded default only: a shell's PostgreSQL or Redis settings must not leak in.
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SQLITE_PATH"}}
        env.update(MYNHS_VAR_DIR=var_dir, MYNHS_ENV="demo")
        result = subprocess.run([sys.executable, script, "--child", str(size)], env=env, cwd=ROOT,
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            sys.exit(f"{Path(script).name} at size {size:,} failed:\n{result.stderr}")
        return json.loads(result.stdout.strip().splitlines()[-1])


def setup_django_in_child() -> None:
    """Inside a child (or grandchild): the project on sys.path, settings loaded, apps ready."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    import django

    django.setup()


def run_grandchild(script: str, flag: str, argument: str) -> dict:
    """Run ``script flag argument`` on the child's own database (same environment): a phase whose peak
    memory must be its own, not the loader's. Its last stdout line is one JSON object."""
    result = subprocess.run([sys.executable, script, flag, argument], capture_output=True, text=True, check=False,
                            cwd=ROOT)
    if result.returncode:
        sys.exit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def own_peak_mib() -> float | None:
    """This process's own peak RSS (VmHWM) in MiB. ru_maxrss survives execve on Linux: a grandchild's
    starts at the RSS of the loader that forked it; VmHWM belongs to the new address space."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None
