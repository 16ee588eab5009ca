"""Every staff page passes axe (WCAG 2.2 A and AA rules) in headless Chromium, loads its assets
without a 404 or a CSP refusal, and has one h1 inside one main landmark, as the public pages do.

Two layers:
- ``test_every_staff_page`` walks every staff URL from the URL resolver (the same walk as
  tests/test_role_matrix.py), signed in with every role, so a page added later is checked without
  anyone remembering to list it. Only POST-only actions and downloads are left out, each named in
  ``NOT_PAGES`` with its reason, and the walk checks that they really are (405 to a GET, or an
  attachment). The sign-in pages, which a signed-in session skips, have their own tests.
- The other tests sign in with the role that uses each page and show the states a plain GET does
  not: sign-in and the second factor for real, the TOTP enrolment QR code, search results, forms
  with errors, a consent timeline, a merge preview.

The staff header navigation must also fit the window: at 1100 px and 320 px nothing may make the
page scroll sideways, and every menu link must stay reachable.
"""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent import cases, services, statements
from consent.models import ConsentStatement, Purpose
from crm.audit import Actor
from crm.models import Contact
from crm.roles import ADMINISTRATOR, ALL_ROLES, COMMUNICATIONS, DATA_PROTECTION, ENGAGEMENT
from crm.staff import services as staff_services
from tests.browser.conftest import AFTER_RELAYOUT, sign_in_staff
from tests.conftest import STAFF_PASSWORD, verify_client_session
from tests.test_role_matrix import SIGN_IN_ROUTES, real_kwargs, staff_routes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BACKUP_CODE = "24681357"

# Staff URLs that are not pages a browser shows, each with the reason. The walk proves each claim.
POST_ONLY = "POST-only action (a button on another page); a GET answers 405"
DOWNLOAD = "a file download (Content-Disposition: attachment), not a page"
NOT_PAGES = {
    "staff:logout": POST_ONLY,
    "staff:account_roles": POST_ONLY,
    "staff:account_deactivate": POST_ONLY,
    "staff:account_reactivate": POST_ONLY,
    "staff:account_reset_2fa": POST_ONLY,
    "staff:account_reset_password": POST_ONLY,
    "staff:account_token_revoke": POST_ONLY,
    "staff:account_role_request_approve": POST_ONLY,
    "staff:account_role_request_decline": POST_ONLY,
    "staff:token_revoke": POST_ONLY,
    "consent_staff:sar_export_json": DOWNLOAD,
}
# Staff URLs a signed-in session is sent on from (the way in), checked by their own tests instead.
SIGN_IN_PAGES = {
    "staff:login": "test_sign_in_and_second_factor_pages",
    "staff:verify": "test_sign_in_and_second_factor_pages",
    "staff:setup_2fa": "test_totp_enrolment_page_has_a_qr_code_with_a_text_alternative",
}
# A querystring some pages need to show themselves rather than redirect (filled in from ``world``).
QUERY = {
    "consent_staff:contact_merge_preview": lambda world: f"?duplicate={world['duplicate'].public_id}",
}


