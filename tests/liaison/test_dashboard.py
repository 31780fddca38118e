"""The dashboard shows each role what will appear there, and where the person belongs."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "person, expected, absent",
    [
        ("de_analyst", "Incidents of your organisation and those shared with you", "live crisis board"),
        ("de_liaison", "live crisis board", "Reserve requests awaiting triage"),
        ("enisa_triage", "Reserve requests awaiting triage", "live crisis board"),
        ("provider", "Your engagements", "Reserve requests awaiting triage"),
    ],
)
def test_dashboard_shows_the_empty_states_of_the_persons_roles(network, login, person, expected, absent):
    body = login(network["people"][person]).get(reverse("liaison:dashboard")).content.decode()
    assert expected.lower() in body.lower()
    assert absent.lower() not in body.lower()


def test_dashboard_shows_organisation_member_state_and_role(network, login):
    body = login(network["people"]["de_analyst"]).get(reverse("liaison:dashboard")).content.decode()
    assert "CERT-Bund" in body and "Germany" in body and "Analyst" in body


def test_decision_maker_sees_requests_awaiting_decision(network, login):
    from tests import factories

    person = factories.person("decision@enisa.example", network["orgs"]["enisa"], ["decision_maker"])
    body = login(person).get(reverse("liaison:dashboard")).content.decode()
    assert "Reserve requests awaiting a decision" in body
    assert 'href="/reserve/requests/?status=assessed"' in body


def test_commission_decision_maker_gets_decisions_only_where_the_commission_is_the_contracting_authority(
        network, login, settings):
    from tests import factories

    person = factories.person("decision@ec.example", network["orgs"]["ec"], ["decision_maker"])
    body = login(person).get(reverse("liaison:dashboard")).content.decode()
    assert "Reserve requests awaiting a decision" not in body  # ENISA decides by default (DOMAIN.md "Routing")
    assert reverse("reserve:reserve_dashboard") in body  # the Commission sees every decision
    settings.RESERVE_CONTRACTING_AUTHORITY = "ec"
    body = login(person).get(reverse("liaison:dashboard")).content.decode()
    assert "Reserve requests awaiting a decision" in body


def test_org_admin_gets_links_to_people_and_tokens(network, login):
    body = login(network["people"]["de_admin"]).get(reverse("liaison:dashboard")).content.decode()
    assert reverse("liaison:organisation", args=["de-csirt"]) in body
    assert f"{reverse('liaison:tokens')}?org=de-csirt" in body
    assert reverse("audit:list") not in body


def test_network_admin_gets_links_to_network_management_and_audit(network, login):
    body = login(network["people"]["enisa_admin"]).get(reverse("liaison:dashboard")).content.decode()
    assert reverse("liaison:organisation_create") in body
    assert reverse("audit:list") in body
