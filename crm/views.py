from django.shortcuts import render


def rate_limited(request, exception=None):
    """Shown when a public form is used too often from one address (django-ratelimit)."""
    return render(request, "rate_limited.html", status=429)
