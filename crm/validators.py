"""Validators for free text that may reach an email, a header or a log line (forms and API alike)."""

import re

from django.core.exceptions import ValidationError

# Bidirectional overrides and isolates (Unicode category Cf) can make an email read differently
# from what was typed. Other Cf characters (zero-width joiners) are part of ordinary writing in
# several scripts, so only these are refused.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

CONTROL_CHARACTERS_MESSAGE = "Remove line breaks, tabs and other hidden characters"


# Refused: Unicode categories Cc (C0 controls such as CR, LF, tab, NUL; DEL; C1 controls), Zl and Zp
# (line and paragraph separators), and the bidi controls above. As one character class, searched
# once, not a category lookup per character: Cc is U+0000-001F and U+007F-009F (fixed by Unicode's
# stability policy), Zl and Zp are U+2028 and U+2029. tests/test_validators.py checks every code point.
_REFUSED_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + "".join(sorted(_BIDI_CONTROLS)) + "]")


def has_control_characters(value: str) -> bool:
    return bool(value) and _REFUSED_RE.search(value) is not None



def reject_control_characters(value: str, message: str = CONTROL_CHARACTERS_MESSAGE) -> None:
    """Raise ValidationError (code "control_characters") if ``value`` holds a line break or control character."""
    if has_control_characters(value):
        raise ValidationError(message, code="control_characters")


class ControlCharacterValidator:
    """``reject_control_characters`` with a message naming the field, for a form field's ``validators``."""

    def __init__(self, label: str):
        self.message = f"{label} must not contain line breaks, tabs or other hidden characters"

    def __call__(self, value: str) -> None:
        reject_control_characters(value, self.message)

    def __eq__(self, other):
        return isinstance(other, ControlCharacterValidator) and other.message == self.message
