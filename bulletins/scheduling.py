"""Send times: entered and shown in Europe/London, stored in UTC, clock changes handled honestly.

A wall time in the spring gap (the clocks jump from 1am to 2am) never happens, so it is refused.
A wall time in the autumn overlap (1am to 2am happens twice) is taken at its first occurrence,
while British Summer Time is still in force, and pages say so.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError

from crm.london_time import LONDON, first_occurrence_utc, is_ambiguous, wall_time_exists


@dataclass(frozen=True)
class ScheduledTime:
    utc: datetime
    ambiguous: bool  # the wall time happens twice that night; we take the first (BST) one


def london_to_utc(local: datetime) -> ScheduledTime:
    """A naive Europe/London wall time → the UTC instant it names; refuses a time that does not exist."""
    local = local.replace(tzinfo=None, second=0, microsecond=0)
    if not wall_time_exists(local):
        gap_start = local.replace(minute=0)  # UK changes happen on the hour and last one hour
        raise ValidationError(
            {"send_at": f"{describe_wall_time(local)} does not exist in the UK: the clocks go forward "
                        f"from {format_hour(gap_start)} to {format_hour(gap_start + timedelta(hours=1))} that night. "
                        "Choose a time before or after the change."},
            code="nonexistent_time")
    return ScheduledTime(utc=first_occurrence_utc(local), ambiguous=is_ambiguous(local))


def format_hour(moment: datetime) -> str:
    return moment.strftime("%-I%p").lower()


def format_time(moment: datetime) -> str:
    """9:30am, 12pm: NHS.UK style times."""
    text = moment.strftime("%-I:%M%p").lower()
    return text.replace(":00", "")


def describe_wall_time(local: datetime) -> str:
    return f"{local.day} {local:%B %Y}, {format_time(local)}"


def describe_instant(moment: datetime) -> str:
    """A UTC instant as people in the UK read it, naming the clock change when it matters:
    "25 October 2026, 1:30am (BST, the first of the two 1:30ams that night)"."""
    local = moment.astimezone(LONDON)
    text = describe_wall_time(local.replace(tzinfo=None))
    wall = local.replace(tzinfo=None)
    if is_ambiguous(wall):
        which = "first" if local.fold == 0 else "second"
        text += f" ({local.tzname()}, the {which} of the two {format_time(wall)}s that night, as the clocks go back)"
    return text
