"""Normalising what people type: email addresses and UK postcodes."""

import hashlib
import hmac
import re

import idna
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

_email_syntax = EmailValidator(message="Enter an email address in the correct format, like name@example.com")
# Royal Mail formats (A9 9AA, A99 9AA, A9A 9AA, AA9 9AA, AA99 9AA, AA9A 9AA) plus GIR 0AA.
_POSTCODE_RE = re.compile(r"^(GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-HJKPSTUW\d]? ?\d[ABD-HJLNP-UW-Z]{2})$")


def normalise_email(raw: str) -> str:
    """The comparison key for an address: trimmed, lower-cased, domain IDNA-encoded.

    Raises ValidationError with a message a member of the public can act on.
    """
    value = (raw or "").strip()
    if not value:
        raise ValidationError("Enter your email address", code="required")
    if len(value) > 254 or "@" not in value or any(ch in value for ch in "\r\n\t "):
        raise ValidationError(_email_syntax.message, code="invalid")
    local, _, domain = value.rpartition("@")
    try:
        ascii_domain = idna.encode(domain.strip().rstrip("."), uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValidationError(_email_syntax.message, code="invalid") from exc
    normalised = f"{local.lower()}@{ascii_domain.lower()}"
    _email_syntax(normalised)
    return normalised


def address_hash(normalised_email: str) -> str:
    """Keyed hash used for suppressions and lookups; never reversible to the address."""
    key = settings.SUPPRESSION_PEPPER.encode()
    return hmac.new(key, normalised_email.encode(), hashlib.sha256).hexdigest()


def normalise_postcode(raw: str) -> str:
    """Upper-case with one space before the inward code; '' stays ''. Raises ValidationError."""
    compact = re.sub(r"\s+", "", (raw or "").upper())
    if not compact:
        return ""
    if not _POSTCODE_RE.match(compact):
        raise ValidationError("Enter a real postcode, like L20 3NJ", code="invalid")
    return f"{compact[:-3]} {compact[-3:]}"


def outward_code(postcode: str) -> str:
    return postcode.split(" ")[0] if postcode else ""
