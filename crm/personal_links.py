"""Writes to a contact's personal-link counters (read by consent.tokens when it signs and checks links).

Here, in ``crm``, so that every layer can kill a person's links: an address change (crm or consent),
erasure and merging (consent), and the person's own "sign me out of all links" button.
"""

from django.db import transaction
from django.db.models import F

from crm.audit import Actor, record_audit
from crm.models import Contact


def invalidate_personal_links(*, contact: Contact, actor: Actor, reason: str) -> int:
    """Kill every personal link (confirm, preferences, unsubscribe, comment, data access…) made so far.

    Raising the epoch is permanent: nothing lowers it, so no later change (an address changed back,
    say) brings an old link back. Returns the new epoch and sets it on ``contact``.
    ``reason`` is a short code for the audit entry, e.g. "email_changed", "erasure", "person_signed_out".
    """
    with transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(link_epoch=F("link_epoch") + 1)
        contact.link_epoch = Contact.objects.values_list("link_epoch", flat=True).get(pk=contact.pk)
        record_audit(actor=actor, action="contact.personal_links_invalidated", obj=contact,
                     changes={"reason": reason})
    return contact.link_epoch


def spend_data_access_link(*, contact: Contact, counter: int, actor: Actor) -> bool:
    """Use up the data-access link signed with ``counter``. True for exactly one caller, however many race.

    The conditional UPDATE is the single-use check: of two requests presenting the same link, only
    the first finds the counter unchanged.
    """
    with transaction.atomic():
        spent = Contact.objects.filter(pk=contact.pk, data_link_counter=counter).update(
            data_link_counter=F("data_link_counter") + 1)
        if not spent:
            return False
        contact.data_link_counter = counter + 1
        record_audit(actor=actor, action="contact.data_access_link_used", obj=contact)
    return True
