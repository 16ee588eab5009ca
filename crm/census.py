"""The population baseline: Sefton's Census 2021 counts (crm/data/census2021_sefton.csv, see its README).

Used to draw realistic demo equality answers and, later, to compare the people we reach with the
population they should represent.
"""

import csv
from functools import cache
from pathlib import Path

CENSUS_CSV = Path(__file__).resolve().parent / "data" / "census2021_sefton.csv"
CHARACTERISTICS = ("sex", "age", "ethnic_group", "religion")


def sefton_baseline() -> dict[str, dict[str, int]]:
    """characteristic → {category: residents}, in file order (e.g. ``["age"]["80+"]``). A fresh copy."""
    return {name: dict(counts) for name, counts in _read().items()}


@cache
def _read() -> dict[str, dict[str, int]]:
    baseline: dict[str, dict[str, int]] = {name: {} for name in CHARACTERISTICS}
    with CENSUS_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            baseline.setdefault(row["characteristic"], {})[row["category"]] = int(row["residents"])
    return baseline
