"""Every bulletin page (writing, checking, approving, scheduling, moderating; the public archive, web
version and comment form) passes axe in headless Chromium, with one h1 in one main, its assets
loaded without a CSP refusal, and no sideways scrolling at 320 px. The email itself (the preview a
mail client would show) is checked by axe too, colour contrast included.
"""

from datetime import datetime

import pytest
from django.urls import reverse

from bulletins import comments, services
from consent.tokens import personal_link_tokens
from crm.audit import Actor
from tests.browser.conftest import AXE_OPTIONS, describe_violations, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(staff_user, make_contact, topics):
    """A draft, an approved bulletin, a sent one with a comment waiting, and the people involved."""
    author = staff_user("Communications", username="asha", first_name="Asha", last_name="Author")
    approver = staff_user("Communications", username="ben", first_name="Ben", last_name="Approver")
    by_author, by_approver = Actor.staff(author), Actor.staff(approver)
    reader = make_contact(email="rosa@example.org", name="Rosa Reader", topics=[topics[1]])

    def bulletin(subject, items):
        made = services.create_bulletin(subject=subject, preheader="Flu jabs, pharmacy hours and more",
                                        introduction="Welcome to the **winter** edition.", actor=by_author)
        for title, topic, extra in items:
            services.add_item(bulletin=made, content=services.ItemContent(
                title=title, body_markdown=extra.pop("body", f"About {title.lower()}. [Find a pharmacy]"
                                                             "(https://www.nhs.uk/service-search/pharmacy)."),
                topic=topics[topic], **extra), actor=by_author)
        made.refresh_from_db()
        return made

    draft = bulletin("Winter health news", [("Flu jabs", 0, {"comments_enabled": True}), ("Pharmacy hours", 1, {})])
    approved = bulletin("Spring update", [("Hay fever", 1, {})])
    services.approve_bulletin(bulletin=approved, version=approved.version, actor=by_approver)
    sent = bulletin("Autumn news", [("Walk-in centre", 1, {"comments_enabled": True}), ("Carers' week", 0, {})])
    services.approve_bulletin(bulletin=sent, version=sent.version, actor=by_approver)
    services.send_bulletin_now(bulletin=sent, actor=by_approver)
    sent.refresh_from_db()
    walk_in = sent.items.get(title="Walk-in centre")
    published = comments.submit_comment(item=walk_in, contact=reader, body="Is it open at weekends?",
                                        actor=Actor.public())
    comments.moderate_comment(comment=published, decision="approve", reply="Yes, 8am to 8pm.", actor=by_approver)
    waiting = comments.submit_comment(item=walk_in, contact=reader, body="Thank you for this.", actor=Actor.public())
    return {"author": author, "approver": approver, "reader": reader, "draft": draft, "approved": approved,
            "sent": sent, "waiting": waiting, "item": draft.items.order_by("position").first()}


def staff_site(open_site, user, *, javascript=True):
    site = open_site(javascript=javascript)
    sign_in_staff(site, user)
    return site


def check(site, path, *, status=200):
    site.goto(path, status=status)
    site.assert_accessible()
    site.problems.clear()
    return site.page


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_staff_bulletin_pages(open_site, world, javascript):
    site = staff_site(open_site, world["approver"], javascript=javascript)
    draft, approved, sent = world["draft"], world["approved"], world["sent"]
    item = world["item"]
    paths = [
        reverse("bulletins:list"),
        reverse("bulletins:new"),
        reverse("bulletins:detail", args=[draft.public_id]),
        reverse("bulletins:detail", args=[approved.public_id]),
        reverse("bulletins:detail", args=[sent.public_id]),
        reverse("bulletins:edit", args=[draft.public_id]),
        reverse("bulletins:item_add", args=[draft.public_id]),
        reverse("bulletins:item_edit", args=[draft.public_id, item.pk]),
        reverse("bulletins:item_remove", args=[draft.public_id, item.pk]),
        reverse("bulletins:preview", args=[draft.public_id]),
        reverse("bulletins:preview", args=[draft.public_id]) + "?contact=rosa%40example.org",
        reverse("bulletins:test_send", args=[draft.public_id]),
        reverse("bulletins:send", args=[approved.public_id]),
        reverse("bulletins:send", args=[draft.public_id]),  # not approved: says so
        reverse("bulletins:comments"),
        reverse("bulletins:comment_moderate", args=[world["waiting"].pk]),
    ]
    for path in paths:
        check(site, path)


