"""Every answer to a signed-in person or a token is that reader's version: no shared cache may keep it."""

import pytest
from django.test import Client
from django.utils import timezone

from incidents import services


def _directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part.strip()}


@pytest.fixture
def incident(network):
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    title="Wiper at a grid operator", aware_at=timezone.now())


@pytest.mark.parametrize("path", ["/api/v1/incidents/", "/api/v1/incidents/{pk}/", "/api/v1/incidents/{pk}/stix/",
                                  "/api/v1/incidents/{pk}/misp/", "/api/v1/events/"])
def test_token_answers_including_exports_are_private_and_never_stored(network, token_for, incident, path):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-csirt'])}")

    response = client.get(path.format(pk=incident.pk))

    assert response.status_code == 200
    assert {"private", "no-store"} <= _directives(response)
    assert "public" not in _directives(response)


@pytest.mark.parametrize("path", ["/", "/incidents/", "/incidents/{pk}/", "/incidents/{pk}/stix/",
                                  "/incidents/{pk}/misp/", "/api/v1/incidents/"])
def test_pages_and_downloads_for_a_signed_in_person_are_private_and_never_stored(network, login, incident, path):
    client = login(network["people"]["de_analyst"])

    response = client.get(path.format(pk=incident.pk))

    assert response.status_code == 200
    assert {"private", "no-store"} <= _directives(response)


def test_a_refused_token_is_answered_without_a_readers_private_marking(db):
    refused = Client(HTTP_AUTHORIZATION="Bearer csoa_nope_nope").get("/api/v1/incidents/")

    assert refused.status_code == 401
    assert "private" not in _directives(refused)
