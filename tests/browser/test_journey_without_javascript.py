"""The whole public journey in a browser with JavaScript switched off (issue 3: every page works
without JavaScript): sign up → confirmation email → confirm → about you → preference centre →
"email me a link to see or delete my data" → that email's link → download my data. Each step is
checked in the database too, and no page may fail to load an asset or break the CSP on the way.
"""

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core import mail

from consent.selectors import consent_summary
from crm.models import Contact, EqualityProfile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "Jo.Bloggs@Example.ORG"


def link_in(message, kind):
    """The personal link of ``kind`` in an email's plain-text body, as a path on any host."""
    found = re.search(rf"https?://\S+?(/{kind}/[^\s\"<>]+)", message.body)
    assert found, f"no {kind} link in: {message.body}"
    return urlsplit(found.group(0)).path


def test_sign_up_confirm_about_you_and_preferences_without_javascript(open_site, tmp_path):
    site = open_site(javascript=False)
    page = site.goto("/")
    assert page.locator("body.js-enabled").count() == 0  # the site's script never ran

    # Home → sign-up form, filled in and sent with no script anywhere.
    with page.expect_navigation():
        page.locator("main a[href='/sign-up/']").first.click()
    page.locator("#id_name").fill("Jo Bloggs")
    page.locator("#id_email").fill(EMAIL)
    page.locator("#id_postcode").fill("l20 3nj")
    page.locator("input[name=purposes][value=bulletin]").check()
    page.locator("input[name=topics]").first.check()
    site.submit(page.locator("main form button[type=submit]").first)
    assert site.path() == "/sign-up/check-your-email/"
    site.assert_accessible()

    contact = Contact.objects.get(email_normalised="jo.bloggs@example.org")
    assert contact.confirmed_at is None
    assert consent_summary(contact)["bulletin"] == "pending"

    # The confirmation email (sent by the live server in this process) carries the signed link.
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [EMAIL]
    confirm_path = link_in(mail.outbox[0], "confirm")

    # Following the link only shows a button: nothing is confirmed by a GET.
    page = site.goto(confirm_path)
    site.assert_accessible()
    contact.refresh_from_db()
    assert contact.confirmed_at is None

    site.submit(page.locator("main form button[type=submit]").first)
    site.assert_accessible()
    contact.refresh_from_db()
    assert contact.confirmed_at is not None
    assert consent_summary(contact)["bulletin"] == "granted"

    # The optional "about you" step, reached from the confirmed page.
    with page.expect_navigation():
        page.locator("main a[href$='/about-you/']").first.click()
    site.assert_accessible()
    page.locator("input[name=age_band]").nth(2).check()
    page.locator("input[name=carer][value=prefer_not_to_say]").check()
    page.locator("input[name=purposes][value=equality_monitoring]").check()
    site.submit(page.locator("main form button[type=submit]").first)
    assert site.path() == "/your-data/view/"
    assert page.locator("main").get_by_text("Your answers about you have been saved.").count() == 1
    site.assert_accessible()
    profile = EqualityProfile.objects.get(contact=contact)
    assert profile.age_band and profile.carer == "prefer_not_to_say"
    assert consent_summary(contact)["equality_monitoring"] == "granted"

    # Later, the preference centre: from a link emailed on request, as the person would reach it.
    mail.outbox.clear()
    site.goto("/preferences/")
    page.locator("#id_email").fill(EMAIL)
    site.submit(page.locator("main form button[type=submit]").first)
    preferences_path = link_in(mail.outbox[-1], "preferences")
    assert re.fullmatch(r"/preferences/[^/]+/", preferences_path)
    page = site.goto(preferences_path)
    site.assert_accessible()

    # Preference centre: add a purpose and a communication need, save.
    page.locator("input[name=purposes][value=events]").check()
    page.locator("input[name=needs][value=large_print]").check()
    site.submit(page.locator("main form button[type=submit]").first)
    assert site.path() == preferences_path
    assert page.locator("main").get_by_text("Your preferences have been saved.").count() == 1
    site.assert_accessible()
    assert consent_summary(contact)["events"] == "granted"
    assert list(contact.communication_needs.values_list("need", flat=True)) == ["large_print"]

    # See or delete my data: a separate link, emailed to the address, used once.
    site.submit(page.get_by_role("button", name="Email me a link to see or delete my data"))
    assert site.path() == "/your-data/check-your-email/"
    site.assert_accessible()
    page = site.goto(link_in(mail.outbox[-1], "your-data/open"))
    site.assert_accessible()
    site.submit(page.locator("main form button[type=submit]").first)
    assert site.path() == "/your-data/view/"
    site.assert_accessible()

    # Download my data: an ordinary link to a JSON attachment.
    with page.expect_download() as download:
        page.locator("main a[href$='/download/']").click()
    saved = Path(tmp_path) / "my-data.json"
    download.value.save_as(saved)
    data = json.loads(saved.read_text())
    assert EMAIL in json.dumps(data)

    assert not site.problems, "\n".join(site.problems)
