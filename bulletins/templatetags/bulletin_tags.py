"""Dates and labels for bulletin pages: "2 December 2026, 9:30am" in UK time, clock changes named."""

from django import template

from bulletins.scheduling import describe_instant

register = template.Library()

STATUS_TAGS = {
    "draft": "nhsuk-tag--grey", "approved": "nhsuk-tag--green", "scheduled": "nhsuk-tag--blue",
    "sending": "nhsuk-tag--blue", "paused": "nhsuk-tag--yellow", "sent": "nhsuk-tag--green",
    "cancelled": "nhsuk-tag--red", "pending": "nhsuk-tag--yellow", "rejected": "nhsuk-tag--red",
    "failed": "nhsuk-tag--red", "skipped": "nhsuk-tag--grey",
}


@register.filter
def uk_time(moment) -> str:
    return describe_instant(moment) if moment else ""


@register.filter
def uk_date(moment) -> str:
    """Just the day: 2 December 2026."""
    return describe_instant(moment).split(",")[0] if moment else ""


@register.filter
def status_tag(status) -> str:
    return STATUS_TAGS.get(str(status), "nhsuk-tag--grey")


@register.filter
def person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@register.filter
def audience_sentence(bulletin) -> str:
    """Who the bulletin goes (or went) to, naming its segment: "People who …, in the segment “North”"."""
    from bulletins.audience import describe_audience

    return describe_audience(bulletin)


@register.simple_tag
def emailed_invitations(event):
    """The invitation emails for an event (newest first), for the event's staff page."""
    from bulletins.models import Bulletin

    return list(Bulletin.objects.filter(kind=Bulletin.Kind.EVENT_INVITATION, event=event)
                .select_related("segment").order_by("-created_at"))
