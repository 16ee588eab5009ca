"""The role matrix, written by hand: which staff role may do what, route by route, GET and POST.

The expected answers come from the roles as the product describes them (DESIGN.md, "Who uses it";
crm/staff/forms.py's role hints), NOT from the ``staff_view`` decorators or the role groups under
test: weakening a decorator or a group must make a row here fail.

- Communications: bulletins (later) and the dashboard; no people's records.
- Engagement: contacts (find, add, correct, record consent, merge); no equality answers, no
  data protection cases, no consent wording changes, no audit log, no staff accounts.
- Data protection: contacts (read), equality answers, consent recording, consent wording,
  subject access, erasure, retention review, the audit log; cannot add, correct or merge contacts.
- Administrator: staff accounts, roles and their API tokens; no people's records.
- Commissioner: the dashboard and engagement activities (every one seen, only their own changed);
  no people's records.
- Anonymous visitors are sent to sign-in, and signed-in staff without a verified second factor to
  verification, on every guarded route and method.

A role without the permission gets 403 also for an object that does not exist (a 403/404
difference must not reveal whether a record exists). POSTs carry no form data: a permitted POST
answers with its form's errors (200), or does what an empty form means (302).

Later apps (bulletins, segments) append their rows to ``PAGES`` and ``API`` and, if they name a new
kind of object, a builder to ``OBJECTS``.
"""

import re
import uuid
from copy import deepcopy
from dataclasses import dataclass
from datetime import date

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

C, E, D, A = "Communications", "Engagement", "Data protection", "Administrator"
K = "Commissioner"
ROLES = (C, E, D, A, K)
ANON, UNVERIFIED = "anonymous", "without second factor"
EVERYONE = ROLES


def only(*allowed, ok=200, refused=403) -> dict:
    """``ok`` for the listed roles, ``refused`` for the other staff roles; anonymous and unverified
    visitors are redirected (to sign-in and to verification) unless a row says otherwise."""
    return {role: (ok if role in allowed else refused) for role in ROLES}


def post_only(*allowed, ok=302) -> tuple[dict, dict]:
    """A route that only takes POST: GET answers 405 to those who may use it, 403 to the others."""
    return only(*allowed, ok=405), only(*allowed, ok=ok)


