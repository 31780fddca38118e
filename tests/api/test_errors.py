"""Every API failure answers in the one JSON error shape of csoa_portal.api.exceptions."""

import pytest

from tests.api.support import assert_error


def test_unknown_api_url_gets_404_json(de_client):
    assert_error(de_client.get("/api/v1/no-such-thing/"), 404, code="not_found")


def test_unknown_api_url_without_credentials_is_still_json(db, client):
    assert_error(client.get("/api/v2/"), 404, code="not_found")


def test_wrong_method_gets_405_json_naming_the_method(de_client):
    assert_error(de_client.delete("/api/v1/member-states/DE/"), 405, code="method_not_allowed", says="DELETE")


def test_oversized_body_gets_413_json_before_anything_reads_it(de_client, settings):
    settings.REQUEST_MAX_BODY_BYTES = 1000

    response = de_client.post("/api/v1/organisations/", "x" * 1001, content_type="application/json")

    assert_error(response, 413, code="request_too_large", says="limit is 1000 bytes")


@pytest.mark.urls("tests.api.echo_urls")
def test_malformed_json_body_gets_400_json(de_client):
    response = de_client.post("/api/v1/echo/", '{"title": ', content_type="application/json")

    assert_error(response, 400, code="parse_error", says="JSON parse error")


@pytest.mark.urls("tests.api.echo_urls")
def test_wellformed_json_body_is_parsed(de_client):
    assert de_client.post("/api/v1/echo/", {"title": "ok"}, content_type="application/json").json() == {"title": "ok"}


@pytest.mark.urls("tests.api.echo_urls")
def test_non_json_body_gets_415_json(de_client):
    response = de_client.post("/api/v1/echo/", "title=x", content_type="application/x-www-form-urlencoded")

    assert_error(response, 415, code="unsupported_media_type")
