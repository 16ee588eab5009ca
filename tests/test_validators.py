"""The fast checks agree exactly with their definitions."""

import sys
import unicodedata

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from crm.normalise import _email_syntax, address_hash, normalise_email
from crm.validators import _BIDI_CONTROLS, has_control_characters


def test_control_character_regex_matches_the_unicode_categories_for_every_code_point():
    """The rule: Unicode categories Cc, Zl and Zp, and the bidirectional controls."""
    def refused(ch):
        return ch in _BIDI_CONTROLS or unicodedata.category(ch) in {"Cc", "Zl", "Zp"}

    disagree = [hex(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF
                and has_control_characters(chr(cp)) != refused(chr(cp))]
    assert disagree == []


@pytest.mark.parametrize("value, refused", [
    ("Ann Smith", False), ("", False), ("Zoë O'Neill-Ng", False), ("a\u200db", False),  # zero-width joiner is writing
    ("line\nbreak", True), ("tab\there", True), ("nul\x00", True), ("\x85next", True),
    ("para\u2029graph", True), ("rtl\u202eoverride", True), ("isolate\u2066x", True),
])
def test_control_characters_in_names(value, refused):
    assert has_control_characters(value) is refused


@pytest.mark.parametrize("address", [
    "ann@example.org", "a.b+c@sub.example.co.uk", '"quoted name"@example.org', "x@[127.0.0.1]", "x@localhost",
    "ann@example", "a..b@example.org", "ann@-example.org", "ann@exa_mple.org", "@example.org", "ann@",
    "ann@[999.1.1.1]", "ann smith@example.org",
])
def test_email_syntax_is_djangos(address):
    """Our eagerly compiled validator refuses exactly what Django's EmailValidator refuses."""
    def verdict(validator):
        try:
            validator(address)
        except ValidationError:
            return False
        return True

    assert verdict(_email_syntax) == verdict(EmailValidator())


def test_address_hash_is_hmac_sha256_hex(settings):
    import hashlib
    import hmac

    settings.SUPPRESSION_PEPPERS = [("k1", "pepper")]
    expected = hmac.new(b"pepper", b"ann@example.org", hashlib.sha256).hexdigest()
    assert address_hash(normalise_email(" Ann@Example.ORG ")) == expected