# (url name, object its URL names, method, expected status per role). Objects: see OBJECTS below.
PAGES = [
    # --- consent_staff: dashboard, retention --------------------------------------------------------
    ("consent_staff:dashboard", None, "GET", only(*EVERYONE)),
    ("consent_staff:dashboard", None, "POST", only(*EVERYONE)),
    ("consent_staff:retention", None, "GET", only(D)),
    ("consent_staff:retention", None, "POST", only(D)),
    # --- contacts -----------------------------------------------------------------------------------
    ("consent_staff:contacts", None, "GET", only(E, D)),
    ("consent_staff:contacts", None, "POST", only(E, D)),
    ("consent_staff:contact_add", None, "GET", only(E)),
    ("consent_staff:contact_add", None, "POST", only(E)),
    ("consent_staff:contact", "contact", "GET", only(E, D)),
    ("consent_staff:contact", "contact", "POST", only(E, D)),
    ("consent_staff:contact_equality", "contact", "GET", only(D)),
    ("consent_staff:contact_equality", "contact", "POST", only(D)),
    ("consent_staff:contact_edit", "contact", "GET", only(E)),
    ("consent_staff:contact_edit", "contact", "POST", only(E)),
    ("consent_staff:contact_consent", "contact", "GET", only(E, D)),
    ("consent_staff:contact_consent", "contact", "POST", only(E, D)),
    ("consent_staff:contact_merge", "contact", "GET", only(E)),
    ("consent_staff:contact_merge", "contact", "POST", only(E)),
    # Without a chosen duplicate the preview sends the user back to choosing one.
    ("consent_staff:contact_merge_preview", "contact", "GET", only(E, ok=302)),
    ("consent_staff:contact_merge_preview", "contact", "POST", only(E, ok=302)),
    # --- consent wording ------------------------------------------------------------------------------
    ("consent_staff:statements", None, "GET", only(E, D)),
    ("consent_staff:statements", None, "POST", only(E, D)),
    ("consent_staff:statement_new", "purpose without draft", "GET", only(D)),
    ("consent_staff:statement_new", "purpose without draft", "POST", only(D)),
    ("consent_staff:statement", "draft statement", "GET", only(E, D)),
    ("consent_staff:statement", "draft statement", "POST", only(E, D)),
    ("consent_staff:statement_edit", "draft statement", "GET", only(D)),
    ("consent_staff:statement_edit", "draft statement", "POST", only(D)),
    ("consent_staff:statement_publish", "draft statement", "GET", only(D)),
    ("consent_staff:statement_publish", "draft statement", "POST", only(D, ok=302)),  # publishes
    # --- subject access -------------------------------------------------------------------------------
    ("consent_staff:sar_list", None, "GET", only(D)),
    ("consent_staff:sar_list", None, "POST", only(D)),
    ("consent_staff:sar_new", None, "GET", only(D)),
    ("consent_staff:sar_new", None, "POST", only(D)),
    ("consent_staff:sar", "sar", "GET", only(D)),
    ("consent_staff:sar", "sar", "POST", only(D)),
    ("consent_staff:sar_identity", "sar", "GET", only(D)),
    ("consent_staff:sar_identity", "sar", "POST", only(D)),
    ("consent_staff:sar_stop", "sar", "GET", only(D)),
    ("consent_staff:sar_stop", "sar", "POST", only(D)),
    ("consent_staff:sar_restart", "sar", "GET", only(D)),
    ("consent_staff:sar_restart", "sar", "POST", only(D)),
    ("consent_staff:sar_link", "sar", "GET", only(D)),
    ("consent_staff:sar_link", "sar", "POST", only(D)),
    ("consent_staff:sar_close", "sar", "GET", only(D)),
    ("consent_staff:sar_close", "sar", "POST", only(D)),
    ("consent_staff:sar_export_json", "sar", "GET", only(D)),
    ("consent_staff:sar_export_json", "sar", "POST", only(D)),
    ("consent_staff:sar_export_html", "sar", "GET", only(D)),
    ("consent_staff:sar_export_html", "sar", "POST", only(D)),
    # --- erasure --------------------------------------------------------------------------------------
    ("consent_staff:erasure_list", None, "GET", only(D)),
    ("consent_staff:erasure_list", None, "POST", only(D)),
    ("consent_staff:erasure_new", None, "GET", only(D)),
    ("consent_staff:erasure_new", None, "POST", only(D)),
    ("consent_staff:erasure", "erasure", "GET", only(D)),
    ("consent_staff:erasure", "erasure", "POST", only(D)),
    ("consent_staff:erasure_link", "erasure", "GET", only(D)),
    ("consent_staff:erasure_link", "erasure", "POST", only(D)),
    ("consent_staff:erasure_confirm", "erasure", "GET", only(D)),
    ("consent_staff:erasure_confirm", "erasure", "POST", only(D)),  # not confirmed: the form asks again
    ("consent_staff:erasure_refuse", "erasure", "GET", only(D)),
    ("consent_staff:erasure_refuse", "erasure", "POST", only(D)),
    # --- staff: own password and tokens (any verified staff member) -----------------------------------
    ("staff:password_change", None, "GET", only(*EVERYONE)),
    ("staff:password_change", None, "POST", only(*EVERYONE)),
    ("staff:tokens", None, "GET", only(*EVERYONE)),
    ("staff:tokens", None, "POST", only(*EVERYONE)),
    # Someone else's token is "not found" for everyone, whatever their role.
    ("staff:token_revoke", "someone else's token", "GET", only(*EVERYONE, ok=405)),
    ("staff:token_revoke", "someone else's token", "POST", only(*EVERYONE, ok=404)),
    # --- staff accounts (Administrator) ---------------------------------------------------------------
    ("staff:accounts", None, "GET", only(A)),
    ("staff:accounts", None, "POST", only(A)),
    ("staff:account_create", None, "GET", only(A)),
    ("staff:account_create", None, "POST", only(A)),
    ("staff:account", "account", "GET", only(A)),
    ("staff:account", "account", "POST", only(A)),
    ("staff:account_roles", "account", "GET", post_only(A)[0]),
    ("staff:account_roles", "account", "POST", post_only(A)[1]),
    ("staff:account_deactivate", "account", "GET", post_only(A)[0]),
    ("staff:account_deactivate", "account", "POST", post_only(A)[1]),
    ("staff:account_reactivate", "account", "GET", post_only(A)[0]),
    ("staff:account_reactivate", "account", "POST", post_only(A)[1]),
    ("staff:account_reset_2fa", "account", "GET", post_only(A)[0]),
    ("staff:account_reset_2fa", "account", "POST", post_only(A)[1]),
    ("staff:account_reset_password", "account", "GET", post_only(A)[0]),
    ("staff:account_reset_password", "account", "POST", post_only(A, ok=200)[1]),  # shows the new password
    ("staff:account_role_request_approve", "role request", "GET", post_only(A)[0]),
    ("staff:account_role_request_approve", "role request", "POST", post_only(A)[1]),
    ("staff:account_role_request_decline", "role request", "GET", post_only(A)[0]),
    ("staff:account_role_request_decline", "role request", "POST", post_only(A)[1]),
    ("staff:account_token_revoke", "account token", "GET", post_only(A)[0]),
    ("staff:account_token_revoke", "account token", "POST", post_only(A)[1]),
    # --- audit log (Data protection) ------------------------------------------------------------------
    ("staff:audit", None, "GET", only(D)),
    ("staff:audit", None, "POST", only(D)),
    ("staff:audit_verify", None, "GET", only(D)),
    ("staff:audit_verify", None, "POST", only(D, ok=302)),  # starts a check
    # --- sign-in pages: reachable before the second factor, so their answers differ ------------------
    ("staff:login", None, "GET", {**only(*EVERYONE, ok=302), ANON: 200, UNVERIFIED: 200}),
    ("staff:login", None, "POST", {**only(*EVERYONE, ok=302), ANON: 200, UNVERIFIED: 200}),
    ("staff:logout", None, "GET", {**only(*EVERYONE, ok=405), ANON: 405, UNVERIFIED: 405}),
    ("staff:logout", None, "POST", {**only(*EVERYONE, ok=302), ANON: 302, UNVERIFIED: 302}),
    # The unverified test user has no device yet: verification sends them to set one up.
    ("staff:verify", None, "GET", {**only(*EVERYONE, ok=302), ANON: 302, UNVERIFIED: 302}),
    ("staff:verify", None, "POST", {**only(*EVERYONE, ok=302), ANON: 302, UNVERIFIED: 302}),
    ("staff:setup_2fa", None, "GET", {**only(*EVERYONE, ok=302), ANON: 302, UNVERIFIED: 200}),
    ("staff:setup_2fa", None, "POST", {**only(*EVERYONE, ok=302), ANON: 302, UNVERIFIED: 200}),
    # --- bulletins: writing, checking, approving, sending (Communications only; nobody else sees them) ---
    # Empty POSTs: form pages answer with their errors (200); actions go back with a message (302).
    ("bulletins:list", None, "GET", only(C)),
    ("bulletins:list", None, "POST", only(C)),
    ("bulletins:new", None, "GET", only(C)),
    ("bulletins:new", None, "POST", only(C)),
    ("bulletins:comments", None, "GET", only(C)),
    ("bulletins:comments", None, "POST", only(C)),
    ("bulletins:comment_moderate", "bulletin comment", "GET", only(C)),
    ("bulletins:comment_moderate", "bulletin comment", "POST", only(C)),
    ("bulletins:detail", "draft bulletin", "GET", only(C)),
    ("bulletins:detail", "draft bulletin", "POST", only(C)),
    ("bulletins:edit", "draft bulletin", "GET", only(C)),
    ("bulletins:edit", "draft bulletin", "POST", only(C)),
    ("bulletins:item_add", "draft bulletin", "GET", only(C)),
    ("bulletins:item_add", "draft bulletin", "POST", only(C)),
    ("bulletins:item_edit", "bulletin item", "GET", only(C)),
    ("bulletins:item_edit", "bulletin item", "POST", only(C)),
    ("bulletins:item_remove", "bulletin item", "GET", only(C)),  # asks to confirm
    ("bulletins:item_remove", "bulletin item", "POST", only(C, ok=302)),  # removes it
    ("bulletins:item_move", "bulletin item", "GET", post_only(C)[0]),
    ("bulletins:item_move", "bulletin item", "POST", post_only(C)[1]),
    ("bulletins:preview", "draft bulletin", "GET", only(C)),
    ("bulletins:preview", "draft bulletin", "POST", only(C)),
    ("bulletins:preview_email", "draft bulletin", "GET", only(C)),
    ("bulletins:preview_email", "draft bulletin", "POST", only(C)),
    ("bulletins:test_send", "draft bulletin", "GET", only(C)),
    ("bulletins:test_send", "draft bulletin", "POST", only(C)),
    ("bulletins:approve", "draft bulletin", "GET", post_only(C)[0]),
    ("bulletins:approve", "draft bulletin", "POST", post_only(C)[1]),
    ("bulletins:send", "draft bulletin", "GET", only(C)),
    ("bulletins:send", "draft bulletin", "POST", only(C)),
    ("bulletins:unschedule", "draft bulletin", "GET", post_only(C)[0]),
    ("bulletins:unschedule", "draft bulletin", "POST", post_only(C)[1]),
    # --- bulletins: a send in progress (Communications sends bulletins; nobody else sees or stops it) --
    ("bulletins:progress", "sending bulletin", "GET", only(C)),
    ("bulletins:progress", "sending bulletin", "POST", only(C)),
    ("bulletins:progress_json", "sending bulletin", "GET", only(C)),
    ("bulletins:progress_json", "sending bulletin", "POST", only(C)),
    ("bulletins:pause", "sending bulletin", "GET", post_only(C)[0]),
    ("bulletins:pause", "sending bulletin", "POST", post_only(C)[1]),
    ("bulletins:resume", "sending bulletin", "GET", post_only(C)[0]),
    ("bulletins:resume", "sending bulletin", "POST", post_only(C)[1]),  # not paused: refused, said why
    ("bulletins:cancel", "sending bulletin", "GET", only(C)),  # asks to confirm
    ("bulletins:cancel", "sending bulletin", "POST", only(C, ok=302)),
]
SIGN_IN_PAGES = {"staff:login", "staff:logout", "staff:verify", "staff:setup_2fa"}


