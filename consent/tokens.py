"""Signed personal links (confirm, preferences, unsubscribe, comment).

Reads like ``django.contrib.auth.tokens``: one small class. A token is
``<public id>:<timestamp>:<signature>``; the public id is a random UUID, so the link carries no
readable personal data. The signature is bound to the link's purpose and to the contact's
current address hash, so a token for one purpose is refused for another and all tokens die
when the address changes or the person is erased.
"""

from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError

from crm.models import Contact


class PersonalLinkTokenGenerator:
    key_salt = "consent.tokens.PersonalLinkTokenGenerator"
    max_age = {
        "confirm": timedelta(days=30),
        "preferences": timedelta(days=90),
        "unsubscribe": timedelta(days=400),  # old bulletins must still unsubscribe
        "comment": timedelta(days=90),
    }

    def make_token(self, contact: Contact, purpose: str) -> str:
        return self._signer(contact, purpose).sign(contact.public_id.hex)

    def check_token(self, token: str, purpose: str) -> Contact | None:
        """The contact the token was made for, or None if tampered, expired or for another purpose."""
        if purpose not in self.max_age or not isinstance(token, str) or token.count(":") != 2:
            return None
        public_id = token.split(":", 1)[0]
        try:
            contact = Contact.objects.get(public_id=public_id)
        except (Contact.DoesNotExist, ValueError, ValidationError):
            return None
        try:
            value = self._signer(contact, purpose).unsign(token, max_age=self.max_age[purpose])
        except signing.BadSignature:  # includes SignatureExpired
            return None
        return contact if value == contact.public_id.hex else None

    def _signer(self, contact: Contact, purpose: str) -> signing.TimestampSigner:
        return signing.TimestampSigner(salt=f"{self.key_salt}.{purpose}.{contact.email_hash}", algorithm="sha256")


personal_link_tokens = PersonalLinkTokenGenerator()
