"""Signed personal links (confirm, preferences, unsubscribe, comment, data access, and registered ones).

Reads like ``django.contrib.auth.tokens``: one small class. A token is
``<public id>:<timestamp>:<signature>``; the public id is a random UUID, so the link carries no
readable personal data. The signature is bound to the link's purpose, the contact's link epoch and
current address hash, so a token for one purpose is refused for another, and every token dies when
the epoch is raised (erasure, an address change, "sign me out of all links":
``crm.personal_links.invalidate_personal_links``) — for good, since the epoch never goes back.

Links in emails get forwarded, so the long-lived ones may only change choices. The "data access"
link (see or delete my data) is sent on request, lasts an hour and is also bound to the contact's
``data_link_counter``: using it raises the counter, so it works once.
"""

from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError

from crm.models import Contact

DATA_ACCESS = "data_access"
UNSUBSCRIBE = "unsubscribe"
# One-click unsubscribe links for emails sent under purposes other than the e-bulletin (an event
# invitation: "events"). The purposes are part of the link's signed purpose name, so a link can
# only ever withdraw what the email it came in was sent for. Plain "unsubscribe" stays the
# bulletin's (every link already sent keeps working).
UNSUBSCRIBABLE = ("bulletin", "events", "involvement")


def unsubscribe_link_purpose(purpose_codes) -> str:
    """The link purpose of a one-click unsubscribe that withdraws ``purpose_codes``."""
    codes = sorted(set(purpose_codes))
    if not codes or any(code not in UNSUBSCRIBABLE for code in codes):
        raise ValueError(f"Not purposes an unsubscribe link can withdraw: {purpose_codes!r}")
    return UNSUBSCRIBE if codes == ["bulletin"] else "-".join([UNSUBSCRIBE, *codes])


def purposes_of_unsubscribe_link(link_purpose: str) -> tuple[str, ...] | None:
    """The consent purposes an unsubscribe link purpose withdraws, or None if it is not one (or not canonical)."""
    if link_purpose == UNSUBSCRIBE:
        return ("bulletin",)
    prefix, _, rest = link_purpose.partition("-")
    codes = tuple(rest.split("-")) if prefix == UNSUBSCRIBE and rest else ()
    try:
        return codes if codes and unsubscribe_link_purpose(codes) == link_purpose else None
    except ValueError:
        return None


class PersonalLinkTokenGenerator:
    key_salt = "consent.tokens.PersonalLinkTokenGenerator"

    def __init__(self):
        self.max_age = {
            "confirm": timedelta(days=30),
            "preferences": timedelta(days=90),
            "unsubscribe": timedelta(days=400),  # old bulletins must still unsubscribe
            "comment": timedelta(days=90),
            DATA_ACCESS: timedelta(hours=1),
        }

    def register_purpose(self, name: str, max_age: timedelta) -> None:
        """Let another app sign links of its own (e.g. "rsvp"). Re-registering the same age is harmless."""
        if not name or ":" in name or "." in name:
            raise ValueError(f"Not a usable link purpose name: {name!r}")
        if name in self.max_age and self.max_age[name] != max_age:
            raise ValueError(f"Link purpose {name!r} is already registered with another max age")
        self.max_age[name] = max_age

    def _age(self, purpose: str) -> timedelta | None:
        if purpose in self.max_age:
            return self.max_age[purpose]
        return self.max_age[UNSUBSCRIBE] if purposes_of_unsubscribe_link(purpose) else None

    def make_token(self, contact: Contact, purpose: str) -> str:
        if self._age(purpose) is None:
            raise ValueError(f"Unknown link purpose {purpose!r}")
        return self._signer(contact, purpose).sign(contact.public_id.hex)

    def check_token(self, token: str, purpose: str, *, max_age: timedelta | None = None) -> Contact | None:
        """The contact the token was made for, or None if tampered, expired, killed or for another purpose.

        ``max_age`` can only shorten the purpose's own age (e.g. "was this confirmation link sent within the hour?").
        """
        if self._age(purpose) is None or not isinstance(token, str) or token.count(":") != 2:
            return None
        public_id = token.split(":", 1)[0]
        try:
            contact = Contact.objects.get(public_id=public_id)
        except (Contact.DoesNotExist, ValueError, ValidationError):
            return None
        try:
            age = min(self._age(purpose), max_age) if max_age else self._age(purpose)
            value = self._signer(contact, purpose).unsign(token, max_age=age)
        except signing.BadSignature:  # includes SignatureExpired
            return None
        return contact if value == contact.public_id.hex else None

    def _signer(self, contact: Contact, purpose: str) -> signing.TimestampSigner:
        salt = f"{self.key_salt}.{purpose}.{contact.link_epoch}.{contact.email_hash}"
        if purpose == DATA_ACCESS:
            salt += f".{contact.data_link_counter}"
        return signing.TimestampSigner(salt=salt, algorithm="sha256")


personal_link_tokens = PersonalLinkTokenGenerator()
