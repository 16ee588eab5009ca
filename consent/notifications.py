"""Emails about a person's own subscription: confirmation, preference-centre and data-access links.

Every personal-link email passes through ``send_personal_link_email``, which caps how many any one
address receives (consent.ratelimits.may_email_personal_link): asking from many client addresses
cannot flood a person's mailbox. Over the cap the email is skipped silently, so the public answer
to whoever asked stays the same.
"""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from consent import ratelimits
from consent.tokens import DATA_ACCESS, personal_link_tokens
from crm import organisation
from crm.models import Contact

logger = logging.getLogger(__name__)

SUBJECTS = {
    "confirm": "Confirm your My NHS sign-up",
    "preferences": "Your My NHS preferences link",
    DATA_ACCESS: "Your link to see or delete your My NHS data",
}
LINK_ROUTES = {"confirm": "consent:confirm", "preferences": "consent:preferences", DATA_ACCESS: "consent:data_open"}


def personal_link(contact: Contact, kind: str) -> str:
    token = personal_link_tokens.make_token(contact, kind)
    return settings.SITE_URL + reverse(LINK_ROUTES.get(kind, f"consent:{kind}"), args=[token])


def valid_for(kind: str) -> str:
    """How long a link of ``kind`` works, as a person would say it ("90 days", "1 hour")."""
    age = personal_link_tokens.max_age[kind]
    if age.days:
        return f"{age.days} day{'s' if age.days != 1 else ''}"
    hours = age.seconds // 3600
    return f"{hours} hour{'s' if hours != 1 else ''}"


def send_personal_link_email(contact: Contact, kind: str) -> bool:
    """Send the ``kind`` link to the contact's address, unless that address has had its share. True if sent."""
    if not ratelimits.may_email_personal_link(contact.email_hash):
        logger.info("Personal-link email (%s) not sent: this address has had its limit for now", kind)
        return False
    context = {"contact": contact, "link": personal_link(contact, kind), "site_url": settings.SITE_URL,
               "organisation": organisation.current(),
               "valid_days": personal_link_tokens.max_age[kind].days, "valid_for": valid_for(kind)}
    text = render_to_string(f"consent/email/{kind}.txt", context)
    html = render_to_string(f"consent/email/{kind}.html", context)
    message = EmailMultiAlternatives(SUBJECTS[kind], text, settings.DEFAULT_FROM_EMAIL, [contact.email])
    message.attach_alternative(html, "text/html")
    message.send()
    return True


def _queue(contact: Contact, kind: str) -> None:
    from consent.tasks import send_personal_link  # noqa: PLC0415 - tasks import this module

    contact_id = contact.pk
    transaction.on_commit(lambda: send_personal_link(contact_id, kind))


def send_confirmation_on_commit(contact: Contact) -> None:
    _queue(contact, "confirm")


def send_preferences_link_on_commit(contact: Contact) -> None:
    _queue(contact, "preferences")


def send_data_access_link_on_commit(contact: Contact) -> None:
    _queue(contact, DATA_ACCESS)
