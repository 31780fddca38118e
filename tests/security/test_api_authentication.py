"""Every API operation (read from the OpenAPI schema) demands credentials, the right scope, and MFA.

- no credentials: 401 in the error shape, with a Bearer challenge;
- a browser session that has not passed its second factor: 401, as if anonymous;
- a token without the scope the method needs (``read`` for GET, ``write`` otherwise): 403;
and in every refused case nothing is written.
"""

import re

import pytest
from django.test import Client

from csoa_portal.models import AuditEntry
from liaison.models import Event
from tests.api.support import assert_error


def _operations() -> list[tuple[str, str]]:
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    return [(method, re.sub(r"\{\w+\}", "1", path)) for path, operations in schema["paths"].items()
            for method in operations if method in ("get", "post", "put", "patch", "delete")]


def _call(client, method, url):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, "{}", content_type="application/json")


def _writes():
    return AuditEntry.objects.count(), Event.objects.count()


@pytest.fixture
def operations(db):
    found = _operations()
    assert len(found) >= 25 and ("post", "/api/v1/incidents/") in found
    return found


def test_every_operation_refuses_a_request_without_credentials_with_401(network, operations):
    before = _writes()
    for method, url in operations:
        response = _call(Client(), method, url)
        assert_error(response, 401, code="not_authenticated")
        assert response["WWW-Authenticate"].startswith("Bearer"), (method, url)
    assert _writes() == before


def test_every_operation_refuses_a_session_that_has_not_passed_its_second_factor(network, operations):
    half_signed_in = Client()
    half_signed_in.force_login(network["people"]["de_analyst"])  # password only, no TOTP
    before = _writes()
    for method, url in operations:
        assert_error(_call(half_signed_in, method, url), 401, code="not_authenticated")
    assert _writes() == before


def test_every_operation_refuses_a_token_without_the_scope_its_method_needs(network, operations, token_for):
    reader = Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['de-csirt'], 'read')}"})
    writer = Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['de-csirt'], 'write')}"})
    before = _writes()
    for method, url in operations:
        client, needed = (writer, "read") if method == "get" else (reader, "write")
        assert_error(_call(client, method, url), 403, code="permission_denied", says=f"'{needed}' scope")
    assert _writes() == before
