"""A concerned authority's SOC tooling reads the warnings its organisation reads, and cannot answer for it."""

import pytest
from django.test import Client

from tests.awareness import warnings_support
from tests.awareness.warnings_support import circulated

pytestmark = pytest.mark.django_db
cross_border = warnings_support.cross_border


def _token_client(token_for, organisation, scopes="read,write") -> Client:
    return Client(headers={"Authorization": f"Bearer {token_for(organisation, scopes)}"})


def test_a_concerned_states_token_reads_the_circulated_warning_and_an_unconcerned_one_gets_404(cross_border,
                                                                                             token_for):
    warning = circulated(cross_border)
    fr = _token_client(token_for, cross_border["orgs"]["fr-csirt"])
    pt = _token_client(token_for, cross_border["orgs"]["pt-csirt"])

    assert fr.get(f"/api/v1/warnings/{warning.pk}/").status_code == 200
    assert warning.pk in [row["id"] for row in fr.get("/api/v1/warnings/").json()["results"]]
    assert pt.get(f"/api/v1/warnings/{warning.pk}/").status_code == 404


def test_reading_is_not_answering_a_token_cannot_agree_for_its_state(cross_border, token_for):
    warning = circulated(cross_border)
    fr = _token_client(token_for, cross_border["orgs"]["fr-csirt"])

    response = fr.post(f"/api/v1/warnings/{warning.pk}/respond/", {"response": "agreed"},
                       content_type="application/json")

    assert response.status_code == 403, response.content
    warning.participations.get(member_state__code="FR").refresh_from_db()
    assert warning.participations.get(member_state__code="FR").response == "pending"
