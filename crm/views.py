"""Pages that belong to the whole site: rate limiting and the error pages' fallbacks."""

import logging

from django.http import HttpResponseServerError
from django.shortcuts import render

logger = logging.getLogger(__name__)


def rate_limited(request, exception=None):
    """Shown when a public form is used too often from one address (django-ratelimit)."""
    return render(request, "rate_limited.html", status=429)


def server_error(request):
    """The styled 500 page, rendered with the site's context (Django's own handler gives it none).

    If rendering fails too (for example the organisation file broke), answer plain text rather than
    raise inside the error handler.
    """
    try:
        return render(request, "500.html", status=500)
    except Exception:
        logger.exception("The error page could not be rendered")
        return HttpResponseServerError("Sorry, there is a problem with the service. Try again later.",
                                       content_type="text/plain; charset=utf-8")


def csrf_failure(request, reason=""):
    """A form posted without a valid CSRF token (usually an old tab): the styled 403, not Django's bare one."""
    logger.warning("Forbidden (CSRF check failed: %s): %s", reason, request.path)
    return render(request, "403.html", status=403)
