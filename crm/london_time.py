"""Europe/London wall-clock times: the office enters and reads times in UK time, the database keeps UTC.

A wall time in the spring gap (the clocks jump from 1am to 2am) never happens; one in the autumn
overlap happens twice. Callers decide what to say about each; these answer which it is.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def wall_time_exists(local: datetime) -> bool:
    """False for a naive London time inside the spring gap."""
    aware = local.replace(tzinfo=LONDON)
    return aware.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None) == local


def is_ambiguous(local: datetime) -> bool:
    """True for a naive London time in the autumn overlap (it happens twice that night)."""
    return local.replace(tzinfo=LONDON, fold=0).utcoffset() != local.replace(tzinfo=LONDON, fold=1).utcoffset()


def first_occurrence_utc(local: datetime) -> datetime:
    """The UTC instant of a naive London time; in the autumn overlap, the first (BST) one."""
    return local.replace(tzinfo=LONDON, fold=0).astimezone(UTC)
