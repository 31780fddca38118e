"""The browser session works for the API only after its second factor."""

from django.test import Client

from tests.api.support import assert_error


def test_browser_session_with_verified_second_factor_can_use_the_api(network, login):
    client = login(network["people"]["de_analyst"])

    response = client.get("/api/v1/organisations/")

    assert response.status_code == 200
    assert any(row["code"] == "de-csirt" for row in response.json()["results"])


def test_session_without_second_factor_gets_401(network):
    client = Client()
    client.force_login(network["people"]["de_analyst"])  # password only, no TOTP yet

    response = client.get("/api/v1/organisations/")

    assert_error(response, 401, code="not_authenticated")


def test_verified_session_sees_its_events_in_utc(network, login):
    analyst = network["people"]["de_analyst"]
    assert analyst.timezone == "Europe/Brussels"  # pages show Brussels time; the API stays UTC
    client = login(analyst)

    events = client.get("/api/v1/events/", {"limit": 1000}).json()["results"]

    assert events and all(e["created_at"].endswith("Z") for e in events)


def test_session_writes_still_need_a_csrf_token(network, login):
    client = login(network["people"]["de_analyst"])
    client.handler.enforce_csrf_checks = True  # a browser is not a test client

    response = client.post("/api/v1/organisations/", {}, content_type="application/json")

    assert_error(response, 403, says="CSRF")
