"""Every public page: renders on the base template with one h1, labelled inputs, unique ids,
landmarks, a Content-Security-Policy header, and no inline style or script (the CSP forbids them)."""

import pytest

from consent.tokens import DATA_ACCESS, personal_link_tokens
from tests.public_support import audit_page, open_data_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(make_contact):
    return make_contact(email="page.check@example.org", purposes=("bulletin",))


def page_urls(person):
    prefs = personal_link_tokens.make_token(person, "preferences")
    confirm = personal_link_tokens.make_token(person, "confirm")
    unsubscribe = personal_link_tokens.make_token(person, "unsubscribe")
    data_link = personal_link_tokens.make_token(person, DATA_ACCESS)
    return {
        "home": ("/", 200),
        "sign up": ("/sign-up/", 200),
        "sign up sent": ("/sign-up/check-your-email/", 200),
        "confirm": (f"/confirm/{confirm}/", 200),
        "preferences request": ("/preferences/", 200),
        "preferences sent": ("/preferences/check-your-email/", 200),
        "preference centre": (f"/preferences/{prefs}/", 200),
        "withdraw": (f"/preferences/{prefs}/withdraw/", 200),
        "data request": ("/your-data/", 200),
        "data request sent": ("/your-data/check-your-email/", 200),
        "data link": (f"/your-data/open/{data_link}/", 200),
        "data session ended": ("/your-data/view/", 403),
        "data home": ("/your-data/view/", 200),
        "details": ("/your-data/view/details/", 200),
        "about you": ("/your-data/view/about-you/", 200),
        "erase": ("/your-data/view/delete/", 200),
        "unsubscribe": (f"/unsubscribe/{unsubscribe}", 200),
        "privacy": ("/privacy/", 200),
        "accessibility": ("/accessibility/", 200),
        "invalid link": ("/preferences/nonsense/", 404),
    }


PAGES = ["home", "sign up", "sign up sent", "confirm", "preferences request", "preferences sent",
         "preference centre", "withdraw", "data request", "data request sent", "data link", "data session ended",
         "data home", "details", "about you", "erase", "unsubscribe", "privacy", "accessibility", "invalid link"]
# Pages read from the session that a data-access link opened (consent.data_access), not from a token.
DATA_SESSION_PAGES = {"data home", "details", "about you", "erase"}


def assert_well_formed(response):
    assert "Content-Security-Policy" in response
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    page = audit_page(response.content.decode())
    assert page.h1_count == 1
    assert {"main", "header", "footer"} <= page.landmarks
    assert len(page.ids) == len(set(page.ids)), "duplicate ids"
    unlabelled = [i for i in page.inputs if i.get("id") not in page.label_for]
    assert not unlabelled, unlabelled
    assert page.inline_styles == 0 and page.inline_scripts == 0
    return page


@pytest.mark.parametrize("name", PAGES)
def test_public_page_is_well_formed(client, person, name):
    url, status = page_urls(person)[name]
    if name in DATA_SESSION_PAGES:
        open_data_session(client, person)
    response = client.get(url)
    assert response.status_code == status
    assert_well_formed(response)


@pytest.mark.parametrize(("url", "data"), [
    ("/sign-up/", {}),
    ("/preferences/", {"email": "bad"}),
    ("/your-data/", {"email": "bad"}),
])
def test_pages_with_errors_are_well_formed(client, url, data):
    response = client.post(url, data)
    assert b"nhsuk-error-summary" in response.content
    assert_well_formed(response)


def test_preference_centre_details_and_about_you_with_errors_are_well_formed(client, person):
    token = personal_link_tokens.make_token(person, "preferences")
    response = client.post(f"/preferences/{token}/", {"needs": ["other_language"]})
    assert b"Enter the language you need" in response.content
    assert_well_formed(response)
    open_data_session(client, person)
    response = client.post("/your-data/view/details/", {"name": "", "postcode": "XYZ"})
    assert b"Enter your name" in response.content and b"Enter a real postcode" in response.content
    assert_well_formed(response)
    response = client.post("/your-data/view/about-you/", {"religion": "jewish"})
    assert b"To keep your answers" in response.content
    assert_well_formed(response)


def test_home_page_starts_sign_up_and_links_to_preferences(client):
    html = client.get("/").content.decode()
    assert 'class="nhsuk-button" data-module="nhsuk-button" href="/sign-up/" role="button"' in html
    assert 'href="/preferences/"' in html and 'href="/privacy/"' in html


def test_privacy_notice_covers_purposes_retention_rights_and_suppression(client):
    html = client.get("/privacy/").content.decode()
    for text in ("E-bulletin", "Explicit consent", "after 30 days", "2 years", "Your rights",
                 "Information Commissioner", "suppression record"):
        assert text in html, text


def test_checkbox_groups_are_fieldsets_with_legends(client):
    html = client.get("/sign-up/").content.decode()
    assert html.count('<fieldset class="nhsuk-fieldset"') == 2
    assert html.count('<legend class="nhsuk-fieldset__legend') == 2