# --- data ---------------------------------------------------------------------------------------
@pytest.fixture
def world(make_contact, staff_user, actor, topics):
    """One of each thing a staff page can show, in the state where every page shows itself.

    The keys named in tests/test_role_matrix.py ``real_kwargs`` (contact, purpose, statement,
    account, token, sar, erasure) are what the URL keyword arguments point at.
    """
    contact = make_contact(email="sam.example@example.org", name="Sam Example", postcode="L20 3NJ",
                           purposes=("bulletin", "events"), topics=topics)
    services.withdraw(contact=contact, purpose="events", method="phone", actor=actor,
                      evidence_reference="phone log")  # the timeline shows a grant and a withdrawal
    services.save_about_you(contact=contact, answers={"age_band": "30-39"},  # the person's own choice
                            wanted_purposes={"equality_monitoring"}, actor=Actor.public("127.0.0.1"))
    duplicate = make_contact(email="sam.other@example.org", name="Sam Example", purposes=("involvement",))
    lapsed = _lapsed_contact(make_contact, actor)

    bulletin = Purpose.objects.get(code="bulletin")
    draft = statements.draft_statement(purpose=bulletin, text="A clearer wording for the e-bulletin.", actor=actor)
    account = staff_user(ENGAGEMENT, username="target.account")
    token, _raw = staff_services.create_api_token(user=account, name="Reporting", actor=actor)
    # A change to Data protection waiting for a second Administrator: the account page shows it.
    role_request = staff_services.set_staff_roles(
        user=account, roles=[ENGAGEMENT, DATA_PROTECTION],
        actor=Actor.staff(staff_user(ADMINISTRATOR, username="first.admin"))).requested[0]
    sar = cases.open_subject_access(received_on=date.today() - timedelta(days=3), contact=contact,
                                    requester_description="letter", identity_checked_on=date.today(), actor=actor)
    erasure = cases.open_erasure(received_on=date.today(), contact=duplicate, actor=actor)
    return {
        "contact": contact, "duplicate": duplicate, "lapsed": lapsed,
        # No draft for events: the "new version" page shows its form instead of going to the draft.
        "purpose": Purpose.objects.get(code="events"), "statement": draft,
        "account": account, "token": token, "sar": sar, "erasure": erasure, "role request": role_request,
    }


def _lapsed_contact(make_contact, actor):
    """Someone whose consent lapsed three years ago: on the retention review list."""
    three_years = timezone.now() - timedelta(days=3 * 365)
    lapsed = make_contact(email="lapsed@example.org", name="Lee Lapsed", occurred_at=three_years)
    services.record_consent(contact=lapsed, purpose="bulletin", action="withdrawn", method="phone",
                            occurred_at=three_years + timedelta(days=1), actor=actor)
    Contact.objects.filter(pk=lapsed.pk).update(created_at=three_years)
    return lapsed


@pytest.fixture
def signed_in(open_site, staff_user):
    """Factory: a browser (JavaScript on unless told) signed in, second factor verified, with ``roles``."""
    def make(*roles, javascript=True):
        site = open_site(javascript=javascript)
        site.user = staff_user(*roles)
        sign_in_staff(site, site.user)
        return site

    return make


def assert_error_summary(page, *, linked=True):
    """The NHS.UK error pattern: a summary whose links reach their fields, each field's own message."""
    summary = page.locator(".nhsuk-error-summary")
    assert summary.is_visible()
    links = summary.locator("a")
    if linked:
        assert links.count() >= 1, "the error summary links to no field"
        assert page.locator(".nhsuk-error-message").count() >= 1
    for index in range(links.count()):
        target = links.nth(index).get_attribute("href")
        assert target.startswith("#") and page.locator(target).count() == 1, f"error link {target} has no field"
    assert page.title().startswith("Error: ")


def submit_main_form(site, *, status=200):
    return site.submit(site.page.locator("main form button[type=submit]").first, status=status)


# --- every staff page, from the URL resolver ----------------------------------------------------
# Bulletin and segment/event pages need objects of their own apps; their browser tests
# (test_bulletin_pages, test_bulletin_progress, test_segment_pages) walk every one of them with axe.
WALKED_ELSEWHERE = {"bulletins", "segments"}

