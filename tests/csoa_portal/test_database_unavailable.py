"""A lost database connection is a 503 with a clear message, on pages and on the API; other bugs stay 500.

The failures are injected with mocks here, so these run in both modes; tests/fault/
test_postgres_connections.py cuts real PostgreSQL connections under a running server.
"""

from unittest import mock

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

from tests.api.support import assert_error

pytestmark = pytest.mark.django_db

CUT = OperationalError("terminating connection due to administrator command\nserver closed the connection unexpectedly")
CLOSED = InterfaceError("connection already closed")


@pytest.fixture
def de_token(network, token_for):
    return token_for(network["orgs"]["de-csirt"], "read,write")


def _session_client(user, login, **kwargs) -> Client:
    """A verified browser session, optionally a client that returns 500s instead of raising."""
    signed_in = login(user)
    client = Client(**kwargs)
    client.cookies = signed_in.cookies
    return client


@pytest.mark.parametrize("error", [CUT, CLOSED], ids=["connection-cut", "connection-closed"])
def test_api_request_losing_the_database_gets_503_in_the_error_shape(de_token, error):
    client = Client(headers={"Authorization": f"Bearer {de_token}"})
    with mock.patch("liaison.selectors.events_visible_to", side_effect=error):
        response = client.get("/api/v1/events/")

    error_body = assert_error(response, 503, code="database_unavailable", says="database is not available")
    assert "retry" in error_body["message"].lower()
    assert response["Retry-After"] == "5"


