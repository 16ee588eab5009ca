"""Equality (special-category) answers never reach staff without ``crm.view_equality_data``: not on
any staff page, in any export, nor in any staff API response. With the permission, every view of
one person's answers is audited.

The page list is not hand-written: it walks every consent_staff URL and every staff API route, so
a page added later is checked too.
"""

from datetime import date

import pytest
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from consent import cases
from consent.models import ConsentStatement
from crm.audit import Actor
from crm.models import AuditEntry, EqualityProfile
from crm.roles import ADMINISTRATOR, COMMUNICATIONS, DATA_PROTECTION, ENGAGEMENT
from crm.staff.services import create_api_token

pytestmark = pytest.mark.django_db

# Answer codes and labels no other page text contains.
MARKERS = ("white_roma", "Roma", "sikh", "Sikh")
ROLES_WITHOUT_PERMISSION = [(ENGAGEMENT,), (COMMUNICATIONS,), (ADMINISTRATOR,), ()]


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def answered(make_contact):
    contact = make_contact(email="eq@example.org", name="Equal Person", purposes=("bulletin", "equality_monitoring"))
    EqualityProfile.objects.create(contact=contact, ethnic_group="white_roma", religion="sikh", age_band="40-49")
    return contact


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def staff_urls(answered, other) -> list[str]:
    """Every consent_staff page and staff API route, filled in with real records about ``answered``."""
    statement = ConsentStatement.objects.filter(purpose__code="equality_monitoring").first()
    sar = cases.open_subject_access(received_on=date(2026, 11, 1), contact=answered, actor=Actor.system())
    erasure = cases.open_erasure(received_on=date(2026, 11, 1), contact=answered, actor=Actor.system())
    values = {"<uuid:public_id>": str(answered.public_id), "<uuidstr:public_id>": str(answered.public_id),
              "<slug:purpose>": "equality_monitoring"}
    urls = []
    for route, pattern in _routes(get_resolver().url_patterns):
        if not (route.startswith("staff/") and pattern.callback.__module__.startswith("consent.")
                or route.startswith("api/v1/staff/")):
            continue
        if route.startswith("api/v1/staff/bulletins"):
            continue  # bulletins hold no equality answers; their routes are walked by their own tests
        name = pattern.name or ""
        pk = sar.pk if name.startswith("sar") else erasure.pk if name.startswith("erasure") else statement.pk
        url = "/" + route.replace("<int:pk>", str(pk))
        for placeholder, value in values.items():
            url = url.replace(placeholder, value)
        assert "<" not in url, f"no test value for {route}"
        if name == "contact_merge_preview":
            url += f"?duplicate={other.public_id}"
        urls.append(url)
    return urls


@pytest.mark.parametrize("roles", ROLES_WITHOUT_PERMISSION, ids=lambda r: r[0] if r else "no role")
def test_no_page_export_or_api_response_shows_equality_answers_without_the_permission(
        roles, staff_client, make_contact, answered):
    client = staff_client(*roles)
    raw = create_api_token(user=client.user, name="t", actor=Actor.system())[1]
    other = make_contact(email="other@example.org")
    urls = staff_urls(answered, other)
    assert len(urls) > 30 and any("export" in u for u in urls) and any(u.startswith("/api/") for u in urls)
    seen_ok = 0
    for url in urls:
        response = client.get(url, **bearer(raw)) if url.startswith("/api/") else client.get(url)
        assert response.status_code < 500, url
        body = response.content.decode()
        assert not any(marker in body for marker in MARKERS), url
        seen_ok += response.status_code == 200
    if roles == (ENGAGEMENT,):
        assert seen_ok >= 8  # contact pages and API answered, without the answers
    assert not AuditEntry.objects.filter(action="equality.answers_viewed").exists()


def test_the_markers_would_be_seen_with_the_permission(staff_client, make_contact, answered):
    """The control for the test above: with the permission the same walk does show the answers."""
    client = staff_client(DATA_PROTECTION)
    raw = create_api_token(user=client.user, name="t", actor=Actor.system())[1]
    shown = []
    for url in staff_urls(answered, make_contact(email="other@example.org")):
        response = client.get(url, **bearer(raw)) if url.startswith("/api/") else client.get(url)
        if any(marker in response.content.decode() for marker in MARKERS):
            shown.append(url)
    assert sorted(shown) == sorted([
        reverse("consent_staff:contact_equality", args=[answered.public_id]),
        f"/api/v1/staff/contacts/{answered.public_id}",
        *(u for u in shown if "/subject-access/" in u and "export" in u),
    ])
    assert len([u for u in shown if "export" in u]) == 2


def test_equality_page_shows_answers_and_audits_each_view(staff_client, answered):
    client = staff_client(DATA_PROTECTION)
    url = reverse("consent_staff:contact_equality", args=[answered.public_id])
    for _ in range(2):
        html = client.get(url).content.decode()
        assert "White: Roma" in html and "Sikh" in html
    views = AuditEntry.objects.filter(action="equality.answers_viewed", object_id=str(answered.pk))
    assert views.count() == 2 and views.first().actor == client.user
    # The contact page itself links to the answers but never shows them.
    page = client.get(reverse("consent_staff:contact", args=[answered.public_id])).content.decode()
    assert url in page and "White: Roma" not in page


def test_api_includes_equality_only_with_permission_and_audits_it(staff_user, answered):
    user = staff_user(DATA_PROTECTION)
    _, raw = create_api_token(user=user, name="t", actor=Actor.system())
    body = Client().get(f"/api/v1/staff/contacts/{answered.public_id}", **bearer(raw)).json()
    assert body["equality_answers"]["ethnic_group"] == "white_roma"
    assert AuditEntry.objects.filter(action="equality.answers_viewed", actor=user).count() == 1

    engagement = staff_user(ENGAGEMENT)
    _, raw = create_api_token(user=engagement, name="t", actor=Actor.system())
    body = Client().get(f"/api/v1/staff/contacts/{answered.public_id}", **bearer(raw)).json()
    assert body["equality_answers"] is None
    assert not AuditEntry.objects.filter(action="equality.answers_viewed", actor=engagement).exists()


def test_subject_access_export_needs_the_equality_permission_too(staff_user, staff_client, answered):
    """A role with the case permissions but not the equality one cannot export (the export holds them)."""
    from django.contrib.auth.models import Permission

    user = staff_user(ENGAGEMENT)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_subjectaccessrequest"]))
    case = cases.open_subject_access(received_on=date(2026, 11, 1), contact=answered, actor=Actor.system())
    client = staff_client(user=user)
    for name in ("consent_staff:sar_export_json", "consent_staff:sar_export_html"):
        assert client.get(reverse(name, args=[case.pk])).status_code == 403
    assert client.get(reverse("consent_staff:sar", args=[case.pk])).status_code == 200