@pytest.fixture
def objects(make_contact, staff_user):
    """One real object of each kind a staff URL names, and the people they belong to."""
    from consent.models import ConsentStatement, ErasureRequest, Purpose, SubjectAccessRequest
    from crm.audit import Actor
    from crm.models import StaffRoleRequest
    from crm.staff import services

    contact = make_contact()
    purpose = Purpose.objects.get(code="bulletin")
    latest = ConsentStatement.objects.filter(purpose=purpose).order_by("-version").first()
    draft = ConsentStatement.objects.create(purpose=purpose, version=latest.version + 1,
                                            text="A draft wording for the matrix test.")
    account = staff_user(E, username="matrix-target")
    requester = staff_user(A, username="matrix-requester")
    token, _raw = services.create_api_token(user=account, name="matrix", actor=Actor.system())
    draft_bulletin, bulletin_item, bulletin_comment = _draft_bulletin(account, contact)
    from bulletins.models import Bulletin

    sending_bulletin = Bulletin.objects.create(subject="Matrix send", created_by=account, status="sending",
                                               version=1, approved_version=1, send_started_at=timezone.now())
    return {
        "sending bulletin": sending_bulletin,
        "draft bulletin": draft_bulletin, "bulletin item": bulletin_item, "bulletin comment": bulletin_comment,
        "contact": contact, "draft": draft, "account": account, "token": token,
        "sar": SubjectAccessRequest.objects.create(reference="SAR-MATRIX", contact=contact, received_on=date.today()),
        "erasure": ErasureRequest.objects.create(reference="ER-MATRIX", contact=contact, received_on=date.today()),
        "role request": StaffRoleRequest.objects.create(user=account, role=D, change="add", requested_by=requester,
                                                        requested_at=timezone.now()),
    }


