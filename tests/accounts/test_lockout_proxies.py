"""X-Forwarded-For is believed only from the proxies in TRUSTED_PROXIES.

With none configured (the default) the connection's address is the client: a client that
writes its own X-Forwarded-For neither escapes the per-address lockout nor puts a forged
address into the audit log. Behind a configured proxy, the address that proxy saw counts.
"""

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from django.urls import reverse

from csoa_portal.middleware import client_ip
from csoa_portal.models import AuditEntry

LOCKED_MESSAGE = "Too many failed sign-in attempts for this account or from this network address."


def _ip(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


def _fail(remote, forwarded, email):
    client = Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    return client.post(reverse("accounts:login"), {"username": email, "password": "wrong password 1"})


def test_forwarded_for_is_ignored_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []
    assert _ip("203.0.113.9", "10.9.9.9") == "203.0.113.9"
    assert _ip("127.0.0.1", "10.9.9.9") == "127.0.0.1"


@pytest.mark.parametrize(
    "remote, forwarded, expected",
    [
        ("10.0.0.1", "203.0.113.5", "203.0.113.5"),  # one trusted proxy
        ("10.0.0.1", "1.2.3.4, 203.0.113.5", "203.0.113.5"),  # the client's own prefix is not believed
        ("10.0.0.1", "203.0.113.5, 10.0.0.7", "203.0.113.5"),  # two trusted proxies (a network)
        ("10.0.0.1", "10.0.0.7", "10.0.0.1"),  # only proxies in the header: the last known hop
        ("10.0.0.1", "", "10.0.0.1"),
        ("10.0.0.1", "not-an-address", "10.0.0.1"),
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # the header of an untrusted peer
        ("10.0.0.1", "2001:db8::1", "2001:db8::1"),
    ],
)
def test_forwarded_for_is_read_from_the_right_behind_trusted_proxies(settings, remote, forwarded, expected):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert _ip(remote, forwarded) == expected


def test_a_spoofed_forwarded_for_does_not_escape_the_address_lockout(network, password_step, settings):
    settings.TRUSTED_PROXIES = []
    for n in range(settings.AXES_FAILURE_LIMIT):
        _fail("203.0.113.20", f"198.51.100.{n}", f"nobody{n}@example.eu")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.20"}
    victim = Client(REMOTE_ADDR="203.0.113.20", HTTP_X_FORWARDED_FOR="198.51.100.200")
    response = password_step(victim, network["people"]["fr_analyst"])
    assert response.status_code == 429 and LOCKED_MESSAGE in response.content.decode()


def test_behind_a_trusted_proxy_each_client_address_is_counted_on_its_own(network, password_step, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    for n in range(settings.AXES_FAILURE_LIMIT):
        _fail("10.0.0.1", "1.2.3.4, 203.0.113.30", f"nobody{n}@example.eu")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.30"}
    locked = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.30")
    assert password_step(locked, network["people"]["fr_analyst"]).status_code == 429
    other = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.31")
    assert password_step(other, network["people"]["fr_analyst"]).status_code == 302


def test_the_audit_log_records_the_connection_address_not_a_spoofed_header(network, login, settings):
    settings.TRUSTED_PROXIES = []
    client = login(network["people"]["de_admin"])
    client.defaults.update(REMOTE_ADDR="203.0.113.40", HTTP_X_FORWARDED_FOR="6.6.6.6")
    response = client.post(reverse("liaison:tokens"), {"name": "SIEM", "scopes": ["read"], "days": "7"})
    assert response.status_code == 200
    assert AuditEntry.objects.get(action="token.created").ip_address == "203.0.113.40"
