"""The role matrix, built from the URL configuration rather than a hand-kept list.

Every URL under /staff/ (both namespaces, whoever added it) must carry ``@staff_view`` (or be one of
the few sign-in pages). For each role, with a verified second factor: a route whose permissions the
role lacks answers 403 — also for an object id that does not exist, so a 403/404 difference cannot
reveal whether a record exists; a route the role may use answers neither 403, 404 (ids are real)
nor 500. Sessions without a verified device are sent to verification; anonymous visitors to sign-in.
The same matrix runs over every staff API route with personal tokens (401 unknown/revoked, 403 role).

When you add a staff URL with a new keyword argument, teach ``real_kwargs`` which object it names.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import date

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter, UUIDConverter
from ninja.utils import normalize_path

from crm.api import api
from crm.roles import ALL_ROLES
from crm.staff import services
from crm.staff.api_auth import StaffTokenAuth

pytestmark = pytest.mark.django_db

NO_ROLE = "(no role)"
# Pages that must work before the second factor is verified (they are the way to verify it).
SIGN_IN_ROUTES = {"staff:login", "staff:logout", "staff:verify", "staff:setup_2fa"}


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    converters: dict
    permissions: tuple | None

    def __str__(self):
        return f"{self.name} (/{self.route})"


def staff_routes() -> list[Route]:
    found = []

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(part for part in (namespace, pattern.namespace) if part)
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                route = prefix + str(pattern.pattern)
                if route.startswith("staff/"):
                    found.append(Route(
                        name=f"{namespace}:{pattern.name}" if namespace else str(pattern.name), route=route,
                        converters=dict(getattr(pattern.pattern, "converters", {})),
                        permissions=getattr(pattern.callback, "staff_permissions", None),
                    ))

    walk(get_resolver().url_patterns, "", "")
    return found


ROUTES = staff_routes()
GUARDED = [route for route in ROUTES if route.name not in SIGN_IN_ROUTES]


@pytest.fixture
def objects(make_contact, staff_user):
    """One real object of each kind a staff URL can name."""
    from consent.models import ConsentStatement, ErasureRequest, Purpose, SubjectAccessRequest

    contact = make_contact()
    purpose = Purpose.objects.get(code="bulletin")
    latest = ConsentStatement.objects.filter(purpose=purpose).order_by("-version").first()
    draft = ConsentStatement.objects.create(purpose=purpose, version=latest.version + 1,
                                            text="A draft wording for the matrix test.")
    account = staff_user("Engagement", username="matrix-target")
    token, _raw = services.create_api_token(user=account, name="matrix", actor=services.Actor.system())
    return {
        "contact": contact, "purpose": purpose, "statement": draft, "account": account, "token": token,
        "sar": SubjectAccessRequest.objects.create(reference="SAR-MATRIX", contact=contact, received_on=date.today()),
        "erasure": ErasureRequest.objects.create(reference="ER-MATRIX", contact=contact, received_on=date.today()),
    }


# Which object a "pk" names depends on the URL; the longest matching name prefix wins.
PK_BY_URL_PREFIX = {
    "consent_staff:statement": "statement",
    "consent_staff:sar": "sar",
    "consent_staff:erasure": "erasure",
}


def real_kwargs(route_name: str, names, objects) -> dict:
    values = {
        "public_id": objects["contact"].public_id,
        "contact_id": objects["contact"].pk,
        "purpose": objects["purpose"].code,
        "user_id": objects["account"].pk,
        "token_id": objects["token"].pk,
        "statement_id": objects["statement"].pk,
        "sar_id": objects["sar"].pk,
        "erasure_id": objects["erasure"].pk,
    }
    kwargs = {}
    for name in names:
        if name == "pk":
            prefixes = [prefix for prefix in PK_BY_URL_PREFIX if route_name.startswith(prefix)]
            if not prefixes:
                pytest.fail(f"{route_name}: add its 'pk' object to PK_BY_URL_PREFIX in {__name__}")
            kwargs[name] = objects[PK_BY_URL_PREFIX[max(prefixes, key=len)]].pk
        elif name in values:
            kwargs[name] = values[name]
        else:
            pytest.fail(f"{route_name}: teach real_kwargs() in {__name__} which object '{name}' names")
    return kwargs


def missing_kwargs(converters: dict) -> dict:
    """Ids that name nothing, shaped to match each converter."""
    missing = {}
    for name, converter in converters.items():
        if isinstance(converter, IntConverter):
            missing[name] = 2_000_000_000
        elif isinstance(converter, UUIDConverter):
            missing[name] = uuid.uuid4()
        else:
            missing[name] = "no-such-thing"
    return missing


def role_permissions(role: str) -> set[str]:
    if role == NO_ROLE:
        return set()
    permissions = Permission.objects.filter(group=Group.objects.get(name=role)).select_related("content_type")
    return {f"{p.content_type.app_label}.{p.codename}" for p in permissions}


def request(client, method: str, url: str):
    """(status, location) — an exception in a view counts as a 500, so one bad page fails the row."""
    try:
        response = getattr(client, method)(url)
    except Exception as error:  # noqa: BLE001 - reported as a matrix failure, not a crash
        return 500, repr(error)
    return response.status_code, response.get("Location", "")


def test_the_matrix_has_routes_from_both_staff_namespaces():
    names = {route.name.split(":")[0] for route in GUARDED}
    assert {"staff", "consent_staff"} <= names
    assert {"staff:accounts", "staff:tokens", "staff:audit"} <= {route.name for route in GUARDED}


def test_every_staff_url_is_guarded_by_staff_view():
    unguarded = [str(route) for route in GUARDED if route.permissions is None]
    assert not unguarded, f"Staff URLs without @staff_view: {unguarded}"


@pytest.mark.parametrize("role", [*ALL_ROLES, NO_ROLE])
def test_role_matrix_for_staff_pages(role, staff_client, objects):
    client = staff_client(*([] if role == NO_ROLE else [role]))
    granted = role_permissions(role)
    failures = []
    for route in GUARDED:
        allowed = set(route.permissions) <= granted
        url = reverse(route.name, kwargs=real_kwargs(route.name, route.converters, objects))
        if allowed:
            status, detail = request(client, "get", url)
            if status in (403, 404) or status >= 500:
                failures.append(f"{route}: may use it but GET answered {status} {detail}")
            continue
        urls = [url]
        if route.converters:
            urls.append(reverse(route.name, kwargs=missing_kwargs(route.converters)))
        for target in urls:
            get_status, _ = request(client, "get", target)
            post_status, _ = request(client, "post", target)
            if post_status != 403 or get_status not in (403, 405):
                failures.append(f"{route}: lacks {sorted(set(route.permissions) - granted)} but "
                                f"GET {target} → {get_status}, POST → {post_status}")
    assert not failures, "\n".join(failures)


def test_every_staff_route_sends_an_unverified_session_to_verification(staff_client, objects):
    client = staff_client("Data protection", "Administrator", "Engagement", "Communications", verified=False)
    failures = []
    for route in GUARDED:
        url = reverse(route.name, kwargs=real_kwargs(route.name, route.converters, objects))
        results = [request(client, method, url) for method in ("get", "post")]
        redirected = [location for status, location in results if status == 302]
        if not redirected or any(not loc.startswith(reverse("staff:verify")) for loc in redirected) \
                or any(status not in (302, 405) for status, _ in results):
            failures.append(f"{route}: unverified session got {results}")
    assert not failures, "\n".join(failures)


def test_every_staff_route_sends_anonymous_visitors_to_sign_in(objects):
    client = Client()
    failures = []
    for route in GUARDED:
        url = reverse(route.name, kwargs=real_kwargs(route.name, route.converters, objects))
        results = [request(client, method, url) for method in ("get", "post")]
        redirected = [location for status, location in results if status == 302]
        if not redirected or any(not loc.startswith(reverse("staff:login")) for loc in redirected) \
                or any(status not in (302, 405) for status, _ in results):
            failures.append(f"{route}: anonymous visitor got {results}")
    assert not failures, "\n".join(failures)


# --- The staff API ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    permissions: tuple
    params: tuple

    def __str__(self):
        return f"{self.method} {self.path}"


PATH_PARAM = re.compile(r"{(?:(\w+):)?(\w+)}")


def api_routes() -> tuple[list[ApiRoute], list[str]]:
    """Operations using StaffTokenAuth, and any operation under /staff/ that does not (a mistake)."""
    routes, unguarded = [], []
    base = reverse("api:api-root")
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            full = normalize_path(f"{base}{prefix}{path}")
            for operation in path_view.operations:
                auths = [auth for auth in operation.auth_callbacks if isinstance(auth, StaffTokenAuth)]
                for method in operation.methods:
                    if auths:
                        permissions = tuple(p for auth in auths for p in auth.permissions)
                        routes.append(ApiRoute(method, full, permissions, tuple(PATH_PARAM.findall(full))))
                    elif full.startswith(f"{base}staff/"):
                        unguarded.append(f"{method} {full}")
    return routes, unguarded


API_ROUTES, API_UNGUARDED = api_routes()


def api_url(route: ApiRoute, objects, *, missing=False) -> str:
    url = route.path
    names = [name for _kind, name in route.params]
    if missing:
        values = {name: (uuid.uuid4() if kind.startswith("uuid") or "public_id" in name else 2_000_000_000)
                  for kind, name in route.params}
    else:
        values = real_kwargs(f"api:{route.path}", names, objects)
    for kind, name in route.params:
        url = url.replace("{" + (f"{kind}:" if kind else "") + name + "}", str(values[name]))
    return url


def call_api(client, route: ApiRoute, url: str, raw: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    try:
        response = client.generic(route.method, url, data="{}", content_type="application/json", **headers)
    except Exception as error:  # noqa: BLE001
        return 500, repr(error)
    return response.status_code, response.content[:200]


def test_staff_api_routes_exist_and_all_take_a_token():
    assert {"GET /api/v1/staff/me", "GET /api/v1/staff/audit"} <= {str(route) for route in API_ROUTES}
    assert not API_UNGUARDED, f"Staff API routes without StaffTokenAuth: {API_UNGUARDED}"


@pytest.mark.parametrize("role", [*ALL_ROLES, NO_ROLE])
def test_role_matrix_for_the_staff_api(role, staff_user, objects):
    user = staff_user(*([] if role == NO_ROLE else [role]))
    _token, raw = services.create_api_token(user=user, name="matrix", actor=services.Actor.system())
    granted = role_permissions(role)
    client = Client()
    failures = []
    for route in API_ROUTES:
        allowed = set(route.permissions) <= granted
        if allowed:
            if route.method != "GET":
                continue  # only reads are exercised with a permitted token; writes are their own tests
            status, detail = call_api(client, route, api_url(route, objects), raw)
            if status in (401, 403, 404) or status >= 500:
                failures.append(f"{route}: may use it but got {status} {detail!r}")
            continue
        targets = [api_url(route, objects)]
        if route.params:
            targets.append(api_url(route, objects, missing=True))
        for url in targets:
            status, detail = call_api(client, route, url, raw)
            if status != 403:
                failures.append(f"{route} {url}: lacks {sorted(set(route.permissions) - granted)} but got {status}")
    assert not failures, "\n".join(failures)


def test_staff_api_refuses_missing_unknown_and_revoked_tokens(staff_user, objects):
    everyone = staff_user(*ALL_ROLES)
    token, raw = services.create_api_token(user=everyone, name="to revoke", actor=services.Actor.system())
    services.revoke_api_token(token=token, actor=services.Actor.system())
    unknown = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    client = Client()
    failures = []
    for route in API_ROUTES:
        url = api_url(route, objects)
        for label, credential in (("no token", None), ("unknown token", unknown), ("revoked token", raw)):
            status, _ = call_api(client, route, url, credential)
            if status != 401:
                failures.append(f"{route} with {label}: {status}")
    assert not failures, "\n".join(failures)