def test_detail_page_reads_like_a_product(open_site, world):
    site = staff_site(open_site, world["approver"])
    page = check(site, reverse("bulletins:detail", args=[world["approved"].public_id]))
    text = page.locator("main").inner_text()
    assert "Version 2 approved by Ben Approver on" in text
    assert "Written by\nAsha Author" in text or "Written by\tAsha Author" in text or "Asha Author," in text
    assert "The email passes" in text
    assert "T0" not in text and "+00:00" not in text  # no ISO timestamps


def test_writing_and_approving_in_the_browser(open_site, world, topics):
    author_site = staff_site(open_site, world["author"])
    page = author_site.goto(reverse("bulletins:new"))
    author_site.submit(page.locator("main form button[type=submit]"))
    assert page.locator(".nhsuk-error-summary").is_visible() and page.title().startswith("Error: ")
    author_site.assert_accessible()
    page.locator("#id_subject").fill("Carers' news")
    author_site.submit(page.locator("main form button[type=submit]"))
    assert page.locator("h1").inner_text() == "Carers' news"
    author_site.submit(page.get_by_role("link", name="Add an item"))
    page.locator("#id_title").fill("Carers' week")
    page.locator("#id_body_markdown").fill("Events across **south Sefton**.")
    page.locator("#id_topic").select_option(str(topics[0].pk))
    page.locator("#id_image_url").fill("https://example.org/carers.jpg")
    author_site.submit(page.locator("main form button[type=submit]"))
    assert page.locator("#id_image_alt-error").inner_text().endswith("Describe the image for people who cannot see it")
    author_site.assert_accessible()
    page.locator("#id_image_url").fill("")
    author_site.submit(page.locator("main form button[type=submit]"))
    assert "You wrote or edited this bulletin, so a colleague" in page.locator("main").inner_text()
    author_site.assert_accessible()

    approver_site = staff_site(open_site, world["approver"])
    page = approver_site.goto(author_site.path())
    approver_site.submit(page.get_by_role("button", name="Approve version 2"))
    assert "Version 2 approved. It can now be sent or scheduled." in page.locator("main").inner_text()
    approver_site.assert_accessible()


def test_scheduling_page_explains_clock_changes(open_site, world):
    import time_machine

    site = staff_site(open_site, world["approver"])
    path = reverse("bulletins:send", args=[world["approved"].public_id])
    with time_machine.travel(datetime(2026, 3, 1, 12), tick=True):
        page = site.goto(path)
        page.locator("#id_send_on_0").fill("29")
        page.locator("#id_send_on_1").fill("3")
        page.locator("#id_send_on_2").fill("2026")
        page.locator("#id_send_at").fill("1:30am")
        site.submit(page.get_by_role("button", name="Schedule the bulletin"))
        assert "29 March 2026, 1:30am does not exist in the UK" in page.locator(".nhsuk-error-summary").inner_text()
        site.assert_accessible()
        page.locator("#id_send_on_0").fill("25")
        page.locator("#id_send_on_1").fill("10")
        site.submit(page.get_by_role("button", name="Schedule the bulletin"))
    text = page.locator("main").inner_text()
    assert "Scheduled for 25 October 2026, 1:30am (BST, the first of the two 1:30ams that night" in text
    assert "it will be sent once, at the first (British Summer Time)" in text
    site.assert_accessible()


