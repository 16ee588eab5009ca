"""Personal links that are safe to forward (issue 7).

- A link in an email (preferences, unsubscribe) may change choices and unsubscribe, nothing more:
  it shows no name, address or postcode, and cannot download, see or change "about you", or erase.
- Those need a fresh data-access link, sent on request to the address, valid for one hour and
  usable once (a POST uses it; GET and HEAD do not), which opens a 30-minute session for that
  contact only.
- A per-contact link epoch signs every link: "sign me out of all links", an address change and
  erasure kill every earlier link for good (changing the address back revives nothing).
- A GET on a used confirmation link mints no new link.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from consent import addresses, services
from consent.models import ConsentState
from consent.tokens import DATA_ACCESS, personal_link_tokens
from crm.models import AuditEntry, Contact, EqualityProfile
from crm.personal_links import invalidate_personal_links
from tests.public_support import last_link, open_data_session, sign_up_data

pytestmark = pytest.mark.django_db

DATA_PAGES = ["/your-data/view/", "/your-data/view/download/", "/your-data/view/details/",
              "/your-data/view/about-you/", "/your-data/view/delete/"]
OLD_DATA_ROUTES = ["about-you/", "download/", "erase/"]  # once reachable from a preferences link


@pytest.fixture
def person(make_contact, public_actor):
    contact = make_contact(email="Rowan.Tree@example.org", name="Rowan Quillfeather", postcode="L20 3NJ",
                           purposes=("bulletin", "events"))
    services.save_about_you(contact=contact, answers={"religion": "buddhist"},
                            wanted_purposes={"equality_monitoring"}, actor=public_actor)
    return contact


def token(contact, purpose):
    contact.refresh_from_db()
    return personal_link_tokens.make_token(contact, purpose)


def data_link_paths():
    return [path for m in mail.outbox for path in re.findall(r"https?://\S+?(/your-data/open/[^\s/]+/)", m.body)]


def statuses(contact):
    return dict(ConsentState.objects.filter(contact=contact).values_list("purpose__code", "status"))


# --- a forwarded preferences link --------------------------------------------------------------

def test_a_forwarded_preferences_link_changes_choices_but_shows_no_personal_details(person):
    stranger = Client()  # whoever the email was forwarded to: no session, another browser
    path = f"/preferences/{token(person, 'preferences')}/"
    html = stranger.get(path).content.decode()
    for secret in ("Rowan", "Quillfeather", "rowan.tree", "L20 3NJ", "buddhist", "Buddhist"):
        assert secret not in html, secret
    assert "R•••@example.org" in html  # enough for the owner to recognise the address

    form = stranger.get(path).context["form"]
    response = stranger.post(path, {"wording": form.wording_current, "purposes": ["bulletin"],
                                    "topics": ["dementia"], "needs": ["large_print"]})
    assert response.status_code == 302
    person.refresh_from_db()
    assert statuses(person)["events"] == "withdrawn"
    assert list(person.topics.values_list("slug", flat=True)) == ["dementia"]
    assert list(person.communication_needs.values_list("need", flat=True)) == ["large_print"]
    assert (person.name, person.postcode) == ("Rowan Quillfeather", "L20 3NJ")  # not the link's to change


def test_a_forwarded_preferences_link_cannot_download_see_or_change_about_you_or_erase(person):
    stranger = Client()
    prefs = token(person, "preferences")
    for suffix in OLD_DATA_ROUTES:
        for response in (stranger.get(f"/preferences/{prefs}/{suffix}"), stranger.post(f"/preferences/{prefs}/{suffix}")):
            assert response.status_code == 404, suffix
            assert b"Rowan" not in response.content and b"buddhist" not in response.content
    for page in DATA_PAGES:
        for response in (stranger.get(page), stranger.post(page, {"name": "Changed", "religion": "jewish"})):
            assert response.status_code in {403, 405}, page
            assert b"Rowan" not in response.content and b"buddhist" not in response.content
    assert stranger.get("/your-data/view/").status_code == 403
    assert b"Ask for a new link" in stranger.get("/your-data/view/").content
    assert Contact.objects.filter(pk=person.pk).exists()
    assert EqualityProfile.objects.get(contact=person).religion == "buddhist"
    # A preferences token is not a data-access token either.
    assert stranger.post(f"/your-data/open/{prefs}/").status_code == 404
    assert stranger.get("/your-data/view/").status_code == 403


def test_the_data_link_asked_for_from_a_forwarded_page_goes_only_to_the_owner(person, django_capture_on_commit_callbacks):
    stranger = Client()
    prefs = token(person, "preferences")
    with django_capture_on_commit_callbacks(execute=True):
        response = stranger.post(f"/preferences/{prefs}/data-link/")
    assert response.status_code == 302 and response["Location"] == "/your-data/check-your-email/"
    assert [m.to for m in mail.outbox] == [["Rowan.Tree@example.org"]]
    assert mail.outbox[0].subject == "Your link to see or delete your My NHS data"
    assert "works once, for 1 hour" in mail.outbox[0].body
    assert stranger.get("/your-data/view/").status_code == 403  # asking opened nothing
    assert b"Rowan" not in stranger.get(response["Location"]).content


def test_a_forwarded_unsubscribe_link_unsubscribes_and_shows_nothing(person):
    stranger = Client(enforce_csrf_checks=True)
    path = f"/unsubscribe/{token(person, 'unsubscribe')}"
    page = stranger.get(path)
    assert b"Rowan" not in page.content and b"rowan.tree" not in page.content.lower()
    assert stranger.post(path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded").status_code == 200
    assert statuses(person)["bulletin"] == "withdrawn"


# --- the fresh data-access link -------------------------------------------------------------------

def test_data_link_by_address_is_sent_to_that_address_and_answers_the_same_for_anyone(
        client, person, django_capture_on_commit_callbacks):
    answers = []
    for email in ("ROWAN.TREE@example.org", "nobody@example.org"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/your-data/", {"email": email})
        answers.append((response.status_code, response["Location"], client.get(response["Location"]).content))
    assert answers[0] == answers[1]
    assert [m.to for m in mail.outbox] == [["Rowan.Tree@example.org"]]
    assert len(data_link_paths()) == 1


def test_data_link_get_and_head_change_nothing_then_post_opens_the_session_once(client, person):
    path = f"/your-data/open/{token(person, DATA_ACCESS)}/"
    before = (person.data_link_counter, AuditEntry.objects.count())
    for _ in range(3):  # link scanners fetch links, some with HEAD
        assert client.get(path).status_code == 200
        assert client.head(path).status_code == 200
    person.refresh_from_db()
    assert (person.data_link_counter, AuditEntry.objects.count()) == before
    assert client.get("/your-data/view/").status_code == 403

    opened = client.post(path)
    assert opened.status_code == 302 and opened["Location"] == "/your-data/view/"
    home = client.get("/your-data/view/").content.decode()
    assert "Rowan Quillfeather" in home and "Rowan.Tree@example.org" in home and "L20 3NJ" in home
    assert AuditEntry.objects.filter(action="contact.data_access_link_used", object_id=str(person.pk)).count() == 1

    # Used once: the same link, in this browser or another, opens nothing again.
    other = Client()
    again = other.post(path)
    assert again.status_code == 404 and b"This link is not valid" in again.content
    assert other.get(path).status_code == 404
    assert other.get("/your-data/view/").status_code == 403


def test_data_link_works_for_one_hour_only(client, person):
    with time_machine.travel(timezone.now() - timedelta(minutes=61)):
        stale = personal_link_tokens.make_token(person, DATA_ACCESS)
    assert client.post(f"/your-data/open/{stale}/").status_code == 404
    with time_machine.travel(timezone.now() - timedelta(minutes=59)):
        fresh = personal_link_tokens.make_token(person, DATA_ACCESS)
    assert client.post(f"/your-data/open/{fresh}/").status_code == 302


def test_using_one_data_link_kills_every_other_one_sent_before(client, person):
    first, second = token(person, DATA_ACCESS), token(person, DATA_ACCESS)
    assert client.post(f"/your-data/open/{second}/").status_code == 302
    assert Client().post(f"/your-data/open/{first}/").status_code == 404


def test_data_session_lasts_thirty_minutes_and_covers_only_that_contact(person, make_contact):
    other_person = make_contact(email="someone.else@example.org", name="Other Person")
    browser = Client()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        open_data_session(browser, person)
    with time_machine.travel(start + timedelta(minutes=29), tick=False):
        page = browser.get("/your-data/view/").content.decode()
        assert "Rowan Quillfeather" in page and "Other Person" not in page
        data = browser.get("/your-data/view/download/").json()
        assert data["contact"]["email"] == "Rowan.Tree@example.org"
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        for page in DATA_PAGES:
            assert browser.get(page).status_code == 403, page
    assert other_person.name == "Other Person"


def test_data_session_pages_change_details_about_you_and_erase(person):
    browser = Client()
    open_data_session(browser, person)
    assert browser.post("/your-data/view/details/", {"name": "Rowan Q", "postcode": "l23 5ab"}).status_code == 302
    person.refresh_from_db()
    assert (person.name, person.postcode, person.locality.name) == ("Rowan Q", "L23 5AB", "Crosby")
    html = browser.get("/your-data/view/about-you/").content.decode()
    assert 'value="buddhist" checked' in html
    assert browser.post("/your-data/view/delete/").status_code == 200
    assert not Contact.objects.filter(pk=person.pk).exists()
    assert browser.get("/your-data/view/").status_code == 403


def test_signing_out_of_the_data_pages_ends_the_session(person):
    browser = Client()
    open_data_session(browser, person)
    assert browser.post("/your-data/sign-out/").status_code == 200
    assert browser.get("/your-data/view/").status_code == 403


# --- the link epoch ---------------------------------------------------------------------------------

def every_link(contact) -> dict[str, str]:
    contact.refresh_from_db()
    return {
        "preferences": f"/preferences/{personal_link_tokens.make_token(contact, 'preferences')}/",
        "unsubscribe": f"/unsubscribe/{personal_link_tokens.make_token(contact, 'unsubscribe')}",
        "confirm": f"/confirm/{personal_link_tokens.make_token(contact, 'confirm')}/",
        "data access": f"/your-data/open/{personal_link_tokens.make_token(contact, DATA_ACCESS)}/",
    }


def assert_all_dead(links: dict[str, str]):
    browser = Client()
    for kind, path in links.items():
        assert browser.get(path).status_code == 404, kind


def test_sign_me_out_of_all_links_kills_every_earlier_link_and_the_data_session(person):
    links = every_link(person)
    browser = Client()
    open_data_session(browser, person)
    response = browser.post(f"{links['preferences']}sign-out-everywhere/")
    assert response.status_code == 200 and b"All your links have been cancelled" in response.content
    assert_all_dead(links)
    assert browser.get("/your-data/view/").status_code == 403
    entry = AuditEntry.objects.get(action="contact.personal_links_invalidated")
    assert entry.changes == {"reason": "person_signed_out"}
    # Nothing else changed, and links made from now on work.
    assert statuses(person)["bulletin"] == "granted"
    assert Client().get(every_link(person)["preferences"]).status_code == 200
    # A GET (a link scanner) on the button's address does nothing.
    fresh = every_link(person)
    assert Client().get(f"{fresh['preferences']}sign-out-everywhere/").status_code == 405
    assert Client().get(fresh["preferences"]).status_code == 200


def test_an_address_change_and_back_revives_no_old_link(person, actor):
    links = every_link(person)
    addresses.change_email_address(contact=person, email="rowan.new@example.org", actor=actor)
    assert_all_dead(links)
    addresses.change_email_address(contact=person, email="Rowan.Tree@example.org", actor=actor)
    person.refresh_from_db()
    assert person.email_normalised == "rowan.tree@example.org"
    assert_all_dead(links)


def test_each_invalidation_raises_the_epoch_and_kills_the_links_of_every_earlier_one(person, actor):
    at_zero = every_link(person)
    assert invalidate_personal_links(contact=person, actor=actor, reason="test") == 1
    at_one = every_link(person)
    assert invalidate_personal_links(contact=person, actor=actor, reason="test") == 2
    assert_all_dead(at_zero)
    assert_all_dead(at_one)
    assert Client().get(every_link(person)["preferences"]).status_code == 200


def test_erasure_kills_every_link_even_after_signing_up_again(client, person, django_capture_on_commit_callbacks):
    links = every_link(person)
    open_data_session(client, person)
    client.post("/your-data/view/delete/")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sign-up/", sign_up_data(email="Rowan.Tree@example.org"))
    assert Contact.objects.filter(email_normalised="rowan.tree@example.org").exists()
    assert_all_dead(links)


# --- confirmation links -----------------------------------------------------------------------------

def test_a_used_confirmation_link_mints_no_new_link(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sign-up/", sign_up_data(email="first.timer@example.org"))
    path = last_link("confirm")
    first = client.post(path).content.decode()
    assert "Sign-up confirmed" in first and "/preferences/" in first  # the one real confirmation leads on

    for browser in (client, Client()):
        for response in (browser.get(path), browser.head(path), browser.post(path)):
            html = response.content.decode()
            assert response.status_code == 200
            assert "/preferences/" not in html.replace('href="/preferences/"', "")  # only the public request page
            assert "/your-data/view/" not in html
    assert "Your sign-up is confirmed" in Client().get(path).content.decode()


def test_first_confirmation_opens_the_about_you_step_in_that_browser_only(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/sign-up/", sign_up_data(email="new.person@example.org"))
    path = last_link("confirm")
    assert client.get("/your-data/view/about-you/").status_code == 403
    client.post(path)
    assert client.get("/your-data/view/about-you/").status_code == 200
    assert Client().get("/your-data/view/about-you/").status_code == 403


def test_an_old_confirmation_link_confirms_but_opens_no_data_session(client, make_contact, public_actor,
                                                                     django_capture_on_commit_callbacks):
    pending = services.sign_up(email="slow.reader@example.org", name="Slow Reader", purposes=["bulletin"],
                               actor=public_actor).contact
    with time_machine.travel(timezone.now() - timedelta(minutes=61)):
        path = f"/confirm/{personal_link_tokens.make_token(pending, 'confirm')}/"
    html = client.post(path).content.decode()
    assert "Sign-up confirmed" in html and statuses(pending)["bulletin"] == "granted"
    assert "/your-data/view/about-you/" not in html
    assert client.get("/your-data/view/about-you/").status_code == 403
    # It offers the questions through a fresh link to the address instead.
    mail.outbox.clear()
    action = re.search(r'action="(/preferences/[^"]+/data-link/)"', html).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(action)
    assert [m.to for m in mail.outbox] == [["slow.reader@example.org"]] and data_link_paths()
