import os

import pytest
from django.db import connection

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _huey_immediate():
    """Run Huey tasks in-process: tests choose explicitly (STACK.md: immediate mode follows DEBUG)."""
    from huey.contrib.djhuey import HUEY

    previous = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = previous


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _release_ledger_for_flush(request):
    """Transactional tests end with a flush that DELETEs every row; the ledger trigger would refuse.

    Permit exactly the rows that exist (as erasure does) so the flush can run.
    """
    yield
    if "transactional_db" in request.fixturenames or "live_server" in request.fixturenames:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO consent_erasurepermit (contact_id) SELECT DISTINCT contact_id FROM consent_consentevent "
                "WHERE contact_id NOT IN (SELECT contact_id FROM consent_erasurepermit)"
            )


@pytest.fixture
def actor():
    from crm.audit import Actor

    return Actor.system()


@pytest.fixture
def public_actor():
    from crm.audit import Actor

    return Actor.public("127.0.0.1")


@pytest.fixture
def topics(db):
    from crm.models import Topic

    return list(Topic.objects.order_by("name")[:3])


@pytest.fixture
def make_contact(db, actor):
    """A confirmed contact with consent for the given purposes, recorded as staff evidence."""
    from consent import services

    counter = {"n": 0}

    def make(email=None, name="Test Person", purposes=("bulletin",), **extra):
        counter["n"] += 1
        email = email or f"person{counter['n']}@example.org"
        return services.add_contact_with_consent(
            email=email, name=name, actor=actor, method="paper_form", purposes=list(purposes),
            evidence_reference="test form", **extra,
        )

    return make