def test_the_email_passes_axe_as_mail_clients_show_it(open_site, world):
    """The email preview is the email: inline styles and all (allowed on that response alone)."""
    from axe_playwright_python.sync_playwright import Axe

    site = staff_site(open_site, world["approver"])
    page = site.goto(reverse("bulletins:preview_email", args=[world["draft"].public_id]) + "?contact=rosa%40example.org")
    assert not site.problems, site.problems
    assert page.locator("h1").inner_text() == "Winter health news"
    # The reader's topic comes first.
    assert page.locator("h2").all_inner_texts() == ["Pharmacy hours", "Flu jabs"]
    header = page.locator("td.header")
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(0, 94, 184)"
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, describe_violations(violations)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_public_archive_and_web_version(open_site, world, javascript):
    site = open_site(javascript=javascript)
    page = check(site, reverse("bulletins:archive"))
    assert page.get_by_role("link", name="Autumn news").count() == 1
    page = check(site, reverse("bulletins:web_version", args=[world["sent"].public_id]))
    text = page.locator("main").inner_text()
    assert "Is it open at weekends?" in text and "Yes, 8am to 8pm." in text
    assert "Thank you for this." not in text  # waiting for moderation
    assert page.locator("textarea").count() == 0  # no comment form without the personal link


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_commenting_through_the_personal_link(open_site, world, javascript):
    site = open_site(javascript=javascript)
    token = personal_link_tokens.make_token(world["reader"], "comment")
    page = check(site, reverse("bulletins:web_version_comment", args=[world["sent"].public_id, token]))
    assert page.locator("textarea").count() == 1
    assert not page.locator(".mynhs-honeypot").is_visible()
    page.locator("textarea").fill("   ")  # the textarea caps length itself (maxlength), so test an empty one
    site.submit(page.get_by_role("button", name="Send your comment on Walk-in centre"), status=400)
    assert page.locator(".nhsuk-error-summary").is_visible()
    site.assert_accessible()
    site.problems.clear()
    page.locator("textarea").fill("Please open on bank holidays too.")
    site.submit(page.get_by_role("button", name="Send your comment on Walk-in centre"))
    assert "Thank you for your comment" in page.locator("main").inner_text()
    site.assert_accessible()


def test_screenshots_for_review(open_site, world, tmp_path_factory):
    """Not an assertion of looks: saves PNGs of the main pages for a person to look at."""
    import os
    from pathlib import Path

    folder = Path(os.environ.get("BULLETIN_SCREENSHOTS", tmp_path_factory.mktemp("bulletin-screens")))
    folder.mkdir(parents=True, exist_ok=True)
    site = staff_site(open_site, world["approver"])
    token = personal_link_tokens.make_token(world["reader"], "comment")
    shots = {
        "detail": reverse("bulletins:detail", args=[world["draft"].public_id]),
        "preview": reverse("bulletins:preview", args=[world["draft"].public_id]) + "?contact=rosa%40example.org",
        "email": reverse("bulletins:preview_email", args=[world["draft"].public_id]),
        "send": reverse("bulletins:send", args=[world["approved"].public_id]),
        "comments": reverse("bulletins:comments"),
        "web": reverse("bulletins:web_version_comment", args=[world["sent"].public_id, token]),
        "archive": reverse("bulletins:archive"),
    }
    for name, path in shots.items():
        site.goto(path)
        site.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    assert len(list(folder.glob("*.png"))) >= len(shots)


def test_contact_page_with_its_bulletins_panel(open_site, world, staff_user):
    site = staff_site(open_site, staff_user("Engagement"))
    page = check(site, reverse("consent_staff:contact", args=[world["reader"].public_id]))
    assert "Autumn news" in page.locator("#bulletins-sent + *").inner_text()


# --- segments, event invitations and "you said, we did" (the pages they add or change) -----------------

