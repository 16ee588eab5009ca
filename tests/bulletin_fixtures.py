"""Fixtures shared by the bulletin authoring tests: two Communications users and bulletins built
through the services, as staff would build them. Import the fixtures by name into a test module."""

import pytest

from crm.audit import Actor

__all__ = ["approved_bulletin", "approver", "approver_actor", "author", "author_actor", "make_bulletin", "send_bulletin"]


@pytest.fixture
def author(staff_user):
    return staff_user("Communications", username="author", first_name="Asha", last_name="Author")


@pytest.fixture
def approver(staff_user):
    return staff_user("Communications", username="approver", first_name="Ben", last_name="Approver")


@pytest.fixture
def author_actor(author):
    return Actor.staff(author, "127.0.0.1")


@pytest.fixture
def approver_actor(approver):
    return Actor.staff(approver, "127.0.0.1")


@pytest.fixture
def make_bulletin(author_actor, topics):
    """``make_bulletin(items=[("Title", topic_index, {extra})...])`` → a draft bulletin with those items."""
    from bulletins import services

    def make(subject="Winter health news", items=None, audience="topics", introduction="Hello from the team.",
             actor=None):
        actor = actor or author_actor
        bulletin = services.create_bulletin(subject=subject, preheader="Flu jabs, pharmacies and more",
                                            introduction=introduction, audience=audience, actor=actor)
        for entry in items if items is not None else [("Flu jabs", 0, {}), ("Pharmacy hours", 1, {})]:
            title, topic_index, extra = entry
            content = services.ItemContent(title=title, body_markdown=extra.pop("body", f"About {title.lower()}."),
                                           topic=topics[topic_index], **extra)
            services.add_item(bulletin=bulletin, content=content, actor=actor)
        bulletin.refresh_from_db()
        return bulletin

    return make


@pytest.fixture
def approved_bulletin(make_bulletin, approver_actor):
    from bulletins import services

    bulletin = make_bulletin()
    return services.approve_bulletin(bulletin=bulletin, version=bulletin.version, actor=approver_actor)


@pytest.fixture
def send_bulletin(approver_actor, django_capture_on_commit_callbacks):
    """``send_bulletin(bulletin)``: approve it if needed and send it through the real pipeline
    (the default outbox channel, Huey in-process); returns the bulletin, refreshed."""
    from bulletins import services

    def send(bulletin):
        if bulletin.status == "draft":
            services.approve_bulletin(bulletin=bulletin, version=bulletin.version, actor=approver_actor)
        with django_capture_on_commit_callbacks(execute=True):
            services.send_bulletin_now(bulletin=bulletin, actor=approver_actor)
        bulletin.refresh_from_db()
        return bulletin

    return send
