"""Dates and times as people read them (GOV.UK / NHS.UK style), in Europe/London.

``{{ value|when }}`` → "2 December 2026, 9:30am" ("9am", "midday", "midnight" on the hour);
``{{ value|day }}`` → "2 December 2026". Both take a datetime, a date or an ISO 8601 string (the
subject access export holds strings), and leave anything else (blank, unparseable) as it was.
"""

from datetime import date, datetime

from django import template
from django.utils import timezone

register = template.Library()

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def _parse(value):
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value) if "T" in value or " " in value.strip() else date.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, date) else None


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def clock(moment: datetime) -> str:
    if moment.hour == 0 and moment.minute == 0:
        return "midnight"
    if moment.hour == 12 and moment.minute == 0:
        return "midday"
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes}{'am' if moment.hour < 12 else 'pm'}"


def long_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


@register.filter
def when(value):
    parsed = _parse(value)
    if parsed is None:
        return value
    if not isinstance(parsed, datetime):
        return long_date(parsed)
    moment = _local(parsed)
    return f"{long_date(moment)}, {clock(moment)}"


@register.filter
def day(value):
    parsed = _parse(value)
    if parsed is None:
        return value
    return long_date(_local(parsed).date() if isinstance(parsed, datetime) else parsed)
