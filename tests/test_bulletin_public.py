"""The public web version of each sent bulletin (a stable URL, linked from every email) and the
archive of past bulletins; and the staff preview as a chosen contact would see it."""

import email
import re
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from bulletins.models import Bulletin
from crm.models import AuditEntry
from tests.bulletin_fixtures import *  # noqa: F403 - the shared fixtures, found by pytest by name

pytestmark = pytest.mark.django_db


def web_url(bulletin):
    return reverse("bulletins:web_version", args=[bulletin.public_id])


def test_drafts_and_approved_bulletins_have_no_public_page(make_bulletin, approved_bulletin):
    assert Client().get(web_url(make_bulletin())).status_code == 404
    assert Client().get(web_url(approved_bulletin)).status_code == 404


def test_the_web_version_shows_every_item_in_order(make_bulletin, make_contact, topics, send_bulletin):
    make_contact(topics=[topics[1]])
    bulletin = send_bulletin(make_bulletin(items=[
        ("Flu jabs", 0, {"body": "Book at a [pharmacy](https://www.nhs.uk/pharmacy/). <script>alert(1)</script>"}),
        ("Pharmacy hours", 1, {})]))
    response = Client().get(web_url(bulletin))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Winter health news</h1>" in html
    assert html.index("Flu jabs") < html.index("Pharmacy hours")
    assert '<a href="https://www.nhs.uk/pharmacy/" rel="noopener noreferrer">pharmacy</a>' in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Item images come from elsewhere on the web: this page alone allows https images.
    assert "img-src 'self' data: https:" in response["Content-Security-Policy"]


def test_every_email_links_to_the_web_version(make_bulletin, make_contact, topics, send_bulletin, settings):
    make_contact(topics=[topics[0]])
    before = set(settings.EMAIL_OUTBOX_DIR.glob("*.eml"))
    bulletin = send_bulletin(make_bulletin())
    files = list(set(settings.EMAIL_OUTBOX_DIR.glob("*.eml")) - before)
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes())
    parts = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
             if not part.is_multipart()}
    url = settings.SITE_URL + web_url(bulletin)
    assert f"Read this bulletin on the web: {url}" in parts["text/plain"]
    assert f'href="{url}"' in parts["text/html"]
    assert Client().get(web_url(bulletin)).status_code == 200


def test_archive_lists_sent_bulletins_newest_first(make_bulletin, make_contact, topics, send_bulletin):
    make_contact(topics=[topics[0]])
    older = send_bulletin(make_bulletin(subject="November news"))
    newer = send_bulletin(make_bulletin(subject="December news"))
    Bulletin.objects.filter(pk=older.pk).update(status="sent", send_started_at=datetime(2026, 11, 4, 9, 30, tzinfo=UTC))
    Bulletin.objects.filter(pk=newer.pk).update(status="sent", send_started_at=datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    make_bulletin(subject="Draft not yet sent")
    html = Client().get(reverse("bulletins:archive")).content.decode()
    assert html.index("December news") < html.index("November news")
    assert "Draft not yet sent" not in html
    assert "Sent 2 December 2026" in html and "Sent 4 November 2026" in html
    assert f'href="{web_url(newer)}"' in html


def test_archive_without_bulletins():
    assert "No bulletins have been sent yet." in Client().get(reverse("bulletins:archive")).content.decode()


# --- staff preview -------------------------------------------------------------------------------

def test_preview_as_a_contact_puts_their_topics_first_and_is_audited(make_bulletin, make_contact, topics,
                                                                     staff_client):
    bulletin = make_bulletin(items=[("Flu jabs", 0, {}), ("Pharmacy hours", 1, {})])
    make_contact(email="pat@example.org", topics=[topics[1]])
    client = staff_client("Communications")
    url = reverse("bulletins:preview", args=[bulletin.public_id])
    html = client.get(url, {"contact": "Pat@Example.org"}).content.decode()
    assert "These items match their topics and come first: Pharmacy hours." in html
    text = re.search(r"<pre[^>]*>(.*?)</pre>", html, re.DOTALL).group(1)
    assert text.index("Pharmacy hours") < text.index("Flu jabs")
    assert AuditEntry.objects.filter(action="bulletin.previewed_as_contact").count() == 1

    email_html = client.get(reverse("bulletins:preview_email", args=[bulletin.public_id]),
                            {"contact": "pat@example.org"})
    body = email_html.content.decode()
    assert re.findall(r"<h2[^>]*>([^<]+)</h2>", body) == ["Pharmacy hours", "Flu jabs"] and "[[" not in body
    assert "style-src 'unsafe-inline'" in email_html["Content-Security-Policy"]
    assert "script-src 'none'" in email_html["Content-Security-Policy"]


def test_preview_refuses_someone_outside_the_audience(make_bulletin, make_contact, topics, staff_client):
    bulletin = make_bulletin(items=[("Flu jabs", 0, {})])
    make_contact(email="other@example.org", topics=[topics[2]])
    html = staff_client("Communications").get(reverse("bulletins:preview", args=[bulletin.public_id]),
                                              {"contact": "other@example.org"}).content.decode()
    assert "This person would not get this bulletin" in html
    assert "No contact has that email address" in staff_client("Communications").get(
        reverse("bulletins:preview", args=[bulletin.public_id]), {"contact": "nobody@example.org"}).content.decode()
    assert not AuditEntry.objects.filter(action="bulletin.previewed_as_contact").exists()


def test_detail_page_shows_count_check_and_approval_rules(make_bulletin, make_contact, topics, staff_client, author):
    bulletin = make_bulletin(items=[("Flu jabs", 0, {"body": "[click here](https://www.nhs.uk/)"})])
    make_contact(topics=[topics[0]])
    make_contact(topics=[topics[0]])
    url = reverse("bulletins:detail", args=[bulletin.public_id])
    html = staff_client(user=author).get(url).content.decode()
    assert '<span id="audience-count">2</span> people would get it' in html
    assert "Link text “click here” does not say where the link goes" in html
    assert "You wrote or edited this bulletin, so a colleague" in html and "Approve version" not in html
    other = staff_client("Communications").get(url).content.decode()
    assert f"Approve version {bulletin.version}" in other
