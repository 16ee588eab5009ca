"""Normalising what people type: email addresses and UK postcodes."""

import hmac
import re
from functools import lru_cache

import idna
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator


class _EagerEmailValidator(EmailValidator):
    """Django's email rules, its patterns compiled once at import: its own are lazily compiled
    proxies, and each use costs a proxy lookup (a fifth of a 100,000-row import's checking)."""

    user_regex = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
    domain_regex = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)
    literal_regex = re.compile(EmailValidator.literal_regex.pattern, EmailValidator.literal_regex.flags)


_email_syntax = _EagerEmailValidator(message="Enter an email address in the correct format, like name@example.com")
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
        ascii_domain = _ascii_domain(domain.strip().rstrip("."))
    except idna.IDNAError as exc:
        raise ValidationError(_email_syntax.message, code="invalid") from exc
    normalised = f"{local.lower()}@{ascii_domain.lower()}"
    _email_syntax(normalised)
    return normalised


@lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str:
    # IDNA encoding is the slow part of normalising, and a file of thousands of addresses has few domains.
    return idna.encode(domain, uts46=True).decode("ascii")


def suppression_peppers() -> list[tuple[str, str]]:
    """(key id, pepper) pairs, the current one first.

    ``SUPPRESSION_PEPPERS`` ("k2:new-secret,k1:old-secret") lets the pepper be rotated: new hashes use
    the first; suppressions of erased people, whose addresses nobody knows any more, stay findable
    under the older ones, so an old pepper is kept in the list for as long as such rows exist (the
    ``rotate_suppression_pepper`` command re-hashes everything else and says how many remain).
    """
    configured = getattr(settings, "SUPPRESSION_PEPPERS", None)
    if configured:
        return [tuple(pair) for pair in configured]
    return [("v1", settings.SUPPRESSION_PEPPER)]


def _hmac(pepper: str, normalised_email: str) -> str:
    return hmac.digest(pepper.encode(), normalised_email.encode(), "sha256").hex()  # one-shot, in C


def current_pepper_key_id() -> str:
    return suppression_peppers()[0][0]


def address_hash(normalised_email: str) -> str:
    """Keyed hash (current pepper) used for suppressions and lookups; never reversible to the address."""
    return _hmac(suppression_peppers()[0][1], normalised_email)


def address_hashes(normalised_email: str) -> list[str]:
    """The address's hash under every configured pepper, the current one first (lookups across a rotation)."""
    return [_hmac(pepper, normalised_email) for _, pepper in suppression_peppers()]


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
