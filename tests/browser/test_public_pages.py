"""Every public page passes axe (WCAG 2.2 A and AA rules) in headless Chromium, loads the NHS.UK
assets without a 404 or a CSP refusal, and has one h1 inside one main landmark (issue 3).

Pages that need a person (confirm, preference centre, unsubscribe) get one made through
consent.services; the personal links are made with consent.tokens as the emails make them.
"""

import pytest

from consent.tokens import personal_link_tokens

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INFORMATION_PAGES = [
    "/",
    "/sign-up/",
    "/sign-up/check-your-email/",
    "/preferences/",
    "/preferences/check-your-email/",
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
    assert page.locator("a[href*='/preferences/'][href$='/about-you/']").count() == 1


def test_confirm_link_already_used(site, person):
    """A confirmed person who follows their old confirmation link gets a page, not an error."""
    site.goto(f"/confirm/{personal_link_tokens.make_token(person, 'confirm')}/")
    site.assert_accessible()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_preference_centre_pages(open_site, person, javascript):
    site = open_site(javascript=javascript)
    token = personal_link_tokens.make_token(person, "preferences")
    for suffix in ("", "about-you/", "withdraw/", "erase/"):
        site.goto(f"/preferences/{token}/{suffix}")
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
    token = personal_link_tokens.make_token(person, "preferences")
    page = site.goto(f"/preferences/{token}/about-you/")
    page.locator("main form input[type=radio]").first.check()
    site.submit(primary_button(page))
    assert_error_summary_links_to_fields(page)
    site.assert_accessible()


def test_about_you_saved(site, person):
    token = personal_link_tokens.make_token(person, "preferences")
    page = site.goto(f"/preferences/{token}/about-you/")
    page.locator("main form input[type=radio]").first.check()
    page.locator("input[name=purposes][value=equality_monitoring]").check()  # answers are kept only with consent
    site.submit(primary_button(page))
    assert site.path() == f"/preferences/{token}/"
    site.assert_accessible()


def test_withdraw_everything_done_page(site, person):
    token = personal_link_tokens.make_token(person, "preferences")
    page = site.goto(f"/preferences/{token}/withdraw/")
    site.submit(primary_button(page))
    site.assert_accessible()


def test_erase_done_page(site, person):
    token = personal_link_tokens.make_token(person, "preferences")
    page = site.goto(f"/preferences/{token}/erase/")
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
