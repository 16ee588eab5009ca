"""Thin Huey tasks for segments: the services do the work."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from crm.audit import Actor
from segments import exports


@db_periodic_task(crontab(minute="17"))
def delete_expired_exports():
    """Hourly: invitation-list files whose 7-day link has expired are deleted from disk."""
    return exports.delete_expired_exports(actor=Actor.system())


@db_task(retries=3, retry_delay=60)
def send_activity_notification(**payload) -> bool:
    """An activity was created or changed status: email one of its lead and followers (queued after commit)."""
    from segments.activity_notifications import send_notification  # noqa: PLC0415

    return send_notification(**payload)