def _draft_bulletin(author, contact):
    """A draft with two items; the second has a comment (so only the first may be removed)."""
    from bulletins.models import Bulletin, Comment, Item
    from crm.models import Topic

    bulletin = Bulletin.objects.create(subject="Matrix draft", created_by=author)
    topic = Topic.objects.order_by("name").first()
    first = Item.objects.create(bulletin=bulletin, position=1, title="First", body_markdown="Text", topic=topic)
    second = Item.objects.create(bulletin=bulletin, position=2, title="Second", body_markdown="Text", topic=topic)
    return bulletin, first, Comment.objects.create(item=second, contact=contact, body="A comment")


MISSING_ID = 2_000_000_000
# What each kind of object puts in the URL, for a real object and for one that does not exist.
OBJECTS = {
    "contact": (lambda o: {"public_id": o["contact"].public_id}, lambda: {"public_id": uuid.uuid4()}),
    "purpose without draft": (lambda o: {"purpose": "events"}, lambda: {"purpose": "no-such-purpose"}),
    "draft statement": (lambda o: {"pk": o["draft"].pk}, lambda: {"pk": MISSING_ID}),
    "sar": (lambda o: {"pk": o["sar"].pk}, lambda: {"pk": MISSING_ID}),
    "erasure": (lambda o: {"pk": o["erasure"].pk}, lambda: {"pk": MISSING_ID}),
    "account": (lambda o: {"user_id": o["account"].pk}, lambda: {"user_id": MISSING_ID}),
    "someone else's token": (lambda o: {"token_id": o["token"].pk}, lambda: {"token_id": MISSING_ID}),
    "account token": (lambda o: {"user_id": o["account"].pk, "token_id": o["token"].pk},
                      lambda: {"user_id": MISSING_ID, "token_id": MISSING_ID}),
    "role request": (lambda o: {"user_id": o["account"].pk, "request_id": o["role request"].pk},
                     lambda: {"user_id": MISSING_ID, "request_id": MISSING_ID}),
    "draft bulletin": (lambda o: {"public_id": o["draft bulletin"].public_id}, lambda: {"public_id": uuid.uuid4()}),
    "bulletin item": (lambda o: {"public_id": o["draft bulletin"].public_id, "item_id": o["bulletin item"].pk},
                      lambda: {"public_id": uuid.uuid4(), "item_id": MISSING_ID}),
    "bulletin comment": (lambda o: {"comment_id": o["bulletin comment"].pk}, lambda: {"comment_id": MISSING_ID}),
    "sending bulletin": (lambda o: {"public_id": o["sending bulletin"].public_id}, lambda: {"public_id": uuid.uuid4()}),
}


def _rows_for(role):
    """(name, target, method, expected, missing) for one role; rows naming an object also run with an
    object that does not exist: refused roles still get 403 and a wrong method 405, the rest 404."""
    for name, target, method, expected in PAGES:
        status = expected.get(role)
        yield name, target, method, status, False
        if target is not None and role in ROLES:
            yield name, target, method, (status if status in (403, 405) else 404), True


@pytest.fixture
def client_for(staff_client):
    def make(role):
        if role == ANON:
            return Client()
        if role == UNVERIFIED:
            return staff_client(*ROLES, verified=False)
        return staff_client(role)
    return make


def _answer(client, name, target, method, missing, objects):
    kwargs = {}
    if target is not None:
        real, absent = OBJECTS[target]
        kwargs = absent() if missing else real(objects)
    url = reverse(name, kwargs=kwargs)
    response = client.post(url) if method == "POST" else client.get(url)
    return url, response.status_code, response.get("Location", "")


def _mismatch(role, status, location, expected) -> str | None:
    if expected is None:  # guarded page: visitors without a verified session are redirected
        wanted = reverse("staff:login") if role == ANON else reverse("staff:verify")
        if status == 302 and location.startswith(wanted):
            return None
        return f"expected a redirect to {wanted}, got {status} {location}"
    return None if status == expected else f"expected {expected}, got {status} {location}"


@pytest.mark.parametrize("role", [*ROLES, ANON, UNVERIFIED])
def test_staff_pages_answer_each_role_as_the_table_says(client_for, objects, role):
    """Each row runs in a savepoint that is rolled back, so a POST that changes something (publish,
    deactivate, sign out) cannot change the answer of the rows after it."""
    client = client_for(role)
    failures = []
    for name, target, method, expected, missing in _rows_for(role):
        cookies = deepcopy(client.cookies)
        with transaction.atomic():
            url, status, location = _answer(client, name, target, method, missing, objects)
            transaction.set_rollback(True)
        client.cookies = cookies
        problem = _mismatch(role, status, location, expected)
        if problem:
            failures.append(f"{method} {name}{' (missing object)' if missing else ''} {url}: {problem}")
    assert not failures, f"{len(failures)} rows differ for {role}:\n" + "\n".join(failures)


