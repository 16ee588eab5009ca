"""Checks a web server makes once, as it loads the application (crm/wsgi.py, crm/asgi.py).

The settings refuse a production start with development secrets (crm/settings.py). What they
cannot see is the database: a production database that still holds the demo staff accounts, whose
password and backup codes are printed in the README, is open to anyone. Checking costs one query,
plus one password hash for each active account that has a demo name (so usually none).
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError


def demo_accounts_still_usable() -> list[str]:
    """Usernames of active demo staff accounts that still accept the published demo password."""
    from django.contrib.auth.models import User

    from crm.demo_staff import DEMO_PASSWORD, DEMO_STAFF

    names = [staff.username for staff in DEMO_STAFF]
    try:
        users = list(User.objects.filter(username__in=names, is_active=True).order_by("username"))
    except DatabaseError:
        return []  # no tables yet (before the first migrate): nobody can sign in either
    return [user.username for user in users if user.check_password(DEMO_PASSWORD)]


def refuse_unsafe_start() -> None:
    """Raise ImproperlyConfigured if the organisation file is unusable, or, in production, if the demo
    staff accounts could sign in."""
    from crm.organisation import current

    current()  # raises OrganisationFileError, naming the file and the line, before any page needs it
    if settings.ENVIRONMENT != "production":
        return
    usable = demo_accounts_still_usable()
    if usable:
        raise ImproperlyConfigured(
            "Refusing to start in production: demo staff accounts still usable with the published demo "
            "password: " + ", ".join(usable) + ". Deactivate them (Django admin, or "
            "`manage.py shell`: User.objects.filter(username__in=[...]).update(is_active=False)) "
            "or give them new passwords (`manage.py changepassword NAME`)."
        )
