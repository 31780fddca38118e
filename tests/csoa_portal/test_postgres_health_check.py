"""The persistent connection's health check (csoa_portal.postgres): a poll while the server is silent, SELECT 1 otherwise.

A request on a connection whose session the server ended must not fail: the check finds it and
Django connects anew. A connection the server has said nothing on is used without a round trip.
"""

import select

import psycopg2
import pytest
from django.db import connection, connections

from tests.fault.workers import wait_for

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the backend is PostgreSQL's"),
]


@pytest.fixture
def persistent():
    """A second connection of the portal's backend, as a worker holds it between requests."""
    other = type(connections["default"])({**connection.settings_dict, "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True},
                             alias="health-check")
    other.ensure_connection()
    yield other
    other.close()


def _next_request(conn) -> None:
    conn.close_if_unusable_or_obsolete()  # what request_started does: the check is due again


def _backend_pid(conn) -> int:
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it(persistent):
    ended = _backend_pid(persistent)
    with connection.cursor() as cursor:  # the server ends that session (an administrator, a restart)
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [ended])
    _next_request(persistent)
    assert _backend_pid(persistent) != ended  # no error: found dead, connected anew


def test_a_silent_connection_is_used_without_a_round_trip(persistent, monkeypatch):
    pid = _backend_pid(persistent)
    asked = []
    monkeypatch.setattr(persistent, "is_usable", lambda: asked.append(1) or True)
    _next_request(persistent)
    persistent.close_if_health_check_failed()
    assert asked == []
    assert persistent.health_check_done
    assert _backend_pid(persistent) == pid


def test_a_connection_with_something_unread_from_the_server_takes_the_full_check(persistent, monkeypatch):
    with persistent.cursor() as cursor:
        cursor.execute("LISTEN csoa_health_check_test")
    notifier = psycopg2.connect(**persistent.get_connection_params())  # committed at once: delivered while idle
    notifier.autocommit = True
    with notifier.cursor() as cursor:
        cursor.execute("NOTIFY csoa_health_check_test")
    notifier.close()
    wait_for(lambda: select.select([persistent.connection], [], [], 0.1)[0], timeout=5, what="the notification")
    asked = []
    monkeypatch.setattr(persistent, "is_usable", lambda: asked.append(1) or True)
    _next_request(persistent)
    persistent.close_if_health_check_failed()
    assert asked == [1]


def test_a_connection_the_driver_closed_takes_the_full_check_and_is_replaced(persistent):
    ended = _backend_pid(persistent)
    persistent.connection.close()  # closed under Django (a driver error marks it so too)
    _next_request(persistent)
    assert _backend_pid(persistent) != ended
