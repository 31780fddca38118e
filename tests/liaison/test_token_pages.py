"""Token management in the browser: own organisation only, shown once, hash only, revocable."""

import re

import pytest
from django.urls import reverse

from csoa_portal import tokens
from csoa_portal.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db

TOKEN_RE = re.compile(r"csoa_[a-z0-9]{12}_[A-Za-z0-9_-]{43}")


def _create(client, **data):
    payload = {"name": "SOC sync", "scopes": ["read", "write"], "days": "30"} | data
    return client.post(reverse("liaison:tokens"), payload)


def test_token_is_shown_once_and_only_its_hash_is_stored(network, login):
    client = login(network["people"]["de_admin"])
    response = _create(client)
    assert response.status_code == 200
    assert {"private", "no-store"} <= {d.strip() for d in response["Cache-Control"].split(",")}
    raw = TOKEN_RE.search(response.content.decode()).group(0)
    token = ApiToken.objects.get(organisation__code="de-csirt")
    assert token.secret_hash == tokens.hash_token(raw) and raw not in token.secret_hash
    assert token.scopes == ["read", "write"] and token.created_by == network["people"]["de_admin"]
    assert raw not in str(dict(client.session))
    listing = client.get(reverse("liaison:tokens")).content.decode()
    assert "SOC sync" in listing and raw not in listing and TOKEN_RE.search(listing) is None
    entry = AuditEntry.objects.get(action="token.created")
    assert raw not in str(entry.after) and entry.organisation_code == "de-csirt"


def test_token_creation_errors_name_the_field_with_400(network, login):
    client = login(network["people"]["de_admin"])
    for data, field in (({"days": "400"}, "days"), ({"scopes": []}, "scopes"), ({"name": ""}, "name")):
        response = _create(client, **data)
        assert response.status_code == 400
        assert field in response.context["form"].errors
    assert not ApiToken.objects.exists()


def test_org_admin_sees_only_their_organisations_tokens(network, login, token_for):
    token_for(network["orgs"]["fr-csirt"])
    token_for(network["orgs"]["de-csirt"])
    client = login(network["people"]["de_admin"])
    response = client.get(reverse("liaison:tokens"))
    assert response.context["organisation"].code == "de-csirt"
    assert {t.organisation.code for t in response.context["tokens"]} == {"de-csirt"}
    assert client.get(reverse("liaison:tokens"), {"org": "fr-csirt"}).status_code == 404
    assert _create(client, org="fr-csirt").status_code == 404
    assert not ApiToken.objects.filter(organisation__code="fr-csirt", name="SOC sync").exists()


def test_other_organisations_token_gets_404_on_revoke(network, login, token_for):
    token_for(network["orgs"]["fr-csirt"])
    fr_token = ApiToken.objects.get(organisation__code="fr-csirt")
    client = login(network["people"]["de_admin"])
    assert client.get(reverse("liaison:token_revoke", args=[fr_token.pk])).status_code == 404
    assert client.post(reverse("liaison:token_revoke", args=[fr_token.pk])).status_code == 404
    fr_token.refresh_from_db()
    assert fr_token.revoked_at is None


def test_people_without_admin_role_are_told_who_manages_their_tokens(network, login):
    response = login(network["people"]["de_analyst"]).get(reverse("liaison:tokens"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "Only your organisation&#x27;s admins manage API tokens." in page
    assert "admin@de-csirt.example" in page  # de-csirt's organisation admin, by name and address


def test_revoke_asks_for_confirmation_then_revokes(network, login, token_for):
    raw = token_for(network["orgs"]["de-csirt"])
    token = ApiToken.objects.get(organisation__code="de-csirt")
    client = login(network["people"]["de_admin"])
    confirm = client.get(reverse("liaison:token_revoke", args=[token.pk]))
    assert confirm.status_code == 200 and "Revoke token" in confirm.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None  # a GET changes nothing
    response = client.post(reverse("liaison:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == network["people"]["de_admin"]
    with pytest.raises(tokens.TokenError, match="revoked"):
        tokens.authenticate(raw)
    assert "revoked" in client.get(reverse("liaison:tokens")).content.decode()
    assert AuditEntry.objects.filter(action="token.revoked", object_id=str(token.pk)).exists()


def test_network_admin_sees_and_revokes_any_organisations_tokens_but_creates_none_for_them(
    network, login, token_for
):
    token_for(network["orgs"]["pt-csirt"])
    pt_token = ApiToken.objects.get(organisation__code="pt-csirt")
    client = login(network["people"]["enisa_admin"])
    response = client.get(reverse("liaison:tokens"), {"org": "pt-csirt"})
    assert response.status_code == 200 and response.context["organisation"].code == "pt-csirt"
    assert response.context["org_form"] is not None
    assert not response.context["may_create"] and "Create token" not in response.content.decode()
    refused = _create(client, org="pt-csirt")
    assert refused.status_code == 403
    assert "Only an organisation admin of pt-csirt may create its API tokens" in refused.content.decode()
    assert not ApiToken.objects.filter(organisation__code="pt-csirt", name="SOC sync").exists()
    assert client.post(reverse("liaison:token_revoke", args=[pt_token.pk])).status_code == 302
    pt_token.refresh_from_db()
    assert pt_token.revoked_at is not None
    assert _create(client, org="enisa").status_code == 200  # their own organisation