def test_every_staff_page(signed_in, world):
    """Each GET-able staff URL, signed in with every role, shows itself (no redirect) and passes."""
    site = signed_in(*ALL_ROLES)
    routes = staff_routes()
    assert {"staff", "consent_staff"} <= {route.name.split(":")[0] for route in routes}
    assert set(NOT_PAGES) <= {route.name for route in routes}, "NOT_PAGES names a URL that no longer exists"
    assert set(SIGN_IN_PAGES) == SIGN_IN_ROUTES - set(NOT_PAGES), "a sign-in page needs its own test here"
    assert all(name in globals() for name in SIGN_IN_PAGES.values())
    client = Client()
    client.force_login(site.user)
    verify_client_session(client, site.user)
    failures = []
    for route in routes:
        if route.name in SIGN_IN_PAGES or route.name.split(":")[0] in WALKED_ELSEWHERE:
            continue
        path = reverse(route.name, kwargs=real_kwargs(route.name, route.converters, world))
        if route.name in NOT_PAGES:
            failures += check_not_a_page(client, route.name, path)
            continue
        path += QUERY.get(route.name, lambda _world: "")(world)
        try:
            site.goto(path)
            assert site.page.url == site.url(path), f"{path} redirected to {site.page.url}"
            site.assert_accessible()
        except AssertionError as error:
            failures.append(f"{route}: {error}")
        site.problems.clear()  # one page's problems are reported once, against that page
    assert not failures, "\n\n".join(failures)


def check_not_a_page(client, name, path):
    response = client.get(path)
    if NOT_PAGES[name] == POST_ONLY and response.status_code != 405:
        return [f"{name}: listed as POST-only but GET {path} answered {response.status_code}"]
    if NOT_PAGES[name] == DOWNLOAD and not (
            response.status_code == 200 and response.get("Content-Disposition", "").startswith("attachment")):
        return [f"{name}: listed as a download but GET {path} answered {response.status_code} "
                f"{response.get('Content-Disposition')!r}"]
    return []


