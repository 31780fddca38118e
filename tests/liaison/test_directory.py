"""The network directory: every signed-in user reads it, with a constant number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from liaison import services
from tests import factories

pytestmark = pytest.mark.django_db


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx)


def test_directory_groups_member_states_and_lists_organisations(network, login):
    client = login(network["people"]["pt_analyst"])
    response = client.get(reverse("liaison:directory"))
    assert response.status_code == 200
    body = response.content.decode()
    for label in ("EU member state", "DEP-associated third country", "EU institutions, bodies, offices and agencies"):
        assert label in body
    assert "de-csirt" in body and "provider-acme" in body


def test_directory_filters_organisations_by_kind_member_state_and_text(network, login):
    client = login(network["people"]["pt_analyst"])
    url = reverse("liaison:directory")
    page = client.get(url, {"kind": "national_csirt", "member_state": "DE"}).context["page"]
    assert [o.code for o in page.object_list] == ["de-csirt"]
    page = client.get(url, {"q": "cert"}).context["page"]
    assert {o.code for o in page.object_list} >= {"de-csirt", "fr-csirt", "pt-csirt", "cert-eu"}
    assert "enisa" not in {o.code for o in page.object_list}
    page = client.get(url, {"q": "Incident Response"}).context["page"]
    assert [o.code for o in page.object_list] == ["provider-acme"]


def test_directory_refuses_an_unknown_member_state_filter_with_400(network, login):
    response = login(network["people"]["pt_analyst"]).get(reverse("liaison:directory"), {"member_state": "XX"})
    assert response.status_code == 400
    assert "member_state" in response.context["form"].errors


def test_organisation_page_shows_people_and_roles_but_hides_service_accounts(network, login, token_for):
    token_for(network["orgs"]["de-csirt"])  # creates the API service account
    response = login(network["people"]["fr_analyst"]).get(reverse("liaison:organisation", args=["de-csirt"]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "analyst@de-csirt.example" in body and "Organisation admin" in body
    assert "service.csoa-portal.invalid" not in body
    assert "Add a person" not in body  # not an admin of de-csirt


def test_member_state_page_lists_its_organisations(network, login):
    response = login(network["people"]["pt_analyst"]).get(reverse("liaison:member_state", args=["DE"]))
    assert response.status_code == 200
    assert {o.code for o in response.context["organisations"]} == {"de-csirt", "de-authority", "provider-acme"}


@pytest.mark.parametrize("url", ["/network/organisations/nope/", "/network/member-states/XX/"])
def test_unknown_codes_get_404(network, login, url):
    assert login(network["people"]["pt_analyst"]).get(url).status_code == 404


def test_directory_requires_sign_in(network, client):
    response = client.get(reverse("liaison:directory"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_directory_pages_use_a_constant_number_of_queries(network, login):
    client = login(network["people"]["pt_analyst"])
    urls = [
        reverse("liaison:directory"),
        reverse("liaison:organisation", args=["de-csirt"]),
        reverse("liaison:member_state", args=["DE"]),
    ]
    before = [_queries(client, url) for url in urls]
    de_csirt = network["orgs"]["de-csirt"]
    for n in range(5):
        org = factories.organisation(f"de-hub-{n}", "national_hub", "DE", f"Hub {n}")
        factories.person(f"p{n}@hub.example", org, ["analyst", "org_admin"])
        factories.person(f"extra{n}@de-csirt.example", de_csirt, ["analyst", "liaison_officer"])
    services.create_organisation(actor=None, code="ms-less", name="Cross-border hub", kind="cross_border_hub")
    after = [_queries(client, url) for url in urls]
    assert after == before
