"""Every consent_staff page, for a role that may see it, is well-formed NHS.UK markup: one h1,
landmarks, unique ids, a label for every input, no inline style or script (CSP) - both empty and
showing form errors."""

from collections import Counter
from datetime import date

import pytest
from django.urls import URLResolver, get_resolver

from consent import cases, statements
from consent.models import Purpose
from crm.audit import Actor
from crm.models import EqualityProfile
from crm.roles import DATA_PROTECTION, ENGAGEMENT
from tests.public_support import audit_page

pytestmark = pytest.mark.django_db


def consent_staff_routes():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif getattr(pattern.callback, "__module__", "").startswith("consent.staff."):
                yield prefix + str(pattern.pattern), pattern.name
    return list(walk(get_resolver().url_patterns))


@pytest.fixture
def world(make_contact):
    actor = Actor.system()
    contact = make_contact(email="page@example.org", name="Page Person", purposes=("bulletin", "events"))
    other = make_contact(email="other@example.org", name="Other Person")
    EqualityProfile.objects.create(contact=contact, age_band="30-39")
    draft = statements.draft_statement(purpose=Purpose.objects.get(code="events"), text="Draft", actor=actor)
    sar = cases.open_subject_access(received_on=date(2026, 11, 1), contact=contact, actor=actor)
    erasure = cases.open_erasure(received_on=date(2026, 11, 1), contact=other, actor=actor)
    return {"contact": contact, "other": other, "statement": draft, "sar": sar, "erasure": erasure}


def url_for(route: str, name: str, world) -> str:
    pk = world["sar"].pk if name.startswith("sar") else world["erasure"].pk if name.startswith("erasure") \
        else world["statement"].pk
    url = "/" + route.replace("<uuid:public_id>", str(world["contact"].public_id)).replace(
        "<int:pk>", str(pk)).replace("<slug:purpose>", "involvement")
    if name == "contact_merge_preview":
        url += f"?duplicate={world['other'].public_id}"
    return url


def check(html: str, url: str) -> None:
    page = audit_page(html)
    assert page.h1_count == 1, url
    assert {"main", "header", "footer"} <= page.landmarks, url
    duplicated = [i for i, n in Counter(page.ids).items() if n > 1]
    assert not duplicated, (url, duplicated)
    unlabelled = [i.get("id") or i.get("name") for i in page.inputs if i.get("id") not in page.label_for]
    assert not unlabelled, (url, unlabelled)
    assert page.inline_styles == 0 and page.inline_scripts == 0, url


@pytest.mark.parametrize("role", [DATA_PROTECTION, ENGAGEMENT])
def test_every_page_is_well_formed(role, staff_client, world):
    client = staff_client(role)
    checked = 0
    for route, name in consent_staff_routes():
        url = url_for(route, name, world)
        response = client.get(url)
        assert response.status_code in (200, 302, 403), url
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            check(response.content.decode(), url)
            checked += 1
            if b'method="post"' in response.content and b"csrfmiddlewaretoken" in response.content:
                errors = client.post(url, {})
                if errors.status_code == 200:
                    check(errors.content.decode(), f"{url} (POST)")
    assert checked >= 10
