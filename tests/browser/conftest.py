"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server, with axe.

Why the set-up looks like this:
- One browser for the whole session (starting Chromium costs about a second); one fresh context
  (cookies, JavaScript on or off) per test.
- The live server needs committed rows, so every browser test is transactional and ends with a
  flush; tests/conftest.py restores the reference data (purposes, statements, topics, localities,
  staff groups) after each flush.
- While Playwright's event loop exists, Django treats this thread as "async" and hands the test
  its own database connection (asgiref's Local). That is fine for transactional tests (everything
  is committed), and the browser fixture closes that connection before Playwright stops so
  PostgreSQL can drop the test database afterwards.
- Chromium is a Debian package installed by ``.ci/run``; without it the tests skip locally and fail
  on CI (``CI=true``), so a missing browser can never pass silently there.
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path(os.environ.get("MYNHS_CHROMIUM", "/usr/bin/chromium"))
# NHS.UK's CSS declares its Frutiger font there, and Chromium fetches declared fonts eagerly.
NHS_FONT_HOST_NAME = "assets.nhs.uk"
NHS_FONT_HOST = f"https://{NHS_FONT_HOST_NAME}/"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    # The font host fails at once instead of waiting on DNS (a lookup with no network could take
    # 5 s per page). A CSP refusal is still reported as such: Chromium checks the CSP first.
    f"--host-resolver-rules=MAP {NHS_FONT_HOST_NAME} ~NOTFOUND",
]
# WCAG 2.0, 2.1 and 2.2 at levels A and AA: the bar issue 3 sets for every page.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}


def pytest_collection_modifyitems(items):
    # Browser tests need the live server, hence transactional tests; keep them marked so
    # `-m "not browser"` (the fast suites) and `-m browser` (.ci/run's browser step) both work.
    for item in items:
        if "tests/browser/" in item.nodeid and not item.get_closest_marker("browser"):
            raise pytest.UsageError(f"{item.nodeid} must be marked @pytest.mark.browser")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from django.db import connections
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
    yield chromium
    chromium.close()
    # Close the connections opened while Playwright's loop ran (see module docstring).
    connections.close_all()
    playwright.stop()


@dataclass
class Site:
    """One browser context on the live server, recording everything that went wrong on its pages."""

    context: object
    base_url: str
    javascript: bool = True
    replay_page: object = None
    problems: list = field(default_factory=list)

    def __post_init__(self):
        self.page = self.context.new_page()
        self.page.on("response", self._on_response)
        self.page.on("requestfailed", self._on_request_failed)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))

    # --- what counts as a problem ------------------------------------------------------------
    def _on_response(self, response):
        # Navigations are checked by goto()/submit(), which know the status they expect.
        if response.status >= 400 and not response.request.is_navigation_request():
            self.problems.append(f"{response.status} for {response.request.resource_type} {response.url}")

    def _on_request_failed(self, request):
        if request.url.startswith(NHS_FONT_HOST) and request.failure != "csp":
            return  # the test machine has no internet; the CSP allowing the host is still checked
        if request.is_navigation_request() and request.failure == "net::ERR_ABORTED":
            return  # a download (or a navigation replaced by the next): goto()/submit() check pages
        if request.failure == "net::ERR_ABORTED" and request.url.endswith("/favicon.svg"):
            return  # Chromium drops the icon fetch when the page navigates on; a missing icon would be a 404
        self.problems.append(f"request failed ({request.failure}): {request.resource_type} {request.url}")

    def _on_console(self, message):
        # "Failed to load resource" repeats what _on_response saw (or an expected 4xx page);
        # everything else at error level (CSP refusals above all) is a problem.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error: {message.text}")

    # --- driving ----------------------------------------------------------------------------
    def url(self, path):
        return self.base_url + path

    def goto(self, path, *, status=200):
        response = self.page.goto(self.url(path))
        assert response is not None and response.status == status, (
            f"GET {path}: expected {status}, got {response and response.status}"
        )
        return self.page

    def submit(self, button, *, status=200):
        """Click a submit button and wait for the page it leads to (no JavaScript involved)."""
        with self.page.expect_navigation() as navigation:
            button.click()
        response = navigation.value
        assert response is not None and response.status == status, (
            f"submit on {self.page.url}: expected {status}, got {response and response.status}"
        )
        return self.page

    def path(self):
        return urlsplit(self.page.url).path

    # --- checking ---------------------------------------------------------------------------
    def assert_all_accessible(self, paths):
        """``assert_accessible`` on every page, each a path or (path, expected status); all failures
        reported together, so one broken page does not hide the others."""
        failures = []
        for entry in paths:
            path, status = entry if isinstance(entry, tuple) else (entry, 200)
            try:
                self.goto(path, status=status)
                self.assert_accessible()
            except AssertionError as error:
                failures.append(f"{path}: {error}")
            self.problems.clear()
        assert not failures, "\n\n".join(failures)

    def assert_accessible(self):
        """No failed assets, CSP refusals or script errors so far, one h1 in one main, the NHS.UK CSS
        applied, no axe violations on this page as this browser sees it, and (with JavaScript) no
        sideways scrolling at 320 px."""
        assert not self.problems, f"{self.path()}:\n" + "\n".join(self.problems)
        page = self.page
        assert page.locator("h1").count() == 1, f"{self.path()} should have exactly one h1"
        assert page.locator("main#maincontent").count() == 1, f"{self.path()} should have one main#maincontent"
        assert page.title().strip(), f"{self.path()} has no title"
        if self.javascript:
            self._axe_and_styles(page)
            assert_reflows(page)
        else:
            self._with_replay(self._axe_and_styles)

    def _axe_and_styles(self, page):
        from axe_playwright_python.sync_playwright import Axe

        # The design system really applied: NHS.UK's stylesheet gives the header its blue.
        header = page.locator("header.nhsuk-header")
        if header.count():
            colour = header.evaluate("element => getComputedStyle(element).backgroundColor")
            assert colour == "rgb(0, 94, 184)", f"NHS.UK CSS not applied on {self.path()} (header {colour})"
        results = Axe().run(page, options=AXE_OPTIONS)
        violations = results.response["violations"]
        assert not violations, f"axe on {self.path()}:\n" + describe_violations(violations)

    def _with_replay(self, check):
        """Run ``check`` on a copy of this JavaScript-free page.

        axe is JavaScript: with scripting disabled Playwright cannot run it (evaluate waits for
        ever, and axe's own timers never fire). So the DOM this browser received is shown again, at
        the same base address and with the same stylesheets, in a scripting-enabled page, minus the
        page's own <script> elements (all external: the CSP allows no inline script).
        """
        html = SCRIPT_ELEMENT.sub("", self.page.content())
        html = html.replace("<head>", f'<head><base href="{self.page.url}">', 1)
        self.replay_page.set_content(html)
        check(self.replay_page)


