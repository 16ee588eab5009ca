"""Every public page passes axe (WCAG 2.2 A and AA rules) in headless Chromium, loads the NHS.UK
assets without a 404 or a CSP refusal, and has one h1 inside one main landmark (issue 3).

Pages that need a person (confirm, preference centre, unsubscribe) get one made through
consent.services; the personal links are made with consent.tokens as the emails make them.
"""

import pytest

from consent.tokens import DATA_ACCESS, personal_link_tokens

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INFORMATION_PAGES = [
    "/",
    "/sign-up/",
    "/sign-up/check-your-email/",
    "/preferences/",
    "/preferences/check-your-email/",
    "/your-data/",
    "/your-data/check-your-email/",
    "/privacy/",
    "/accessibility/",
]


@pytest.fixture
def person(make_contact, topics):
    """A confirmed contact with two purposes and some topics, as staff would add from a paper form."""
    return make_contact(email="Sam.Example@Example.org", name="Sam Example", purposes=("bulletin", "events"),
                        topics=topics)


@pytest.fixture
def pending_person(public_actor, topics):
    """A web sign-up that has not followed its confirmation link yet."""
    from consent import services

    return services.sign_up(email="pat@example.org", name="Pat Example", purposes=["bulletin"],
                            topic_ids=[topic.pk for topic in topics], actor=public_actor).contact


def primary_button(page):
    """The first submit button of the page's form (the action the page is about)."""
    return page.locator("main form button[type=submit]").first


def open_your_data(site, person):
    """Follow a fresh data-access link as its email offers it: the landing page, then Continue."""
    page = site.goto(f"/your-data/open/{personal_link_tokens.make_token(person, DATA_ACCESS)}/")
    site.assert_accessible()
    site.submit(primary_button(page))
    assert site.path() == "/your-data/view/"
    return page


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("path", INFORMATION_PAGES)
def test_information_pages(open_site, path, javascript):
    site = open_site(javascript=javascript)
    site.goto(path)
    site.assert_accessible()


def assert_error_summary_links_to_fields(page):
    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible()
    links = summary.locator("a")
    assert links.count() >= 1
    for index in range(links.count()):
        target = links.nth(index).get_attribute("href")
        assert target.startswith("#") and page.locator(target).count() == 1, f"error link {target} has no field"
        # The field carries its own message too (NHS.UK error-message pattern).
    assert page.locator(".nhsuk-error-message").count() >= 1
    assert page.title().startswith("Error: ")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_sign_up_with_errors(open_site, javascript):
    site = open_site(javascript=javascript)
    page = site.goto("/sign-up/")
    site.submit(primary_button(page))
    assert site.path() == "/sign-up/"
    assert_error_summary_links_to_fields(page)
    if javascript:
        # NHS.UK's error-summary script moves focus to the summary so screen readers announce it.
        assert page.evaluate("document.activeElement.classList.contains('nhsuk-error-summary')")
    site.assert_accessible()


def test_preferences_link_request_with_errors(site):
    page = site.goto("/preferences/")
    site.submit(primary_button(page))
    assert_error_summary_links_to_fields(page)
    site.assert_accessible()


def test_confirm_page_then_confirmed_page(site, pending_person):
    token = personal_link_tokens.make_token(pending_person, "confirm")
    page = site.goto(f"/confirm/{token}/")
    site.assert_accessible()
    site.submit(primary_button(page))
    assert page.locator("h1").inner_text().strip()
    site.assert_accessible()
    # The confirmed page offers the optional "about you" step.
    assert page.locator("a[href='/your-data/view/about-you/']").count() == 1


