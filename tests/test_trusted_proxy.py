"""Client addresses behind reverse proxies: rate limits, lockouts and audit entries must see the
visitor, not the proxy, and a visitor must not be able to choose the address they are seen from."""

import pytest

from crm.middleware import client_address
from crm.models import AuditEntry
from tests.public_support import sign_up_data

PROXY = "10.0.0.5"


@pytest.mark.parametrize(("forwarded", "proxies", "seen"), [
    ("", 1, PROXY),  # the proxy added nothing: only its own address is known
    ("203.0.113.9", 1, "203.0.113.9"),
    ("1.2.3.4, 203.0.113.9", 1, "203.0.113.9"),  # the left entry was written by the client
    ("1.2.3.4, 203.0.113.9, 10.0.0.4", 2, "203.0.113.9"),  # two proxies: the second from the right
    ("203.0.113.9", 2, PROXY),  # fewer hops than proxies: a proxy was bypassed
    ("not-an-address", 1, PROXY),
    (" 2001:db8::1 ", 1, "2001:db8::1"),
])
def test_client_address_is_taken_from_the_trusted_end_of_the_header(forwarded, proxies, seen):
    assert client_address({"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": forwarded}, proxies=proxies) == seen


def post_from(client, forwarded):
    return client.post("/sign-up/", {}, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


@pytest.mark.django_db
def test_without_trusted_proxies_the_header_is_ignored(client, settings):
    settings.PUBLIC_RATE_LIMIT = "2/m"
    for forged in ("198.51.100.1", "198.51.100.2"):
        assert post_from(client, forged).status_code == 200
    # A new forged address each time does not buy more attempts.
    assert post_from(client, "198.51.100.3").status_code == 429


@pytest.mark.django_db
def test_behind_one_proxy_each_visitor_has_their_own_limit(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.PUBLIC_RATE_LIMIT = "2/m"
    for _ in range(2):
        assert post_from(client, "198.51.100.1").status_code == 200
    assert post_from(client, "198.51.100.1").status_code == 429
    # Forging an entry to the left of what the proxy appended changes nothing.
    assert post_from(client, "192.0.2.77, 198.51.100.1").status_code == 429
    # Another visitor through the same proxy is not held back by the first.
    assert post_from(client, "198.51.100.2").status_code == 200


@pytest.mark.django_db
def test_audit_entries_record_the_visitor_behind_the_proxy(client, settings, django_capture_on_commit_callbacks):
    settings.TRUSTED_PROXY_COUNT = 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/sign-up/", sign_up_data(), REMOTE_ADDR=PROXY,
                               HTTP_X_FORWARDED_FOR="192.0.2.77, 198.51.100.40")
    assert response.status_code == 302
    addresses = set(AuditEntry.objects.exclude(ip_address=None).values_list("ip_address", flat=True))
    assert addresses == {"198.51.100.40"}
