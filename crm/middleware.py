import time

from django.conf import settings
from django.contrib.auth import logout


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
