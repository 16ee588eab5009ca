"""See or delete my data: the fresh, single-use link and the short session it opens.

Links in emails get forwarded, so they may only change choices. Seeing the person's details,
downloading their data, their "about you" answers and erasure sit behind this instead:

1. The person asks (from the preference centre, or by typing their address): a data-access link is
   emailed to the address. It lasts an hour (consent.tokens) and is bound to the contact's
   ``data_link_counter``.
2. Opening it shows a button; pressing it (POST: link scanners only GET) spends the link
   (crm.personal_links.spend_data_access_link) and grants this browser session access to that one
   contact for ``GRANT_SECONDS``.
3. The grant is checked on every request against the contact's link epoch, so "sign me out of all
   links", an address change or erasure also ends it.

A first confirmation (the POST that turns a pending sign-up into a confirmed one) from a link sent
within the hour also opens a grant, for the optional "about you" step straight after.
"""

import time
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction

from consent import notifications
from consent.tokens import DATA_ACCESS, personal_link_tokens
from crm.audit import Actor, record_audit
from crm.models import Contact
from crm.normalise import normalise_email
from crm.personal_links import spend_data_access_link

GRANT_SESSION_KEY = "consent.data_access_grant"
GRANT_SECONDS = 30 * 60
# A confirmation link this young, used for the first time, proves the address as a data-access link does.
FRESH_LINK_AGE = timedelta(hours=1)


# --- asking for a link (services: audited, email queued on commit) -------------------------------

def send_data_access_link(*, contact: Contact, actor: Actor) -> None:
    with transaction.atomic():
        record_audit(actor=actor, action="personal_data.link_requested", obj=contact)
        notifications.send_data_access_link_on_commit(contact)


def request_data_access_link(*, email: str, actor: Actor) -> bool:
    """Email a data-access link if the address belongs to a contact. Callers answer the same way
    whatever this returns (no address enumeration); the result is for tests only."""
    try:
        normalised = normalise_email(email)
    except ValidationError:
        return False
    contact = Contact.objects.filter(email_normalised=normalised).first()
    if contact is None:
        return False
    send_data_access_link(contact=contact, actor=actor)
    return True


def open_data_access(*, token: str, actor: Actor) -> Contact | None:
    """The contact whose valid, unused data-access link this is, spending it; else None."""
    contact = personal_link_tokens.check_token(token, DATA_ACCESS)
    if contact is None:
        return None
    if not spend_data_access_link(contact=contact, counter=contact.data_link_counter, actor=actor):
        return None
    return contact


def record_download(*, contact: Contact, actor: Actor) -> None:
    record_audit(actor=actor, action="personal_data.downloaded", obj=contact)


# --- the session grant ------------------------------------------------------------------------

def grant(request, contact: Contact) -> None:
    """Let this browser session see and change ``contact``'s data for GRANT_SECONDS."""
    request.session.cycle_key()  # a session id known before the grant is useless after it
    request.session[GRANT_SESSION_KEY] = {
        "contact": contact.public_id.hex, "epoch": contact.link_epoch, "until": int(time.time()) + GRANT_SECONDS,
    }


def granted_contact(request) -> Contact | None:
    """The contact this session may see, or None (no grant, expired, or every link was cancelled since)."""
    held = request.session.get(GRANT_SESSION_KEY)
    if not isinstance(held, dict) or held.get("until", 0) <= time.time():
        return None
    contact = Contact.objects.filter(public_id=held.get("contact")).first()
    if contact is None or contact.link_epoch != held.get("epoch"):
        return None
    return contact


def end_grant(request) -> None:
    request.session.pop(GRANT_SESSION_KEY, None)


def minutes_left(request) -> int:
    held = request.session.get(GRANT_SESSION_KEY) or {}
    return max(0, int((held.get("until", 0) - time.time()) // 60))