def staff_url_names() -> set[str]:
    """Names of every URL under /staff/, from the URL configuration (names only, not permissions)."""
    found = set()

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(part for part in (namespace, pattern.namespace) if part)
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern) and (prefix + str(pattern.pattern)).startswith("staff/"):
                found.add(f"{namespace}:{pattern.name}")

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_staff_url_has_a_get_and_a_post_row():
    rows = {(name, method) for name, _target, method, _expected in PAGES}
    missing = sorted(f"{method} {name}" for name in staff_url_names() for method in ("GET", "POST")
                     if (name, method) not in rows)
    assert not missing, f"Add these to PAGES in {__name__}: {missing}"
    assert {"staff:accounts", "consent_staff:contact_edit", "consent_staff:contact_merge"} <= staff_url_names()


def test_guarded_rows_leave_visitors_to_the_redirect_rule():
    for name, _target, _method, expected in PAGES:
        if name not in SIGN_IN_PAGES:
            assert ANON not in expected and UNVERIFIED not in expected, name


# --- The staff API -----------------------------------------------------------------------------------
# (method, path with {public_id}, expected per role). Tokens belong to a user with just that role.
API = [
    ("GET", "/api/v1/staff/me", only(*EVERYONE)),
    ("GET", "/api/v1/staff/audit", only(D)),
    ("GET", "/api/v1/staff/contacts", only(E, D)),
    ("GET", "/api/v1/staff/contacts/{public_id}", only(E, D)),
    ("GET", "/api/v1/staff/contacts/{missing_id}", only(E, D, ok=404)),
    # An empty body is invalid input: 422 for those who may record consent, 403 for the rest.
    ("POST", "/api/v1/staff/contacts/{public_id}/consents", only(E, D, ok=422)),
    ("POST", "/api/v1/staff/contacts/{missing_id}/consents", only(E, D, ok=422)),
    # Bulletins (Communications): {public_id} is a contact's here, so no bulletin has it (404); empty
    # bodies are invalid input (422) before anything is looked up.
    ("GET", "/api/v1/staff/bulletins", only(C)),
    ("POST", "/api/v1/staff/bulletins", only(C, ok=422)),
    ("GET", "/api/v1/staff/bulletins/{public_id}", only(C, ok=404)),
    ("POST", "/api/v1/staff/bulletins/{public_id}/items", only(C, ok=422)),
    ("POST", "/api/v1/staff/bulletins/{public_id}/approval", only(C, ok=422)),
    ("GET", "/api/v1/staff/bulletins/comments/pending", only(C)),
    ("POST", "/api/v1/staff/bulletins/comments/{comment_id}/moderation", only(C, ok=422)),
]


def _api_url(path: str, objects) -> str:
    return path.format(public_id=objects["contact"].public_id, missing_id=uuid.uuid4(),
                       comment_id=objects["bulletin comment"].pk,
                       activity_id=_matrix_activity_id(objects) if "{activity_id}" in path else 0)


def _call(method: str, url: str, raw: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    return Client().generic(method, url, data="{}", content_type="application/json", **headers)


@pytest.mark.parametrize(("method", "path", "role", "expected"), [
    pytest.param(method, path, role, expected[role], id=f"{method} {path} as {role}")
    for method, path, expected in API for role in ROLES
])
def test_staff_api_answers_each_role_as_the_table_says(staff_user, objects, method, path, role, expected):
    from crm.audit import Actor
    from crm.staff import services

    _token, raw = services.create_api_token(user=staff_user(role), name="matrix", actor=Actor.system())
    response = _call(method, _api_url(path, objects), raw)
    assert response.status_code == expected, response.content[:300]


@pytest.mark.parametrize(("method", "path"), [(method, path) for method, path, _expected in API])
def test_staff_api_refuses_missing_unknown_and_revoked_tokens(staff_user, objects, method, path):
    from crm.audit import Actor
    from crm.staff import services

    token, raw = services.create_api_token(user=staff_user(*ROLES), name="to revoke", actor=Actor.system())
    services.revoke_api_token(token=token, actor=Actor.system())
    unknown = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    url = _api_url(path, objects)
    for label, credential in (("no token", None), ("unknown token", unknown), ("revoked token", raw)):
        assert _call(method, url, credential).status_code == 401, label


def test_every_staff_api_route_has_a_row():
    from ninja.utils import normalize_path

    from crm.api import api

    base = reverse("api:api-root")
    rows = {(method, path.replace("{missing_id}", "{public_id}")) for method, path, _expected in API}
    routes = set()
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            full = re.sub(r"{\w+:(\w+)}", r"{\1}", normalize_path(f"{base}{prefix}{path}"))
            if full.startswith(f"{base}staff/"):
                routes.update((method, full) for operation in path_view.operations for method in operation.methods)
    assert routes, "no staff API routes found"
    assert not routes - rows, f"Add these to API in {__name__}: {sorted(routes - rows)}"


# --- URL discovery for tests that walk every staff page (tests/browser/test_staff_pages.py) ----------
# Not an answer key: these only find the URLs and fill in their ids; what each role gets is PAGES above.
SIGN_IN_ROUTES = SIGN_IN_PAGES


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    converters: dict

    def __str__(self):
        return f"{self.name} (/{self.route})"


def staff_routes() -> list[Route]:
    found = []

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(part for part in (namespace, pattern.namespace) if part)
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern) and (prefix + str(pattern.pattern)).startswith("staff/"):
                found.append(Route(f"{namespace}:{pattern.name}", prefix + str(pattern.pattern),
                                   dict(getattr(pattern.pattern, "converters", {}))))

    walk(get_resolver().url_patterns, "", "")
    return found


