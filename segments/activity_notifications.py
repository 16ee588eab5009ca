"""Emails to the staff who lead or follow an activity, when it is created or changes status.

One email per person (plain text and simple HTML, with a link to the activity page), sent after the
change commits through a Huey task per person, like the project's other mail (a retry after a failed
send resends only that person's email, never everyone's). The person who made the change is
not emailed: they know (as mature tools do); everyone else among the lead and followers is, once
even if they are both. Inactive accounts and accounts without an address are skipped.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from crm import organisation
from crm.audit import Actor
from segments.models import Activity

logger = logging.getLogger(__name__)

CREATED = "created"
STATUS = "status"


def notify_on_commit(*, activity: Activity, change: str, actor: Actor, previous_status: str = "") -> None:
    from segments.tasks import send_activity_notification  # noqa: PLC0415 - tasks import this module

    payload = {"activity_id": activity.pk, "change": change, "actor_id": getattr(actor.user, "pk", None),
               "previous_status": previous_status, "status": activity.status}

    def queue():
        for person_id in recipient_ids(activity.pk, payload["actor_id"]):
            send_activity_notification(recipient_id=person_id, **payload)

    transaction.on_commit(queue)


def recipient_ids(activity_id: int, actor_id: int | None) -> list[int]:
    """The lead and followers (each once) with an active account and an address, except the actor."""
    activity = Activity.objects.filter(pk=activity_id).first()
    if activity is None:
        return []
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    people = users.filter(pk__in=[activity.lead_id, *activity.followers.values_list("pk", flat=True)])
    if actor_id is not None:
        people = people.exclude(pk=actor_id)
    return list(people.order_by("pk").values_list("pk", flat=True))


def subject(activity: Activity, change: str, status: str) -> str:
    if change == CREATED:
        return f"New activity: {activity.title}"
    return f"{activity.title} is now {Activity.Status(status).label.lower()}"


def send_notification(*, recipient_id: int, activity_id: int, change: str, actor_id: int | None,
                      previous_status: str = "", status: str = "") -> bool:
    """Email one person; False if the activity or the person has gone, or they may no longer see it."""
    activity = Activity.objects.select_related("programme", "lead").filter(pk=activity_id).first()
    person = get_user_model().objects.filter(pk=recipient_id, is_active=True).exclude(email="").first()
    if activity is None or person is None or not person.has_perm("segments.view_activity"):
        return False
    status = status or activity.status
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    context = {
        "person": person, "activity": activity, "change": change,
        "link": settings.SITE_URL + reverse("segments:activity_detail", args=[activity.pk]),
        "status_label": Activity.Status(status).label.lower(),
        "previous_label": Activity.Status(previous_status).label.lower() if previous_status else "",
        "actor_name": (actor.get_full_name() or actor.get_username()) if actor else "My NHS",
        "is_lead": person.pk == activity.lead_id, "organisation": organisation.current(),
    }
    text = render_to_string("segments/activities/email/notification.txt", context)
    html = render_to_string("segments/activities/email/notification.html", context)
    message = EmailMultiAlternatives(subject(activity, change, status), text, settings.DEFAULT_FROM_EMAIL,
                                     [person.email])
    message.attach_alternative(html, "text/html")
    message.send()
    logger.info("Activity %s: %s notification sent to staff member %s", activity_id, change, recipient_id)
    return True
