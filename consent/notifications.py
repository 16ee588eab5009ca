"""Emails about a person's own subscription: confirmation and preference-centre links."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from consent.tokens import personal_link_tokens
from crm.models import Contact

SUBJECTS = {
    "confirm": "Confirm your My NHS sign-up",
    "preferences": "Your My NHS preferences link",
}
LINK_ROUTES = {"confirm": "consent:confirm", "preferences": "consent:preferences"}


def personal_link(contact: Contact, kind: str) -> str:
    token = personal_link_tokens.make_token(contact, kind)
    return settings.SITE_URL + reverse(LINK_ROUTES.get(kind, f"consent:{kind}"), args=[token])


def send_personal_link_email(contact: Contact, kind: str) -> None:
    context = {"contact": contact, "link": personal_link(contact, kind), "site_url": settings.SITE_URL,
               "valid_days": personal_link_tokens.max_age[kind].days}
    text = render_to_string(f"consent/email/{kind}.txt", context)
    html = render_to_string(f"consent/email/{kind}.html", context)
    message = EmailMultiAlternatives(SUBJECTS[kind], text, settings.DEFAULT_FROM_EMAIL, [contact.email])
    message.attach_alternative(html, "text/html")
    message.send()


def _queue(contact: Contact, kind: str) -> None:
    from consent.tasks import send_personal_link  # noqa: PLC0415 - tasks import this module

    contact_id = contact.pk
    transaction.on_commit(lambda: send_personal_link(contact_id, kind))


def send_confirmation_on_commit(contact: Contact) -> None:
    _queue(contact, "confirm")


def send_preferences_link_on_commit(contact: Contact) -> None:
    _queue(contact, "preferences")