# --- signing in ---------------------------------------------------------------------------------
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_sign_in_and_second_factor_pages(open_site, staff_user, javascript):
    """The real journey: sign-in page, a wrong password, the security-code page, a wrong code, in."""
    user = staff_user(ENGAGEMENT, username="pat.staff", with_device=True, backup_codes=(BACKUP_CODE,))
    site = open_site(javascript=javascript)
    page = site.goto(reverse("staff:login"))
    assert page.locator("nav.nhsuk-header__navigation").count() == 0  # no staff menu before signing in
    site.assert_accessible()

    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill("not the password")
    submit_main_form(site)
    assert_error_summary(page, linked=False)  # "Enter a correct username and password" names no one field
    site.assert_accessible()

    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(STAFF_PASSWORD)
    submit_main_form(site)
    assert site.path() == reverse("staff:verify")
    site.assert_accessible()

    page.locator("#id_code").fill("00000000")
    submit_main_form(site)
    assert_error_summary(page)
    site.assert_accessible()

    page.wait_for_timeout(1_100)  # django-otp refuses any code for 1 s after a wrong one (throttle factor 1)
    page.locator("#id_code").fill(BACKUP_CODE)
    submit_main_form(site)
    assert site.path() == reverse("consent_staff:dashboard")
    assert page.get_by_role("navigation", name="Staff menu").count() == 1
    site.assert_accessible()

    site.submit(page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out"))
    assert site.path() == reverse("staff:login")
    assert page.get_by_text("You have signed out.").is_visible()
    site.assert_accessible()


def test_totp_enrolment_page_has_a_qr_code_with_a_text_alternative(open_site, staff_user):
    user = staff_user(ADMINISTRATOR, username="new.starter")  # no device yet: sign-in leads to enrolment
    site = open_site()
    page = site.goto(reverse("staff:login"))
    page.locator("#id_username").fill(user.username)
    page.locator("#id_password").fill(STAFF_PASSWORD)
    submit_main_form(site)
    assert site.path() == reverse("staff:setup_2fa")

    qr = page.get_by_role("img", name="QR code to add My NHS to an authenticator app")
    assert qr.count() == 1 and qr.is_visible()
    box = qr.bounding_box()
    assert box["width"] >= 150 and box["width"] == box["height"], f"QR code drawn at {box}"
    # The key the QR code holds is also given as text, for anyone who cannot scan it.
    assert len(page.locator("#setup-key").inner_text().replace(" ", "")) >= 16
    site.assert_accessible()

    page.locator("#id_code").fill("000000")
    submit_main_form(site)
    assert site.path() == reverse("staff:setup_2fa")
    assert_error_summary(page)
    assert page.get_by_role("img", name="QR code to add My NHS to an authenticator app").count() == 1
    site.assert_accessible()


# --- Communications and Engagement ----------------------------------------------------------------
def test_dashboard_for_communications(signed_in, world):
    site = signed_in(COMMUNICATIONS)
    page = site.goto(reverse("consent_staff:dashboard"))
    menu = page.get_by_role("navigation", name="Staff menu")
    assert menu.get_by_role("link", name="Contacts").count() == 0  # the menu follows the role
    site.assert_accessible()


def test_contact_search_with_results_and_with_an_error(signed_in, world):
    site = signed_in(ENGAGEMENT)
    page = site.goto(reverse("consent_staff:contacts") + "?name=Sam&name_match=prefix")
    results = page.get_by_role("region", name="Matching contacts, newest first")
    assert results.locator("tbody tr").count() == 2  # the contact and its duplicate record
    assert "sam.example@example.org" in results.inner_text()
    site.assert_accessible()

    page.locator("#id_purpose_state").select_option("granted")  # a state without its purpose
    submit_main_form(site)
    assert_error_summary(page)
    assert page.locator("main table").count() == 0
    site.assert_accessible()


def test_contact_page_with_consent_timeline(signed_in, world):
    site = signed_in(ENGAGEMENT)
    page = site.goto(reverse("consent_staff:contact", args=[world["contact"].public_id]))
    timeline = page.get_by_role("region", name="Consent history, newest first")
    assert timeline.locator("tbody tr").count() >= 3  # two grants and a withdrawal
    assert "withdrawn" in timeline.inner_text().lower()
    site.assert_accessible()


def test_record_consent_with_errors(signed_in, world):
    site = signed_in(ENGAGEMENT)
    page = site.goto(reverse("consent_staff:contact_consent", args=[world["contact"].public_id]))
    site.assert_accessible()
    submit_main_form(site)
    assert_error_summary(page)
    assert page.locator(".nhsuk-error-summary a").count() >= 4  # statement, action, method, date, evidence
    site.assert_accessible()


def test_merge_preview(signed_in, world):
    site = signed_in(ENGAGEMENT)
    page = site.goto(reverse("consent_staff:contact_merge", args=[world["contact"].public_id]))
    page.locator("#id_contact").fill(world["contact"].email)  # this very record: refused
    submit_main_form(site)
    assert_error_summary(page)
    site.assert_accessible()

    page.locator("#id_contact").fill(world["duplicate"].email)
    submit_main_form(site)
    assert site.path() == reverse("consent_staff:contact_merge_preview", args=[world["contact"].public_id])
    assert world["duplicate"].email in page.locator("main").inner_text()
    site.assert_accessible()
    submit_main_form(site)  # without ticking "same person"
    assert_error_summary(page)
    site.assert_accessible()


# --- Data protection ------------------------------------------------------------------------------
def test_consent_statement_pages(signed_in, world):
    site = signed_in(DATA_PROTECTION)
    page = site.goto(reverse("consent_staff:statements"))
    site.assert_accessible()

    page = site.goto(reverse("consent_staff:statement_new", args=["involvement"]))
    page.locator("#id_text").fill("")
    submit_main_form(site)
    assert_error_summary(page)
    site.assert_accessible()
    page.locator("#id_text").fill("We would like to invite you to take part in surveys and panels.")
    submit_main_form(site)
    draft = ConsentStatement.objects.get(purpose__code="involvement", published_at__isnull=True)
    assert site.path() == reverse("consent_staff:statement", args=[draft.pk])
    site.assert_accessible()


def test_subject_access_pages(signed_in, world):
    site = signed_in(DATA_PROTECTION)
    page = site.goto(reverse("consent_staff:sar_list"))
    assert world["sar"].reference in page.locator("main").inner_text()
    site.assert_accessible()

    page = site.goto(reverse("consent_staff:sar_new"))
    page.locator("#id_contact").fill("nobody@example.org")
    page.locator("#id_received_on_0").fill("31")
    page.locator("#id_received_on_1").fill("2")
    page.locator("#id_received_on_2").fill("2026")
    submit_main_form(site)
    assert_error_summary(page)
    assert page.locator(".nhsuk-error-summary a").count() == 2  # not a real date; no such contact
    site.assert_accessible()

    page = site.goto(reverse("consent_staff:sar", args=[world["sar"].pk]))
    site.assert_accessible()


def test_erasure_list_and_retention_review(signed_in, world):
    site = signed_in(DATA_PROTECTION)
    page = site.goto(reverse("consent_staff:erasure_list"))
    assert world["erasure"].reference in page.locator("main").inner_text()
    site.assert_accessible()
    page = site.goto(reverse("consent_staff:retention"))
    assert page.get_by_role("link", name=world["lapsed"].name).count() == 1
    site.assert_accessible()


def test_audit_log_and_verify_pages(signed_in, world):
    site = signed_in(DATA_PROTECTION)
    page = site.goto(reverse("staff:audit") + "?action=consent.")
    assert page.locator("main table tbody tr").count() >= 3
    site.assert_accessible()
    page = site.goto(reverse("staff:audit_verify"))
    site.assert_accessible()


# --- Administrator --------------------------------------------------------------------------------
def test_staff_accounts_and_api_tokens_pages(signed_in, world):
    site = signed_in(ADMINISTRATOR)
    page = site.goto(reverse("staff:accounts"))
    assert page.get_by_role("link", name=world["account"].username).count() == 1
    site.assert_accessible()
    site.goto(reverse("staff:account", args=[world["account"].pk]))
    site.assert_accessible()

    page = site.goto(reverse("staff:tokens"))
    site.assert_accessible()
    page.locator("#id_name").fill("Nightly report")
    submit_main_form(site)
    assert page.locator("h1").inner_text() == "API token created"
    assert page.get_by_label('Token "Nightly report"').input_value().startswith("mynhs_")  # shown once
    site.assert_accessible()


# --- the header menu fits the window ----------------------------------------------------------------
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("width", [1100, 320])
def test_staff_menu_fits_the_window(signed_in, world, width, javascript):
    """With every role (the longest menu), the page never scrolls sideways and each menu link can be reached:
    on screen, or (with JavaScript) behind the NHS.UK header's "More" button."""
    site = signed_in(*ALL_ROLES, javascript=javascript)
    site.page.set_viewport_size({"width": width, "height": 800})
    page = site.goto(reverse("consent_staff:dashboard"))
    if javascript:
        page.evaluate(AFTER_RELAYOUT)
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width, f"page is {scroll_width}px wide in a {inner_width}px window"

    menu = page.get_by_role("navigation", name="Staff menu")
    names = ["Dashboard", "Contacts", "Consent wording", "Subject access", "Erasure", "Audit log",
             "Staff accounts", "API tokens"]
    more = menu.get_by_role("button", name="Browse More")
    if javascript and width == 320:
        assert more.is_visible(), "NHS.UK's header script did not gather the links that do not fit under More"
    if javascript and more.is_visible():  # at 1100 px too, once bulletins and segments joined the menu
        more.click()
    for name in names:
        link = menu.get_by_role("link", name=name, exact=True)
        assert link.count() == 1, f"menu link {name!r} missing"
        assert_on_screen(link, inner_width)
    assert_on_screen(page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out"),
                     inner_width)
    site.assert_accessible()


def assert_on_screen(element, window_width):
    assert element.is_visible(), f"{element} is hidden"
    box = element.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= window_width, f"{element} is outside the window: {box}"


# --- What a new user noticed ----------------------------------------------------------------------
TABLES_THAT_OVERFLOW = """() => [...document.querySelectorAll("main table")].map(table => {
  const box = table.closest(".nhsuk-scroll__content, .mynhs-table-scroll") || table.parentElement;
  return {caption: (table.caption && table.caption.textContent.trim()) || table.id,
          over: box.scrollWidth - box.clientWidth,
          lastColumnRight: Math.max(...[...table.rows].map(row => row.cells[row.cells.length - 1].getBoundingClientRect().right)),
          boxRight: box.getBoundingClientRect().right};
}).filter(found => found.over > 0 || found.lastColumnRight > found.boxRight + 0.5)"""


def test_dashboard_draws_charts_and_keeps_the_table(signed_in, world):
    site = signed_in(COMMUNICATIONS)
    page = site.goto(reverse("consent_staff:dashboard"))
    for name in ("Line chart of the contacts held", "Bar chart of new contacts"):
        chart = page.locator(f'canvas[role="img"][aria-label^="{name}"]')
        assert chart.count() == 1
        assert chart.is_visible()
        drawn = chart.evaluate("canvas => window.Chart.getChart(canvas) !== undefined && canvas.width > 0")
        assert drawn, f"{name}: Chart.js did not draw"
    table = page.get_by_role("table", name="Month by month")
    assert table.locator("tbody tr").count() == 12  # the figures stay in a table, for screen readers
    site.assert_accessible()  # axe, no CSP refusal (the charts' script is a static file), reflow at 320 px


def test_dashboard_without_javascript_shows_the_table_and_no_empty_charts(signed_in, world):
    site = signed_in(COMMUNICATIONS, javascript=False)
    page = site.goto(reverse("consent_staff:dashboard"))
    assert page.locator("figure.mynhs-chart-figure").first.is_hidden()
    assert page.get_by_role("table", name="Month by month").locator("tbody tr").count() == 12
    site.assert_accessible()


@pytest.mark.parametrize(("role", "route"), [
    (COMMUNICATIONS, "consent_staff:dashboard"),
    (ENGAGEMENT, "consent_staff:contacts"),
    (DATA_PROTECTION, "consent_staff:retention"),
    (DATA_PROTECTION, "staff:audit"),
    (ADMINISTRATOR, "staff:accounts"),
    (DATA_PROTECTION, "staff:tokens"),
])
def test_staff_tables_fit_their_box_at_1280px(signed_in, world, role, route):
    site = signed_in(role)
    site.page.set_viewport_size({"width": 1280, "height": 900})
    page = site.goto(reverse(route))
    assert page.locator("main table").count() >= 1
    assert page.evaluate(TABLES_THAT_OVERFLOW) == []


def test_the_readable_subject_access_export_prints_without_the_staff_header(signed_in, world):
    site = signed_in(DATA_PROTECTION)
    page = site.goto(reverse("consent_staff:sar_export_html", args=[world["sar"].pk]))
    assert page.locator("header.nhsuk-header").is_visible()
    site.assert_accessible()
    page.emulate_media(media="print")
    try:
        for hidden in ("header.nhsuk-header", "footer.nhsuk-footer", ".nhsuk-back-link", ".nhsuk-skip-link"):
            if page.locator(hidden).count():
                assert page.locator(hidden).first.is_hidden(), f"{hidden} is printed"
        assert page.locator("main h1").is_visible()
        assert page.evaluate(TABLES_THAT_OVERFLOW) == []
    finally:
        page.emulate_media(media="screen")


@pytest.mark.parametrize("javascript", [True, False])
def test_error_pages_are_styled_and_accessible(open_site, staff_user, world, javascript):
    site = open_site(javascript=javascript)
    page = site.goto("/no-such-page/", status=404)
    assert page.locator("h1").inner_text() == "Page not found"
    site.problems.clear()  # the 404 itself is what this test asked for
    site.assert_accessible()

    sign_in_staff(site, staff_user(COMMUNICATIONS))
    page = site.goto(reverse("consent_staff:sar_list"), status=403)
    assert page.locator("h1").inner_text() == "You cannot open this page"
    assert page.get_by_role("navigation", name="Staff menu").count() == 1
    site.problems.clear()
    site.assert_accessible()
