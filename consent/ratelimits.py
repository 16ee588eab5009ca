"""One rate limit for every public write (web forms and API), per client address.

django-ratelimit counts in the shared cache with an atomic fixed window, keyed on REMOTE_ADDR
(never X-Forwarded-For, which a client can forge); the proxy in front must set REMOTE_ADDR.
"""

from django.conf import settings
from django_ratelimit.core import is_ratelimited
from ninja.throttling import BaseThrottle

KEY = "ip"


def public_rate(group, request) -> str:
    # Read at request time so the limit follows settings (and tests can lower it).
    return settings.PUBLIC_RATE_LIMIT


class PublicClientThrottle(BaseThrottle):
    """django-ninja throttle that applies settings.PUBLIC_RATE_LIMIT through django-ratelimit."""

    def __init__(self, group: str):
        self.group = group

    def allow_request(self, request) -> bool:
        return not is_ratelimited(request, group=self.group, key=KEY, rate=public_rate, increment=True)