PK_BY_URL_PREFIX = {"consent_staff:statement": "statement", "consent_staff:sar": "sar",
                    "consent_staff:erasure": "erasure"}


def real_kwargs(route_name: str, names, objects) -> dict:
    """Keyword arguments naming real objects from a dict keyed contact, purpose, statement, account,
    token, sar, erasure (and optionally "role request")."""
    values = {
        "public_id": lambda: objects["contact"].public_id, "purpose": lambda: objects["purpose"].code,
        "user_id": lambda: objects["account"].pk, "token_id": lambda: objects["token"].pk,
        "request_id": lambda: objects["role request"].pk,
    }
    kwargs = {}
    for name in names:
        if name == "pk":
            prefixes = [prefix for prefix in PK_BY_URL_PREFIX if route_name.startswith(prefix)]
            if not prefixes:
                pytest.fail(f"{route_name}: add its 'pk' object to PK_BY_URL_PREFIX in {__name__}")
            kwargs[name] = objects[PK_BY_URL_PREFIX[max(prefixes, key=len)]].pk
        elif name in values:
            kwargs[name] = values[name]()
        else:
            pytest.fail(f"{route_name}: teach real_kwargs() in {__name__} which object '{name}' names")
    return kwargs


# --- segments, invitation lists and events (appended by the segments pages' author) ---------------------
# Engagement builds segments, exports invitation lists and runs events; Data protection may see segments
# (and count them) and the record of every export, for accountability, but not change, export or run
# events; Communications and Administrators see none of it. Empty POSTs: the builder counts its (empty)
# rules (200), forms answer with their errors (200), the register saves "nobody came" (302); the
# download link is GET-only (405).
PAGES += [
    ("segments:segment_list", None, "GET", only(E, D)),
    ("segments:segment_list", None, "POST", only(E, D)),
    ("segments:segment_new", None, "GET", only(E)),
    ("segments:segment_new", None, "POST", only(E)),
    ("segments:segment_count_json", None, "GET", post_only(E, D)[0]),
    ("segments:segment_count_json", None, "POST", post_only(E, D, ok=200)[1]),
    ("segments:segment_edit", "segment", "GET", only(E, D)),
    ("segments:segment_edit", "segment", "POST", only(E, D)),
    ("segments:segment_export", "segment", "GET", only(E)),
    ("segments:segment_export", "segment", "POST", only(E)),
    ("segments:export_list", None, "GET", only(E, D)),
    ("segments:export_list", None, "POST", only(E, D)),
    ("segments:export_detail", "export", "GET", only(E, D)),
    ("segments:export_detail", "export", "POST", only(E, D)),
    ("segments:export_download", "export link", "GET", only(E)),
    ("segments:export_download", "export link", "POST", only(E, ok=405)),
    ("segments:event_list", None, "GET", only(E)),
    ("segments:event_list", None, "POST", only(E)),
    ("segments:event_new", None, "GET", only(E)),
    ("segments:event_new", None, "POST", only(E)),
    ("segments:event_detail", "event", "GET", only(E)),
    ("segments:event_detail", "event", "POST", only(E)),
    ("segments:event_edit", "event", "GET", only(E)),
    ("segments:event_edit", "event", "POST", only(E)),
    ("segments:event_register", "event", "GET", only(E)),
    ("segments:event_register", "event", "POST", only(E, ok=302)),
    ("segments:event_walk_in", "event", "GET", only(E)),
    ("segments:event_walk_in", "event", "POST", only(E)),
    ("segments:event_attendance_upload", "event", "GET", only(E)),
    ("segments:event_attendance_upload", "event", "POST", only(E)),
    # An email invitation to the event goes through the bulletin pipeline: Communications writes it.
    ("bulletins:new_invitation", "event", "GET", only(C)),
    ("bulletins:new_invitation", "event", "POST", only(C)),
]


def _matrix_segment(o):
    """Made inside each row's rolled-back savepoint (the objects fixture is not this block's to change)."""
    from crm.audit import Actor
    from segments import services as segment_services

    return segment_services.create_segment(
        name=f"Matrix segment {uuid.uuid4().hex[:8]}", actor=Actor.staff(o["account"]),
        rules={"version": 1, "match": "all", "rules": [{"field": "kind", "op": "in", "value": ["public"]}]})


def _matrix_event(o):
    from segments.models import Event

    starts = timezone.now() + timezone.timedelta(days=30)
    return Event.objects.create(title="Matrix event", starts_at=starts, ends_at=starts + timezone.timedelta(hours=2),
                                created_by=o["account"])


def _matrix_export(o):
    from crm.audit import Actor
    from segments import exports

    return exports.create_invitation_export(segment=_matrix_segment(o), event=_matrix_event(o),
                                            stated_purpose="Matrix", columns=["name"], file_format="csv",
                                            actor=Actor.staff(o["account"]))


def _matrix_export_link(o):
    from segments import exports

    return {"token": exports.download_token(_matrix_export(o))}


