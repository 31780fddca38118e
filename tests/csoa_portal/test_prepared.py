"""Prepared statements on persistent PostgreSQL connections (csoa_portal.prepared): same answers, planned once.

Production's WSGI workers keep their connections (DATABASE_CONN_MAX_AGE), so the SQL the portal
builds once per model is prepared once per connection; a rollback keeps a prepared statement, a
new connection starts without any, and transaction pooling or a connection per request turn it off.
"""

import json
import uuid

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from csoa_portal import prepared, rows
from csoa_portal.models import IdempotencyRecord

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"),
]


@pytest.fixture
def persistent(settings, monkeypatch):
    """A connection that outlives requests, as in production (prepared statements on)."""
    settings.DATABASE_PREPARED_STATEMENTS = None
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    assert prepared.enabled(connection)
    prepared.decide_again(connection)  # decided once per driver connection: the settings changed under it
    yield
    # Restore the settings first: deciding under them again left the worker's connection preparing
    # for every later test.
    monkeypatch.undo()
    settings.finalize()
    prepared.decide_again(connection)


def _statements(queries, verb):
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith(verb)]


def _server_statements():
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'csoa_%%'")
        return {name for (name,) in cursor.fetchall()}


def _report(client, title):
    body = {"title": title, "aware_at": "2026-11-23T06:00:00Z", "tlp": "amber", "affected_member_states": ["DE"]}
    return client.post("/api/v1/incidents/", json.dumps(body), content_type="application/json",
                       headers={"Idempotency-Key": str(uuid.uuid4())})


def test_reports_on_a_persistent_connection_are_executed_prepared_and_answer_as_reading_them_back(
        persistent, network, token_for):
    client = Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['de-csirt'])}"})
    assert _report(client, "First").status_code == 201
    with CaptureQueriesContext(connection) as queries:
        response = _report(client, "Second")

    assert response.status_code == 201, response.content
    executed = _statements(queries, "EXECUTE csoa_")
    # The token, the key's record, the code, the incident with its rows, the event, the entry and its hash, the claim.
    assert len(executed) >= 8, [q["sql"][:80] for q in queries.captured_queries]
    assert not _statements(queries, "PREPARE"), "the first report prepared them"
    read_back = client.get(f"/api/v1/incidents/{response.json()['id']}/")
    assert {k: v for k, v in response.json().items() if k != "next_deadline"} == \
        {k: v for k, v in read_back.json().items() if k != "next_deadline"}
    # Kept by the server session for the connection's next requests.
    assert len(_server_statements()) >= 8


def test_a_rolled_back_transaction_keeps_its_prepared_statements(persistent, network):
    user = network["people"]["de_analyst"]
    with transaction.atomic():
        rows.fetch(IdempotencyRecord, using=connection.alias, principal=user.pk, key="k")
        transaction.set_rollback(True)
    with CaptureQueriesContext(connection) as queries:
        assert rows.fetch(IdempotencyRecord, using=connection.alias, principal=user.pk, key="k") == []
    assert not _statements(queries, "PREPARE") and len(_statements(queries, "EXECUTE csoa_")) == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again(persistent, network):
    user = network["people"]["de_analyst"]
    rows.fetch(IdempotencyRecord, using=connection.alias, principal=user.pk, key="k")
    connection.close()  # a cut, or CONN_MAX_AGE reached: the server session and its statements are gone
    with CaptureQueriesContext(connection) as queries:
        assert rows.fetch(IdempotencyRecord, using=connection.alias, principal=user.pk, key="k") == []
    assert len(_statements(queries, "PREPARE")) == 1 and len(_statements(queries, "EXECUTE csoa_")) == 1


def test_off_with_a_connection_per_request_behind_transaction_pooling_or_when_set_off(settings, monkeypatch):
    settings.DATABASE_PREPARED_STATEMENTS = None
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    assert not prepared.enabled(connection)
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    assert not prepared.enabled(connection)
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", False)
    settings.DATABASE_PREPARED_STATEMENTS = False
    assert not prepared.enabled(connection)
    settings.DATABASE_PREPARED_STATEMENTS = True
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    assert prepared.enabled(connection)


def test_sql_with_a_percent_sign_of_its_own_is_sent_as_it_is(persistent):
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        prepared.execute(cursor, "SELECT %s || '%%'", ["50"])
        assert cursor.fetchone() == ("50%",)
    assert not _statements(queries, "PREPARE")
