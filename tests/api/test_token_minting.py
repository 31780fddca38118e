"""API tokens are minted only by an organisation admin of the organisation they act as.

A token reads everything its organisation may read: ENISA's network admin minting one for
de-csirt would read de-csirt's unshared TLP:AMBER+STRICT incidents. The service refuses it,
so every path (page, API, admin) is covered; operators keep ``manage.py issue_token``.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from csoa_portal.models import ApiToken, AuditEntry
from incidents import services as incident_services
from liaison import services
from liaison.models import Event, User

pytestmark = pytest.mark.django_db


def _issue(actor, organisation):
    return services.issue_api_token(actor=actor, organisation=organisation, name="SIEM", scopes="read", days=7)


def _nothing_written():
    return (
        not ApiToken.objects.exists()
        and not AuditEntry.objects.filter(action="token.created").exists()
        and not Event.objects.filter(kind="token.created").exists()
    )


@pytest.mark.parametrize("person", ["enisa_admin", "de_analyst", "fr_analyst", "enisa_triage"])
def test_people_who_are_not_its_organisation_admin_cannot_mint_a_de_csirt_token(network, person):
    with pytest.raises(PermissionDenied, match="Only an organisation admin of de-csirt"):
        _issue(network["people"][person], network["orgs"]["de-csirt"])
    assert _nothing_written()
    assert not User.objects.filter(email="api+de-csirt@service.csoa-portal.invalid").exists()


def test_organisation_admin_mints_a_token_for_their_own_organisation(network):
    token, raw = _issue(network["people"]["de_admin"], network["orgs"]["de-csirt"])
    assert token.organisation.code == "de-csirt" and raw.startswith("csoa_")
    assert AuditEntry.objects.filter(action="token.created", object_id=str(token.pk)).exists()


def test_network_admin_mints_for_enisa_where_they_are_organisation_admin(network):
    token, _ = _issue(network["people"]["enisa_admin"], network["orgs"]["enisa"])
    assert token.organisation.code == "enisa"


def test_network_admin_cannot_read_de_csirts_unshared_amber_strict_incident_through_a_minted_token(network, login):
    incident_services.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title="Unshared secret",
        aware_at=timezone.now() - timedelta(hours=1), tlp="amber+strict",
    )
    browser = login(network["people"]["enisa_admin"])
    form = {"org": "de-csirt", "name": "x", "scopes": ["read"], "days": "7"}
    response = browser.post(reverse("liaison:tokens"), form)
    assert response.status_code == 403
    assert "Only an organisation admin of de-csirt may create its API tokens" in response.content.decode()
    assert "csoa_" not in response.content.decode()
    assert _nothing_written()


def test_deactivated_organisation_admin_cannot_mint(network):
    admin = network["people"]["de_admin"]
    admin.is_active = False
    with pytest.raises(PermissionDenied):
        _issue(admin, network["orgs"]["de-csirt"])
    assert _nothing_written()


def test_operator_with_server_access_still_issues_tokens_for_any_organisation(network):
    out, err = StringIO(), StringIO()
    call_command("issue_token", "--org", "de-csirt", "--scopes", "read", stdout=out, stderr=err)
    assert out.getvalue().strip().startswith("csoa_")
    assert ApiToken.objects.filter(organisation__code="de-csirt", created_by=None).exists()