def test_confirmed_page_from_an_old_confirmation_link(site, pending_person):
    """Confirmed more than an hour after sign-up: the "about you" step is offered by a fresh emailed link."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        token = personal_link_tokens.make_token(pending_person, "confirm")
    page = site.goto(f"/confirm/{token}/")
    site.submit(primary_button(page))
    assert page.get_by_role("button", name="Email me a link to the questions about me").count() == 1
    site.assert_accessible()


def test_confirm_link_already_used(site, person):
    """A confirmed person who follows their old confirmation link gets a page, not an error."""
    site.goto(f"/confirm/{personal_link_tokens.make_token(person, 'confirm')}/")
    site.assert_accessible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_preference_centre_pages(open_site, person, javascript):
    site = open_site(javascript=javascript)
    token = personal_link_tokens.make_token(person, "preferences")
    for suffix in ("", "withdraw/"):
        site.goto(f"/preferences/{token}/{suffix}")
        site.assert_accessible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_your_data_pages(open_site, person, javascript):
    site = open_site(javascript=javascript)
    open_your_data(site, person)
    site.assert_accessible()
    for path in ("/your-data/view/details/", "/your-data/view/about-you/", "/your-data/view/delete/"):
        site.goto(path)
        site.assert_accessible()


def test_data_link_requested_from_the_preference_centre(site, person):
    page = site.goto(f"/preferences/{personal_link_tokens.make_token(person, 'preferences')}/")
    site.submit(page.get_by_role("button", name="Email me a link to see or delete my data"))
    assert site.path() == "/your-data/check-your-email/"
    site.assert_accessible()


def test_data_request_with_errors(site):
    page = site.goto("/your-data/")
    site.submit(primary_button(page))
    assert_error_summary_links_to_fields(page)
    site.assert_accessible()


def test_your_data_session_ended_and_used_link(site, person):
    site.goto("/your-data/view/", status=403)
    site.assert_accessible()
    token = personal_link_tokens.make_token(person, DATA_ACCESS)
    page = site.goto(f"/your-data/open/{token}/")
    site.submit(primary_button(page))
    site.goto(f"/your-data/open/{token}/", status=404)  # used once
    site.assert_accessible()


def test_your_details_saved_and_with_errors(site, person):
    open_your_data(site, person)
    page = site.goto("/your-data/view/details/")
    page.locator("#id_name").fill("")
    site.submit(primary_button(page))
    assert_error_summary_links_to_fields(page)
    site.assert_accessible()
    page.locator("#id_name").fill("Sam Changed")
    site.submit(primary_button(page))
    assert site.path() == "/your-data/view/"
    assert page.get_by_text("Your details have been saved.").is_visible()
    site.assert_accessible()


def test_sign_out_of_your_data_and_of_all_links(site, person):
    page = open_your_data(site, person)
    site.submit(page.get_by_role("button", name="Sign out of these pages"))
    site.assert_accessible()
    page = site.goto(f"/preferences/{personal_link_tokens.make_token(person, 'preferences')}/")
    site.submit(page.get_by_role("button", name="Sign me out of all links"))
    assert page.locator("h1").inner_text().strip() == "All your links have been cancelled"
    site.assert_accessible()


def test_preference_centre_saved_message(site, person):
    token = personal_link_tokens.make_token(person, "preferences")
    page = site.goto(f"/preferences/{token}/")
    site.submit(primary_button(page))
    assert site.path() == f"/preferences/{token}/"
    assert page.get_by_text("Your preferences have been saved.").is_visible()
    site.assert_accessible()


def test_preference_centre_with_errors(site, person):
    """Ticking "another language" without saying which one shows the NHS.UK error pattern."""
    token = personal_link_tokens.make_token(person, "preferences")
    page = site.goto(f"/preferences/{token}/")
    page.locator("input[name=needs][value=other_language]").check()
    site.submit(primary_button(page))
    assert_error_summary_links_to_fields(page)
    site.assert_accessible()


def test_about_you_without_consent_is_explained(site, person):
    """Answers with no consent box ticked are not kept: the page says so in the NHS.UK error pattern."""
    open_your_data(site, person)
    page = site.goto("/your-data/view/about-you/")
    page.locator("main form input[type=radio]").first.check()
    site.submit(primary_button(page))
    assert_error_summary_links_to_fields(page)
    site.assert_accessible()


def test_about_you_saved(site, person):
    open_your_data(site, person)
    page = site.goto("/your-data/view/about-you/")
    page.locator("main form input[type=radio]").first.check()
    page.locator("input[name=purposes][value=equality_monitoring]").check()  # answers are kept only with consent
    site.submit(primary_button(page))
    assert site.path() == "/your-data/view/"
    site.assert_accessible()


def test_withdraw_everything_done_page(site, person):
    token = personal_link_tokens.make_token(person, "preferences")
    page = site.goto(f"/preferences/{token}/withdraw/")
    site.submit(primary_button(page))
    site.assert_accessible()


def test_erase_done_page(site, person):
    open_your_data(site, person)
    page = site.goto("/your-data/view/delete/")
    site.submit(primary_button(page))
    site.assert_accessible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_unsubscribe_page_then_unsubscribed_page(open_site, person, javascript):
    site = open_site(javascript=javascript)
    token = personal_link_tokens.make_token(person, "unsubscribe")
    page = site.goto(f"/unsubscribe/{token}")
    site.assert_accessible()
    site.submit(primary_button(page))
    site.assert_accessible()


@pytest.mark.parametrize("path", [
    "/preferences/not-a-real-token/",
    "/confirm/not-a-real-token/",
    "/unsubscribe/not-a-real-token",
    "/your-data/open/not-a-real-token/",
])
def test_link_not_valid_page(site, path):
    site.goto(path, status=404)
    site.assert_accessible()


def test_wrong_purpose_link_gets_the_same_page(site, person):
    """A valid unsubscribe token used as a preference-centre link is refused like any bad link."""
    token = personal_link_tokens.make_token(person, "unsubscribe")
    page = site.goto(f"/preferences/{token}/", status=404)
    assert "Sam" not in page.content() and "example.org" not in page.content().lower()
    site.assert_accessible()
