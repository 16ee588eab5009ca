"""Signed RSVP links: one person, one event, no password.

Reads like ``django.contrib.auth.tokens`` and ``consent.tokens``: the token is
``<contact public id>.<event public id>:<timestamp>:<signature>``, signed with a salt that names the
event and the contact's link epoch, so a link for one event or person never works for another, and
"sign me out of all links" (or erasure, or an address change) kills it too.
"""

from datetime import timedelta
from uuid import UUID

from django.core import signing

from segments.models import Event, Invitation


class RsvpTokenGenerator:
    key_salt = "segments.rsvp.RsvpTokenGenerator"
    max_age = timedelta(days=365)

    def make_token(self, invitation: Invitation) -> str:
        contact, event = invitation.contact, invitation.event
        return self._signer(contact, event).sign(f"{contact.public_id.hex}.{event.public_id.hex}")

    def check_token(self, token: str) -> Invitation | None:
        """The invitation the token was made for, or None if tampered, expired, killed or for another."""
        if not isinstance(token, str) or token.count(":") != 2 or token.count(".") != 1:
            return None
        contact_hex, _, rest = token.partition(".")
        event_hex = rest.split(":", 1)[0]
        try:
            invitation = Invitation.objects.select_related("contact", "event").get(
                contact__public_id=UUID(hex=contact_hex), event__public_id=UUID(hex=event_hex))
        except (Invitation.DoesNotExist, ValueError):
            return None
        try:
            value = self._signer(invitation.contact, invitation.event).unsign(token, max_age=self.max_age)
        except signing.BadSignature:
            return None
        return invitation if value == f"{contact_hex}.{event_hex}" else None

    def _signer(self, contact, event: Event) -> signing.TimestampSigner:
        salt = f"{self.key_salt}.{event.public_id.hex}.{contact.link_epoch}.{contact.email_hash}"
        return signing.TimestampSigner(salt=salt, algorithm="sha256")


rsvp_tokens = RsvpTokenGenerator()
