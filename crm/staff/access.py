"""Access rules for every staff page: signed in, second factor verified, and the role's permission.

Use ``@staff_view("app.codename")`` on every staff view function (or ``@staff_view()`` for pages
any verified staff member may see). Missing permission is a 403 — never a 404/500, and never a
hint about whether a record exists (check permission before looking anything up).
"""

from functools import wraps

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode


def staff_view(*permissions: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated or not user.is_active:
                return redirect(f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': request.get_full_path()})}")
            if not user.is_verified():
                return redirect(f"{reverse('staff:verify')}?{urlencode({'next': request.get_full_path()})}")
            if permissions and not user.has_perms(permissions):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.staff_permissions = permissions
        return wrapped

    return decorator
