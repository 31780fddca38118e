"""Liveness and readiness probes."""

from unittest import mock

from django.db import OperationalError


def test_healthz_answers_200_while_the_process_is_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_answers_200_when_backing_services_answer(db, client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["checks"]["database"] == "ok"


def test_readyz_answers_503_naming_the_database_when_it_is_down(db, client):
    with mock.patch("csoa_portal.health.connection") as connection:
        connection.cursor.side_effect = OperationalError("could not connect to server")
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("database unavailable")
    assert "database" in body["message"]
