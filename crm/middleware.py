import ipaddress
import time

from django.conf import settings
from django.contrib.auth import logout


class TrustedProxyMiddleware:
    """Puts the real client address in REMOTE_ADDR when the site runs behind known proxies.

    Rate limits, lockouts and audit entries all read REMOTE_ADDR. Behind a proxy that is the
    proxy's own address, so every visitor would share one rate limit. With TRUSTED_PROXY_COUNT = n,
    the address the outermost of our n proxies saw is the n-th entry from the right of
    X-Forwarded-For: everything to its left was written by the client and may be forged.
    With 0 (the default, no proxy) the header is ignored entirely.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = settings.TRUSTED_PROXY_COUNT
        if count:
            request.META["REMOTE_ADDR"] = client_address(request.META, proxies=count)
        return self.get_response(request)


def client_address(meta, *, proxies: int) -> str:
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        # Not through all our proxies (or a proxy was bypassed): only the socket's peer is known.
        return meta.get("REMOTE_ADDR", "")
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return meta.get("REMOTE_ADDR", "")


class HeadAsGetMiddleware:
    """Answers HEAD wherever GET is answered, with GET's headers and no body (RFC 9110 9.3.2).

    Link checkers and mail scanners send HEAD. Django's ``require_GET`` and django-ninja's GET routes
    would refuse it with 405; running the GET view instead is safe because GET changes nothing on
    any page here (a personal link only shows a button), so HEAD changes nothing either.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "HEAD":
            return self.get_response(request)
        request.method = "GET"
        try:
            response = self.get_response(request)
        finally:
            request.method = "HEAD"
        if response.streaming:
            response.streaming_content = []
        else:
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response


class RetryAfterMiddleware:
    """Every 429 says when to come back (RFC 6585 recommends Retry-After, well-behaved clients wait).

    The public rate limits set the exact time left in their window (consent.ratelimits); this fills
    in any other 429 (a lockout page, a library's own answer) with a conservative default.
    """

    DEFAULT_SECONDS = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 429 and not response.has_header("Retry-After"):
            response["Retry-After"] = str(self.DEFAULT_SECONDS)
        return response


class StaffSessionMiddleware:
    """Signs staff out after a period of inactivity (the session cookie alone has a fixed age)."""

    SESSION_KEY = "_staff_last_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(self.SESSION_KEY, now)
            if now - last_seen > settings.STAFF_SESSION_IDLE_SECONDS:
                logout(request)
                request.session["_expired_notice"] = True
            else:
                request.session[self.SESSION_KEY] = now
        return self.get_response(request)
