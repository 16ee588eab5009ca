"""Thin Huey tasks: each calls a service or a notification and is safe to retry."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from consent import notifications, retention
from crm.audit import Actor
from crm.models import Contact


@db_task(retries=3, retry_delay=60)
def send_personal_link(contact_id: int, kind: str) -> None:
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is not None:  # erased or expired meanwhile: nothing to send
        notifications.send_personal_link_email(contact, kind)


@db_periodic_task(crontab(minute="17", hour="3"))
def delete_expired_sign_ups() -> int:
    """The nightly retention run: delete expired unconfirmed sign-ups and record how many people
    await the two-year review (both shown on the dashboard). Returns the number deleted."""
    return retention.run_retention(actor=Actor.system()).deleted_unconfirmed
