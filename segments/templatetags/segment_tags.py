"""Event times as people read them: "Friday 12 March 2027, 10am to 12:30pm" (Europe/London)."""

from django import template
from django.utils import timezone

from crm.templatetags.nhs_dates import clock, long_date

register = template.Library()


@register.filter
def event_when(event) -> str:
    starts, ends = timezone.localtime(event.starts_at), timezone.localtime(event.ends_at)
    first = f"{starts:%A} {long_date(starts.date())}, {clock(starts)}"
    if ends.date() == starts.date():
        return f"{first} to {clock(ends)}"
    return f"{first} to {ends:%A} {long_date(ends.date())}, {clock(ends)}"
