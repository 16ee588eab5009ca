"""Keep personal links out of the logs.

A confirm, preferences or unsubscribe link is a bearer credential: whoever holds it can read and
change that person's details for weeks. Django logs request paths (404s, the development server's
access log), so every handler gets this filter, which blanks the token part of such paths.
"""

import logging
import re

PERSONAL_LINK = re.compile(r"/(confirm|preferences|unsubscribe|your-data/open|comment)/(?!check-your-email/)[^/\s?\"']+")
REDACTED = r"/\1/[redacted]"


def redact(text: str) -> str:
    return PERSONAL_LINK.sub(REDACTED, text)


class RedactPersonalLinks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            # Freeze the formatted message: the arguments held the link.
            record.msg, record.args = cleaned, None
        return True


class OneLineForRefusals(logging.Filter):
    """A refused request (403) is routine, not a fault: log Django's one line, without the traceback.

    Django's request logger attaches the PermissionDenied exception to its "Forbidden" warning, so the
    handler would print a traceback for every page a role may not open.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.request" and getattr(record, "status_code", None) == 403:
            record.exc_info, record.exc_text = None, None
        return True
