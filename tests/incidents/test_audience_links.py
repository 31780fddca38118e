"""Linking someone else's incident into a Reserve request is refused (issue 12 §2).

A request exposes its linked incidents to new organisations (the contracting authority
reads their facts, a submitted request escalates them): only the incident's originating
organisation may link it. Service, page and API answer alike: 400 naming ``incidents``.
"""

import json

import pytest
from django.test import Client

from incidents import services as incident_services
from reserve import services
from reserve.models import AssistanceRequest
from tests.reserve.factories import content
from tests.reserve.test_pages import _form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_with_fr(network, incident):
    incident_services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                                     organisations=[network["orgs"]["fr-csirt"]])
    return incident


def test_a_recipient_cannot_link_the_incident_it_was_shared(network, shared_with_fr):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as excinfo:
        services.create_request(actor=network["people"]["fr_analyst"], organisation=network["orgs"]["fr-csirt"],
                                **content([shared_with_fr]))
    (message,) = excinfo.value.message_dict["incidents"]
    assert shared_with_fr.reference in message and "only its originating organisation may link it" in message
    assert not AssistanceRequest.objects.exists()


def test_the_api_refuses_the_link_with_a_400_naming_the_field(network, shared_with_fr, token_for):
    fr_tool = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['fr-csirt'])}")
    response = fr_tool.post("/api/v1/assistance-requests/", json.dumps(
        {"affected_entity": "Someone", "incidents": [shared_with_fr.pk]}), content_type="application/json")
    assert response.status_code == 400
    assert "only its originating organisation" in response.json()["error"]["fields"]["incidents"][0]
    assert not AssistanceRequest.objects.exists()


def test_the_page_refuses_the_link_on_the_field(network, shared_with_fr, login):
    response = login(network["people"]["fr_analyst"]).post(
        "/reserve/requests/new/", _form_data({"incident": shared_with_fr}, action="save"))
    assert response.status_code == 400 and "incidents" in response.context["form"].errors
    assert "only its originating organisation" in response.content.decode()
    assert not AssistanceRequest.objects.exists()


def test_the_originator_still_links_its_own_incident(network, incident):
    request = services.create_request(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                      **content([incident]))
    assert list(request.incidents.all()) == [incident]