OBJECTS.update({
    "segment": (lambda o: {"segment_id": _matrix_segment(o).pk}, lambda: {"segment_id": MISSING_ID}),
    "event": (lambda o: {"public_id": _matrix_event(o).public_id}, lambda: {"public_id": uuid.uuid4()}),
    "export": (lambda o: {"public_id": _matrix_export(o).public_id}, lambda: {"public_id": uuid.uuid4()}),
    "export link": (_matrix_export_link, lambda: {"token": f"{uuid.uuid4().hex}:1abcde:not-a-signature"}),
})


# --- contact imports (appended by the import pages' author) ------------------------------------------
# Engagement imports files of paper sign-ups; Data protection sees every import and its evidence (for
# accountability) but cannot upload, confirm or cancel; Communications and Administrators see none of it.
# Empty POSTs: the upload form answers with its errors (200); confirm and cancel are POST-only (405 on GET)
# and send the user back to the import (302); the template is GET-only.
PAGES += [
    ("segments:import_list", None, "GET", only(E, D)),
    ("segments:import_list", None, "POST", only(E, D)),
    ("segments:import_new", None, "GET", only(E)),
    ("segments:import_new", None, "POST", only(E)),
    ("segments:import_template", None, "GET", only(E)),
    ("segments:import_template", None, "POST", only(E, ok=405)),
    ("segments:import_detail", "import", "GET", only(E, D)),
    ("segments:import_detail", "import", "POST", only(E, D)),
    ("segments:import_confirm", "import", "GET", post_only(E)[0]),
    ("segments:import_confirm", "import", "POST", post_only(E)[1]),
    ("segments:import_cancel", "import", "GET", post_only(E)[0]),
    ("segments:import_cancel", "import", "POST", post_only(E)[1]),
]


def _matrix_import(o):
    from crm.audit import Actor
    from segments import imports

    record, _plan = imports.preview_import(
        content=b"email,bulletin\nmatrix@example.org,yes\n", file_name="matrix.csv", method="paper_form",
        statement_versions=None, collected_on=date(2026, 11, 20), collected_by="Matrix team",
        evidence_reference="Matrix box", actor=Actor.staff(o["account"]))
    return record


OBJECTS["import"] = (lambda o: {"public_id": _matrix_import(o).public_id}, lambda: {"public_id": uuid.uuid4()})


# --- population baseline upload (appended by the representation report's author) ---------------------------
# Another area's census baseline changes every report's comparison figures: Administrators (who set the
# system up) and Data protection (who answer for the equality figures) upload it; nobody else. An empty POST
# answers with the form's errors (200).
PAGES += [
    ("segments:baseline_upload", None, "GET", only(D, A)),
    ("segments:baseline_upload", None, "POST", only(D, A)),
]


# --- engagement activities (appended by the activities' author) ----------------------------------------------
# Everyone who works with engagement evidence sees every activity: Engagement, Commissioners (read-only on
# people, DESIGN.md), Communications (it sends the "you said, we did" feedback) and Data protection.
# Administrators do not. Only Engagement creates activities. Changing one needs its lead or Engagement:
# the matrix's activity is led by an Engagement member, so a Commissioner gets 403 on every page that
# changes it (a Commissioner's own activity: tests/test_activity_pages.py). Named participants (people's
# names) are added and removed only by staff who work with contact records. POST-only routes answer GET
# with 405 to anyone holding their permissions (a Commissioner too: the method is checked before whose
# activity it is). Empty POSTs: forms answer with their errors (200), status goes back with a message
# (302), linked events are saved as "none" (302).
K_ALL = (C, E, D, K)
PAGES += [
    ("segments:activity_list", None, "GET", only(*K_ALL)),
    ("segments:activity_list", None, "POST", only(*K_ALL)),
    ("segments:activity_new", None, "GET", only(E)),
    ("segments:activity_new", None, "POST", only(E)),
    ("segments:activity_detail", "activity", "GET", only(*K_ALL)),
    ("segments:activity_detail", "activity", "POST", only(*K_ALL)),
    ("segments:activity_edit", "activity", "GET", only(E)),
    ("segments:activity_edit", "activity", "POST", only(E)),
    ("segments:activity_status", "activity", "GET", only(E, K, ok=405)),
    ("segments:activity_status", "activity", "POST", only(E, ok=302)),
    ("segments:activity_headcount_add", "activity", "GET", only(E)),
    ("segments:activity_headcount_add", "activity", "POST", only(E)),
    ("segments:activity_headcount_remove", "headcount", "GET", only(E, K, ok=405)),
    ("segments:activity_headcount_remove", "headcount", "POST", only(E, ok=302)),
    ("segments:activity_participant_add", "activity", "GET", only(E)),
    ("segments:activity_participant_add", "activity", "POST", only(E)),
    ("segments:activity_participant_remove", "participant", "GET", only(E, ok=405)),
    ("segments:activity_participant_remove", "participant", "POST", only(E, ok=302)),
    ("segments:activity_events", "activity", "GET", only(E)),
    ("segments:activity_events", "activity", "POST", only(E, ok=302)),
    # "You said, we did" (Communications): the matrix activity is planned, so it sends them back to it.
    ("bulletins:new_feedback", "activity", "GET", only(C, ok=302)),
    ("bulletins:new_feedback", "activity", "POST", only(C, ok=302)),
]


