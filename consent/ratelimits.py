"""Public rate limits: one budget per client address, and a cap on personal-link emails per recipient.

One budget (group ``PUBLIC_GROUP``) is shared by every public write: the web sign-up form, the API
sign-up, the preferences-link and data-link requests. Switching between them does not buy a client
more tries. django-ratelimit counts in the shared cache (Redis in production) with an atomic fixed
window keyed on REMOTE_ADDR (never X-Forwarded-For, which a client can forge; behind a proxy,
crm.middleware.TrustedProxyMiddleware puts the visitor's address there). Every 429 says when to
come back (``Retry-After``).

The per-recipient cap is separate and silent: thirty clients asking for links to one address send
that person at most ``PERSONAL_LINK_EMAIL_RATE`` emails; the answer to each client stays the same.
"""

import threading
from functools import wraps

from django.conf import settings
from django.shortcuts import render
from django_ratelimit.core import get_usage
from ninja.throttling import BaseThrottle

KEY = "ip"
PUBLIC_GROUP = "consent.public"
PERSONAL_LINK_EMAIL_GROUP = "consent.personal_link_emails"


def public_rate(group, request) -> str:
    # Read at request time so the limit follows settings (and tests can lower it).
    return settings.PUBLIC_RATE_LIMIT


def spend_public_budget(request) -> int | None:
    """Count one public write for this client. None if within budget, else seconds until it renews."""
    usage = get_usage(request, group=PUBLIC_GROUP, key=KEY, rate=public_rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return max(1, usage["time_left"])


def too_many_requests(request, retry_after: int):
    response = render(request, "rate_limited.html", status=429)
    response["Retry-After"] = str(retry_after)
    return response


def limit_public_posts(view):
    """Each POST to ``view`` spends the client's public budget; over it, a 429 page with Retry-After."""
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST":
            retry_after = spend_public_budget(request)
            if retry_after is not None:
                return too_many_requests(request, retry_after)
        return view(request, *args, **kwargs)
    return wrapped


class PublicClientThrottle(BaseThrottle):
    """django-ninja throttle spending the same public budget; ``wait()`` gives ninja its Retry-After."""

    def __init__(self, group: str | None = None):
        # ``group`` is accepted for older callers and ignored: there is one public budget.
        self._last = threading.local()  # one throttle object serves every request thread

    def allow_request(self, request) -> bool:
        self._last.retry_after = spend_public_budget(request)
        return self._last.retry_after is None

    def wait(self) -> float | None:
        return getattr(self._last, "retry_after", None)


def personal_link_email_rate(group, request) -> str:
    return settings.PERSONAL_LINK_EMAIL_RATE


def may_email_personal_link(address_hash: str) -> bool:
    """Count one personal-link email to this address; False once the address has had its share."""
    usage = get_usage(None, group=PERSONAL_LINK_EMAIL_GROUP, key=lambda group, request: address_hash,
                      rate=personal_link_email_rate, increment=True)
    return usage is None or not usage["should_limit"]