@pytest.fixture
def wiring(world, staff_user, make_contact):
    """A segment, an event with an invitation email (sent), a completed activity with a feedback draft."""
    from segments import activities, activity_evidence, events
    from segments import services as segment_services
    from segments.models import Programme

    engagement = Actor.staff(staff_user("Engagement", username="erin", first_name="Erin", last_name="Engage"))
    by_author, by_approver = Actor.staff(world["author"]), Actor.staff(world["approver"])
    segment = segment_services.create_segment(name="Carers", rules={
        "version": 1, "match": "all", "rules": [{"field": "kind", "op": "in", "value": ["carer"]}]}, actor=engagement)
    guest = make_contact(email="gita@example.org", name="Gita Guest", kind="carer", purposes=("events", "involvement"))
    chat = events.save_event(actor=engagement, kind="big_chat", title="Big Chat, Bootle",
                             starts_at=datetime(2027, 3, 11, 18, 30), ends_at=datetime(2027, 3, 11, 20, 0),
                             venue_name="Bootle Town Hall", venue_address="Oriel Road, Bootle", step_free=True,
                             hearing_loop=True, capacity=40)
    invitation = services.create_bulletin(subject="You are invited: Big Chat, Bootle",
                                          introduction="Tell us what matters to carers.", kind="event_invitation",
                                          event=chat, segment=segment, actor=by_author)
    services.approve_bulletin(bulletin=invitation, version=invitation.version, actor=by_approver)
    services.send_bulletin_now(bulletin=invitation, actor=by_approver)
    invitation.refresh_from_db()
    activity = activities.create_activity(actor=engagement, title="Carers' support review", kind="consultation",
                                          programme=Programme.objects.get_or_create(name="Carers")[0],
                                          you_said="Evening sessions.", we_did="Two evening clinics.")
    activity_evidence.add_participant(activity=activity, contact=guest, actor=engagement)
    activities.change_status(activity=activity, status="in_progress", actor=engagement)
    activity = activities.change_status(activity=activity, status="completed", actor=engagement)
    feedback = services.create_bulletin(subject="You said, we did: carers' support", introduction="Thank you.",
                                        kind="activity_feedback", activity=activity, actor=by_author)
    return {"segment": segment, "event": chat, "invitation": invitation, "activity": activity,
            "feedback": feedback, "engagement": engagement}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_invitation_and_feedback_pages(open_site, world, wiring, javascript, tmp_path_factory):
    site = staff_site(open_site, world["approver"], javascript=javascript)
    shots = tmp_path_factory.mktemp("shots")
    paths = {
        "invite_new": reverse("bulletins:new_invitation", args=[wiring["event"].public_id]),
        "invitation": reverse("bulletins:detail", args=[wiring["invitation"].public_id]),
        "invitation_edit": reverse("bulletins:edit", args=[wiring["invitation"].public_id]),
        "invitation_report": reverse("bulletins:progress", args=[wiring["invitation"].public_id]),
        "feedback_new": reverse("bulletins:new_feedback", args=[wiring["activity"].pk]),
        "feedback": reverse("bulletins:detail", args=[wiring["feedback"].public_id]),
        "bulletin_edit": reverse("bulletins:edit", args=[world["draft"].public_id]),
    }
    for name, path in paths.items():
        page = check(site, path)
        if javascript:
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    text = check(site, paths["invitation"]).locator("main").inner_text()
    assert "in the segment “Carers”" in text and "Big Chat, Bootle" in text
    print("screenshots in", shots)


def test_event_page_with_emailed_invitations_and_the_invitation_email(open_site, world, wiring, tmp_path_factory):
    from axe_playwright_python.sync_playwright import Axe
    from django.contrib.auth.models import Group

    world["approver"].groups.add(Group.objects.get(name="Engagement"))
    site = staff_site(open_site, world["approver"])
    shots = tmp_path_factory.mktemp("shots")
    page = check(site, reverse("segments:event_detail", args=[wiring["event"].public_id]))
    page.screenshot(path=str(shots / "event.png"), full_page=True)
    main = page.locator("main").inner_text()
    assert "Email invitations" in main and "You are invited: Big Chat, Bootle" in main
    page = check(site, reverse("segments:activity_detail", args=[wiring["activity"].pk]))
    assert "Send feedback to participants" in page.locator("main").inner_text()
    page = site.goto(reverse("bulletins:preview_email", args=[wiring["invitation"].public_id]))
    page.screenshot(path=str(shots / "invitation_email.png"), full_page=True)
    assert "Thursday 11 March 2027, 6:30pm to 8pm" in page.locator("body").inner_text()
    violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
    assert not violations, describe_violations(violations)
    print("screenshots in", shots)
