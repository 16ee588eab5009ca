"""The population baseline: the organisation's census counts (the CSV its organisation file names).

Used to compare the people we reach with the population they should represent, and (in the demo)
to draw realistic equality answers. The file format is described in crm/data/README.md.
"""

from crm.organisation import BASELINE_CHARACTERISTICS, current, read_baseline

CHARACTERISTICS = BASELINE_CHARACTERISTICS


def population_baseline() -> dict[str, dict[str, int]]:
    """characteristic → {category: residents}, in file order (e.g. ``["age"]["80+"]``). A fresh copy."""
    return read_baseline(current().baseline_file)


def baseline_area() -> str:
    """The census area the baseline describes, as its organisation file names it."""
    return current().baseline_area