def assert_reflows(page, width=320):
    """WCAG 1.4.10: at 320 CSS px the page does not scroll sideways (a wide table scrolls in its own box)."""
    viewport = page.viewport_size
    page.set_viewport_size({"width": width, "height": viewport["height"]})
    try:
        page.evaluate(AFTER_RELAYOUT)
        scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert scroll_width <= inner_width, (
            f"at {width}px the page is {scroll_width}px wide; too wide: {', '.join(page.evaluate(TOO_WIDE))}")
    finally:
        page.set_viewport_size(viewport)


# NHS.UK's header script re-lays its menu in the animation frame after a resize: wait for it.
AFTER_RELAYOUT = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
# Elements sticking out past the window's right edge that no scrolling box of their own contains.
TOO_WIDE = """() => {
  const inScrollBox = element => {
    for (let box = element.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible") return true;
    }
    return false;
  };
  return [...document.body.querySelectorAll("*")]
    .filter(element => element.getBoundingClientRect().right > window.innerWidth + 0.5 && !inScrollBox(element))
    .slice(0, 3).map(element => element.outerHTML.slice(0, 120));
}"""


SCRIPT_ELEMENT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL | re.IGNORECASE)


def describe_violations(violations):
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} {violation['helpUrl']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node.get('failureSummary', '')!s}"
                         .replace("\n", " "))
            lines.append(f"      {node.get('html', '')[:200]}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def _replay_page(browser):
    """A scripting-enabled page kept for the session, where JavaScript-free pages are re-shown for axe."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


@pytest.fixture
def open_site(browser, live_server, _replay_page):
    """Factory: ``open_site()`` (JavaScript on) or ``open_site(javascript=False)``; closed after the test."""
    contexts = []

    def make(*, javascript=True):
        context = browser.new_context(java_script_enabled=javascript)
        # Fail in seconds, not Playwright's default 30 s, when a page never shows what a test waits for.
        context.set_default_timeout(10_000)
        contexts.append(context)
        return Site(context=context, base_url=live_server.url, javascript=javascript, replay_page=_replay_page)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def site(open_site):
    return open_site()


def sign_in_staff(site, user):
    """Give the browser a session that is signed in and second-factor verified for ``user``."""
    from django.conf import settings
    from django.test import Client

    from tests.conftest import verify_client_session

    client = Client()
    client.force_login(user)
    verify_client_session(client, user)
    site.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": site.base_url,
    }])