def _matrix_activity(o):
    from crm.audit import Actor
    from segments import activities
    from segments.models import Programme

    programme, _ = Programme.objects.get_or_create(name="Matrix programme")
    return activities.create_activity(actor=Actor.staff(o["account"]), title="Matrix activity",
                                      programme=programme, kind="survey", lead=o["account"])


def _matrix_headcount(o):
    from segments.models import ActivityHeadcount

    activity = _matrix_activity(o)
    return ActivityHeadcount.objects.create(activity=activity, label="Matrix stall", count=3, added_by=o["account"])


def _matrix_participant(o):
    from segments.models import ActivityParticipant

    return ActivityParticipant.objects.create(activity=_matrix_activity(o), contact=o["contact"],
                                              added_by=o["account"])


def _pk_and(row, key):
    return {"pk": row.activity_id, key: row.pk}


OBJECTS.update({
    "activity": (lambda o: {"pk": _matrix_activity(o).pk}, lambda: {"pk": MISSING_ID}),
    "headcount": (lambda o: _pk_and(_matrix_headcount(o), "headcount_id"),
                  lambda: {"pk": MISSING_ID, "headcount_id": MISSING_ID}),
    "participant": (lambda o: _pk_and(_matrix_participant(o), "participant_id"),
                    lambda: {"pk": MISSING_ID, "participant_id": MISSING_ID}),
})

# The activities API, same policy. {activity_id}: an activity led by an Engagement member. Empty bodies:
# creating is invalid input (422) for Engagement; an empty change changes nothing (200) for Engagement and
# is refused (403) to a Commissioner, who does not lead it; a status change without a status is invalid
# input (422) for anyone holding the change permission, a Commissioner too (the body is checked before
# whose activity it is; with a status they get 403: tests/test_activity_api.py).
API += [
    ("GET", "/api/v1/activities", only(*K_ALL)),
    ("POST", "/api/v1/activities", only(E, ok=422)),
    ("GET", "/api/v1/activities/{activity_id}", only(*K_ALL)),
    ("PATCH", "/api/v1/activities/{activity_id}", only(E)),
    ("POST", "/api/v1/activities/{activity_id}/status", only(E, K, ok=422)),
]


def _matrix_activity_id(objects) -> int:
    if "activity" not in objects:
        objects["activity"] = _matrix_activity(objects)
    return objects["activity"].pk


def test_every_activity_api_route_has_a_row():
    from ninja.utils import normalize_path

    from crm.api import api

    base = reverse("api:api-root")
    rows = {(method, path) for method, path, _expected in API}
    routes = set()
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            full = re.sub(r"{\w+:(\w+)}", r"{\1}", normalize_path(f"{base}{prefix}{path}")).rstrip("/")
            if full.startswith(f"{base}activities"):
                routes.update((method, full) for operation in path_view.operations for method in operation.methods)
    assert len(routes) == 5, routes
    assert not routes - rows, f"Add these to API in {__name__}: {sorted(routes - rows)}"


# --- the 'Who are we missing?' report (appended by its author) -----------------------------------------------
# Counts of consenting people with small numbers hidden, never anyone's answers: the report permission
# (segments.view_activity_reports) — Engagement, Data protection and Commissioners. GET-only (405 on POST).
PAGES += [
    ("segments:representation", None, "GET", only(E, D, K)),
    ("segments:representation", None, "POST", only(E, D, K, ok=405)),
    ("segments:representation_csv", None, "GET", only(E, D, K)),
    ("segments:representation_csv", None, "POST", only(E, D, K, ok=405)),
]


# --- engagement activity reports (appended by their author) --------------------------------------------------
# For governance and the annual report: Engagement, Commissioners (DESIGN.md: "pull the reports for
# governance and the annual report") and Data protection (equality analyses are theirs to check) hold
# segments.view_activity_reports; Communications and Administrators do not. Numbers and titles only, no
# names. Every page and file is GET-only: a POST answers 405 to those who may read it.
PAGES += [
    ("segments:activity_reports", None, "GET", only(E, D, K)),
    ("segments:activity_reports", None, "POST", only(E, D, K, ok=405)),
    ("segments:activity_reports_programme_csv", None, "GET", only(E, D, K)),
    ("segments:activity_reports_programme_csv", None, "POST", only(E, D, K, ok=405)),
    ("segments:activity_reports_locality_csv", None, "GET", only(E, D, K)),
    ("segments:activity_reports_locality_csv", None, "POST", only(E, D, K, ok=405)),
    ("segments:activity_reports_equality_csv", None, "GET", only(E, D, K)),
    ("segments:activity_reports_equality_csv", None, "POST", only(E, D, K, ok=405)),
    ("segments:activity_reports_feedback_csv", None, "GET", only(E, D, K)),
    ("segments:activity_reports_feedback_csv", None, "POST", only(E, D, K, ok=405)),
    ("segments:activity_year_summary", None, "GET", only(E, D, K)),
    ("segments:activity_year_summary", None, "POST", only(E, D, K, ok=405)),
    ("segments:activity_year_csv", None, "GET", only(E, D, K)),
    ("segments:activity_year_csv", None, "POST", only(E, D, K, ok=405)),
    ("segments:activity_year_figures_csv", None, "GET", only(E, D, K)),
    ("segments:activity_year_figures_csv", None, "POST", only(E, D, K, ok=405)),
]
