"""The API documentation page (Swagger UI from django-ninja's own static files) works under the strict CSP."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_under_csp(site):
    page = site.goto("/api/v1/docs")
    # Swagger UI builds the page with JavaScript from /api/v1/openapi.json: the title appears only
    # if its scripts loaded (no CDN, no inline script) and the schema was fetched.
    page.locator(".swagger-ui .info .title").wait_for(timeout=10_000)
    assert "My NHS" in page.locator(".swagger-ui .info .title").inner_text()
    assert not site.problems, "\n".join(site.problems)