def test_page_losing_the_database_shows_the_503_page_with_the_portals_headers(network, login):
    client = login(network["people"]["de_analyst"])
    with mock.patch("incidents.selectors.incidents_visible_to", side_effect=CUT):
        response = client.get("/incidents/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert [t.name for t in response.templates] == ["errors/503.html"]
    page = response.content.decode()
    assert "cannot reach its database" in page and "try again" in page.lower()
    assert "Traceback" not in page and "terminating connection" not in page  # no internals shown
    assert response["Retry-After"] == "5"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_session_store_failing_before_the_view_is_503_not_500(network, login):
    """The session and the user load in middleware, before any view: still a 503 page."""
    client = _session_client(network["people"]["de_analyst"], login, raise_request_exception=False)
    with mock.patch("django.contrib.sessions.backends.db.SessionStore._get_session_from_db", side_effect=CUT):
        response = client.get("/")

    assert response.status_code == 503
    assert "cannot reach its database" in response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_session_store_failing_on_an_api_url_answers_json(network, login):
    client = _session_client(network["people"]["de_analyst"], login, raise_request_exception=False)
    with mock.patch("django.contrib.sessions.backends.db.SessionStore._get_session_from_db", side_effect=CUT):
        response = client.get("/api/v1/events/")

    assert_error(response, 503, code="database_unavailable")


def test_database_down_altogether_still_answers_the_503_page(network, login):
    """Every query fails, even those of the 500 page: the 503 page needs none."""
    client = _session_client(network["people"]["de_analyst"], login, raise_request_exception=False)
    refused = OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')
    with mock.patch.object(BaseDatabaseWrapper, "ensure_connection", side_effect=refused):
        page = client.get("/incidents/")
        api = client.get("/api/v1/incidents/", headers={"Accept": "application/json"})

    assert page.status_code == 503
    assert "cannot reach its database" in page.content.decode()
    assert_error(api, 503, code="database_unavailable")


def test_other_database_errors_are_not_disguised_as_503(de_token):
    """A constraint violation nobody caught is a bug: 500, not "try again"."""
    client = Client(headers={"Authorization": f"Bearer {de_token}"}, raise_request_exception=False)
    with mock.patch("liaison.selectors.events_visible_to", side_effect=IntegrityError("duplicate key value")):
        response = client.get("/api/v1/events/")

    assert_error(response, 500, code="server_error")


def test_the_next_request_after_a_503_is_served(de_token):
    client = Client(headers={"Authorization": f"Bearer {de_token}"})
    with mock.patch("liaison.selectors.events_visible_to", side_effect=CUT):
        assert client.get("/api/v1/events/").status_code == 503

    assert client.get("/api/v1/events/").status_code == 200


# --- A write's answer is true of what was committed (csoa_portal.api.transactions) ----------------------------
# Transactional: the request's own transaction commits, as in production. tests/fault/test_write_outcomes.py
# cuts real PostgreSQL connections at each stage.

def _report(client, title: str, **headers):
    body = {"title": title, "aware_at": "2026-01-01T00:00:00Z"}
    return client.post("/api/v1/incidents/", body, content_type="application/json", **headers)


def _commit_fails_once(error):
    """The request's COMMIT gets no answer (and does not happen); later commits go through."""
    backend = type(connections["default"])  # the backend in use (csoa_portal.postgres has its own COMMIT)
    real, failed = backend._commit, []

    def commit(self):
        if not failed:
            failed.append(True)
            raise error
        return real(self)

    return mock.patch.object(backend, "_commit", commit)


@pytest.mark.django_db(transaction=True)
def test_a_write_losing_the_database_before_its_commit_is_not_completed_and_left_nothing(de_token):
    from incidents.models import Incident

    client = Client(headers={"Authorization": f"Bearer {de_token}"})
    with mock.patch("incidents.api.views._created_response", side_effect=CUT):  # after the service wrote it
        response = _report(client, "Cut before the commit")

    assert_error(response, 503, code="database_unavailable", says="not completed")
    assert not Incident.objects.filter(title="Cut before the commit").exists()


@pytest.mark.django_db(transaction=True)
def test_a_write_whose_commit_gets_no_answer_says_the_outcome_is_unknown_and_how_to_find_out(de_token):
    from incidents.models import Incident

    client = Client(headers={"Authorization": f"Bearer {de_token}"})
    with _commit_fails_once(CUT):
        keyed = _report(client, "Commit lost", HTTP_IDEMPOTENCY_KEY="k-lost")
    with _commit_fails_once(CUT):
        unkeyed = _report(client, "Commit lost without a key")

    error = assert_error(keyed, 503, code="outcome_unknown", says="not known whether it was saved")
    assert "not completed" not in error["message"] and "same Idempotency-Key" in error["message"]
    unkeyed_error = assert_error(unkeyed, 503, code="outcome_unknown")
    assert "/api/v1/incidents/" in unkeyed_error["message"]  # where it would be: read it before resending
    assert keyed["Retry-After"] == "5"
    retried = _report(client, "Commit lost", HTTP_IDEMPOTENCY_KEY="k-lost")
    assert retried.status_code == 201 and Incident.objects.filter(title="Commit lost").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_failure_after_the_commit_answers_the_committed_result(de_token):
    from incidents.models import Incident
    from liaison.models import Event

    client = Client(headers={"Authorization": f"Bearer {de_token}"})
    with mock.patch("liaison.events._background_publisher.submit", side_effect=CUT):  # the database went after the commit
        response = _report(client, "Committed, then cut", HTTP_IDEMPOTENCY_KEY="k-after")

    assert response.status_code == 201, response.content
    (incident,) = Incident.objects.filter(title="Committed, then cut")
    assert response.json()["id"] == incident.pk
    assert Event.objects.filter(subject_id=str(incident.pk), published_at__isnull=True).exists()  # the sweep's
    replayed = _report(client, "Committed, then cut", HTTP_IDEMPOTENCY_KEY="k-after")
    assert replayed["Idempotent-Replayed"] == "true" and replayed.json() == response.json()


@pytest.mark.django_db(transaction=True)
def test_publishing_that_fails_after_the_commit_fails_nothing_else(de_token, caplog):
    """Redis or the database gone when the Events are published: the write stands, the sweep publishes."""
    from incidents.models import Incident

    client = Client(headers={"Authorization": f"Bearer {de_token}"})
    with mock.patch("liaison.events.Event.objects.filter", side_effect=CUT):  # marking them published
        response = _report(client, "Published later")

    assert response.status_code == 201, response.content
    assert Incident.objects.filter(title="Published later").exists()
    assert "the sweeper will publish them" in caplog.text
