"""Comments on bulletin items: left from the web version through the recipient's signed link, plain
text up to 2,000 characters, moderated before publication, escaped on output, rate-limited, with a
honeypot; and a person's deliveries and comments in their data export and gone on erasure."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from bulletins import comments
from bulletins.models import Bulletin, Comment, Delivery
from consent.tokens import personal_link_tokens
from crm.audit import Actor
from tests.bulletin_fixtures import *  # noqa: F403 - the shared fixtures, found by pytest by name

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(make_bulletin, make_contact, topics, send_bulletin):
    """A sent bulletin: "Open" takes comments, "Closed" does not; Rosa got it, Sam (other topic) did not."""
    rosa = make_contact(email="rosa@example.org", name="Rosa Reader", topics=[topics[0]])
    sam = make_contact(email="sam@example.org", name="Sam Other", topics=[topics[2]])
    bulletin = send_bulletin(make_bulletin(items=[("Open", 0, {"comments_enabled": True}), ("Closed", 1, {})]))
    assert Delivery.objects.get(bulletin=bulletin, contact=rosa).status == "sent"
    assert not Delivery.objects.filter(bulletin=bulletin, contact=sam).exists()
    return {"bulletin": bulletin, "rosa": rosa, "sam": sam,
            "open": bulletin.items.get(title="Open"), "closed": bulletin.items.get(title="Closed")}


def comment_url(bulletin, contact):
    return reverse("bulletins:web_version_comment",
                   args=[bulletin.public_id, personal_link_tokens.make_token(contact, "comment")])


def post_comment(url, item, body, **extra):
    return Client().post(url, {"item": item.pk, "body": body, "website": "", **extra})


def test_a_recipient_comments_and_it_waits_for_moderation(sent, approver):
    url = comment_url(sent["bulletin"], sent["rosa"])
    browser = Client()
    page = browser.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<textarea") == 1  # only "Open" takes comments
    assert "Your comment on “Open”" in html

    response = browser.post(url, {"item": sent["open"].pk, "body": "Can I get my flu jab at the Bootle pharmacy?"})
    assert response.status_code == 302
    assert browser.get(response["Location"]).content.decode().count("Thank you for your comment") == 1
    comment = Comment.objects.get()
    assert (comment.item, comment.contact, comment.status) == (sent["open"], sent["rosa"], "pending")
    public = reverse("bulletins:web_version", args=[sent["bulletin"].public_id])
    assert "Bootle pharmacy" not in Client().get(public).content.decode()

    comments.moderate_comment(comment=comment, decision="approve", reply="Yes: ask at the counter.",
                              actor=Actor.staff(approver))
    html = Client().get(public).content.decode()
    assert "Can I get my flu jab at the Bootle pharmacy?" in html
    assert "Reply from the team:</strong> Yes: ask at the counter." in html
    assert "Rosa" not in html  # published without the writer's name


def test_comments_are_plain_text_escaped_on_output(sent, approver):
    url = comment_url(sent["bulletin"], sent["rosa"])
    post_comment(url, sent["open"], '<script>alert("x")</script> <b>bold</b> [link](javascript:alert(1))')
    comment = Comment.objects.get()
    assert comment.body == '<script>alert("x")</script> <b>bold</b> [link](javascript:alert(1))'  # stored as typed
    comments.moderate_comment(comment=comment, decision="approve", actor=Actor.staff(approver))
    html = Client().get(reverse("bulletins:web_version", args=[sent["bulletin"].public_id])).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;" in html
    assert '<script>alert("x")' not in html and "<b>bold</b>" not in html
    moderation = Client()
    moderation.force_login(approver)
    from tests.conftest import verify_client_session

    verify_client_session(moderation, approver)
    queue = moderation.get(reverse("bulletins:comments")).content.decode()
    assert "<script>alert" not in queue


@pytest.mark.parametrize("length, accepted", [(2000, True), (2001, False)])
def test_length_limit(sent, length, accepted):
    response = post_comment(comment_url(sent["bulletin"], sent["rosa"]), sent["open"], "a" * length)
    assert Comment.objects.exists() is accepted
    if not accepted:
        assert response.status_code == 400
        assert "Your comment must be 2,000 characters or fewer" in response.content.decode()


def test_empty_comment_is_refused(sent):
    response = post_comment(comment_url(sent["bulletin"], sent["rosa"]), sent["open"], "   \n ")
    assert response.status_code == 400 and "Enter your comment" in response.content.decode()
    assert not Comment.objects.exists()


def test_an_item_that_takes_no_comments_refuses_them(sent):
    response = post_comment(comment_url(sent["bulletin"], sent["rosa"]), sent["closed"], "Hello")
    assert response.status_code == 400 and "This item does not take comments." in response.content.decode()
    assert not Comment.objects.exists()


def test_someone_the_bulletin_was_not_sent_to_cannot_comment(sent):
    url = comment_url(sent["bulletin"], sent["sam"])
    assert "<textarea" not in Client().get(url).content.decode()
    response = post_comment(url, sent["open"], "Hello")
    assert response.status_code == 400
    assert "Only people this bulletin was sent to can comment on it." in response.content.decode()
    assert not Comment.objects.exists()


@pytest.mark.parametrize("token", ["nonsense", "a:b:c"])
def test_a_bad_link_is_not_valid(sent, token):
    url = reverse("bulletins:web_version_comment", args=[sent["bulletin"].public_id, token])
    assert Client().get(url).status_code == 404
    assert post_comment(url, sent["open"], "Hello").status_code == 404
    assert not Comment.objects.exists()


def test_a_link_for_another_purpose_is_not_valid(sent):
    token = personal_link_tokens.make_token(sent["rosa"], "unsubscribe")
    url = reverse("bulletins:web_version_comment", args=[sent["bulletin"].public_id, token])
    assert Client().get(url).status_code == 404


def test_the_honeypot_stores_nothing_and_says_thanks(sent):
    response = post_comment(comment_url(sent["bulletin"], sent["rosa"]), sent["open"], "Buy now",
                            website="https://spam.example")
    assert response.status_code == 302
    assert not Comment.objects.exists()


def test_comments_are_rate_limited_per_address(sent, settings):
    settings.PUBLIC_RATE_LIMIT = "3/h"
    url = comment_url(sent["bulletin"], sent["rosa"])
    statuses = [post_comment(url, sent["open"], f"Comment {n}").status_code for n in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert Comment.objects.count() == 3


def test_draft_bulletins_take_no_comments(make_bulletin, make_contact, topics):
    bulletin = make_bulletin(items=[("Open", 0, {"comments_enabled": True})])
    rosa = make_contact(topics=[topics[0]])
    assert Client().get(comment_url(bulletin, rosa)).status_code == 404
    with pytest.raises(ValidationError, match="does not take comments"):
        comments.submit_comment(item=bulletin.items.get(), contact=rosa, body="Hi", actor=Actor.public())


# --- moderation ---------------------------------------------------------------------------------

def test_rejected_comments_stay_hidden_and_cannot_carry_a_reply(sent, approver):
    comment = comments.submit_comment(item=sent["open"], contact=sent["rosa"], body="Rude words",
                                      actor=Actor.public())
    with pytest.raises(ValidationError) as error:
        comments.moderate_comment(comment=comment, decision="reject", reply="No", actor=Actor.staff(approver))
    assert "reply" in error.value.message_dict
    comments.moderate_comment(comment=comment, decision="reject", actor=Actor.staff(approver))
    comment.refresh_from_db()
    assert comment.status == "rejected" and comment.moderated_by == approver
    html = Client().get(reverse("bulletins:web_version", args=[sent["bulletin"].public_id])).content.decode()
    assert "Rude words" not in html


@pytest.mark.parametrize("role", ["Engagement", "Data protection", "Administrator"])
def test_only_communications_moderates(sent, staff_user, role):
    comment = comments.submit_comment(item=sent["open"], contact=sent["rosa"], body="Hi", actor=Actor.public())
    with pytest.raises(PermissionDenied):
        comments.moderate_comment(comment=comment, decision="approve", actor=Actor.staff(staff_user(role)))
    comment.refresh_from_db()
    assert comment.status == "pending"


def test_moderation_page_publishes_with_a_reply(sent, staff_client):
    comment = comments.submit_comment(item=sent["open"], contact=sent["rosa"], body="Thanks!", actor=Actor.public())
    client = staff_client("Communications")
    queue = client.get(reverse("bulletins:comments")).content.decode()
    assert "Thanks!" in queue and "On “Open” in Winter health news" in queue
    response = client.post(reverse("bulletins:comment_moderate", args=[comment.pk]),
                           {"decision": "approve", "reply": "You are welcome."})
    assert response.status_code == 302
    comment.refresh_from_db()
    assert (comment.status, comment.reply) == ("approved", "You are welcome.")


# --- a person's data: export and erasure ------------------------------------------------------------

def test_deliveries_and_comments_are_in_the_persons_data(sent):
    from consent.exports import personal_data_for

    comments.submit_comment(item=sent["open"], contact=sent["rosa"], body="My comment", actor=Actor.public())
    data = personal_data_for(sent["rosa"])
    assert [(d["bulletin"], d["status"]) for d in data["bulletin_deliveries"]] == [("Winter health news", "sent")]
    assert [(c["item"], c["comment"], c["status"]) for c in data["bulletin_comments"]] == [
        ("Open", "My comment", "pending")]
    assert personal_data_for(sent["sam"])["bulletin_deliveries"] == []


def test_erasure_removes_deliveries_and_comments_and_keeps_anonymous_counts(sent, actor):
    from consent.erasure import erase_contact

    comments.submit_comment(item=sent["open"], contact=sent["rosa"], body="My comment", actor=Actor.public())
    bulletin = sent["bulletin"]
    erase_contact(contact=sent["rosa"], actor=actor)
    assert not Delivery.objects.filter(bulletin=bulletin).exists()
    assert not Comment.objects.exists()
    bulletin = Bulletin.objects.get(pk=bulletin.pk)
    assert bulletin.erased_counts == {"deliveries": 1, "deliveries_sent": 1, "comments": 1, "comments_pending": 1}


def test_comment_links_are_redacted_in_logs(sent):
    from crm.logging import redact

    url = comment_url(sent["bulletin"], sent["rosa"])
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert token not in redact(f"Bad Request: {url}")
    assert f"/bulletins/{sent['bulletin'].public_id}/comment/[redacted]/" in redact(f"Bad Request: {url}")


def test_the_staff_contact_page_lists_the_bulletins_sent(sent, staff_client):
    client = staff_client("Engagement")
    html = client.get(reverse("consent_staff:contact", args=[sent["rosa"].public_id])).content.decode()
    assert '<h2 id="bulletins-sent">Bulletins sent</h2>' in html
    assert "Winter health news" in html and ">Sent</strong>" in html
    other = client.get(reverse("consent_staff:contact", args=[sent["sam"].public_id])).content.decode()
    assert "No bulletins have been sent to this person." in other
