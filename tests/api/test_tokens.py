"""Organisation API tokens: hash-only storage, scopes, expiry, revocation, last use, audit."""

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from freezegun import freeze_time

from csoa_portal import tokens
from csoa_portal.models import ApiToken, AuditEntry
from incidents.models import Incident
from liaison import services
from tests.api.support import assert_error

ORGS = "/api/v1/organisations/"


def _token_row(raw: str) -> ApiToken:
    return ApiToken.objects.get(prefix=raw.split("_")[1])


def test_only_the_sha256_of_a_token_is_stored(network, token_for):
    raw = token_for(network["orgs"]["de-csirt"], "read")
    # The secret is URL-safe base64 and may itself contain "_": split off the prefix only.
    secret = raw.split("_", 2)[2]
    assert len(secret) == 43

    token = _token_row(raw)
    assert token.secret_hash == hashlib.sha256(raw.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert raw not in stored and secret not in stored
    audit_text = " ".join(str(e.before) + str(e.after) for e in AuditEntry.objects.all())
    assert secret not in audit_text


def test_read_token_can_get_but_gets_403_on_post(network, token_for, bearer):
    client = bearer(token_for(network["orgs"]["de-csirt"], "read"))

    assert client.get(ORGS).status_code == 200
    # Scopes are checked in DRF's initial(), before the method is dispatched: 403, not 405.
    assert_error(client.post(ORGS, {}, content_type="application/json"), 403, says="'write' scope")


def test_write_token_gets_405_not_403_on_a_read_only_endpoint(network, token_for, bearer):
    client = bearer(token_for(network["orgs"]["de-csirt"], "read,write"))

    assert_error(client.post(ORGS, {}, content_type="application/json"), 405, code="method_not_allowed")


def test_write_only_token_gets_403_on_get(network, token_for, bearer):
    client = bearer(token_for(network["orgs"]["de-csirt"], "write"))

    assert_error(client.get(ORGS), 403, code="permission_denied", says="'read' scope")


def test_expired_token_gets_401_saying_expired(network, token_for, bearer):
    client = bearer(token_for(network["orgs"]["de-csirt"], "read", days=1))

    with freeze_time(timezone.now() + timedelta(days=1, seconds=1)):
        response = client.get(ORGS)

    assert_error(response, 401, code="authentication_failed", says="expired")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_gets_401_with_json_error(network, token_for, bearer):
    raw = token_for(network["orgs"]["de-csirt"], "read")
    client = bearer(raw)
    assert client.get(ORGS).status_code == 200

    services.revoke_api_token(actor=network["people"]["de_admin"], token=_token_row(raw))

    response = client.get(ORGS)
    assert_error(response, 401, says="revoked")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_using_a_token_records_when_it_was_last_used(network, token_for, bearer):
    raw = token_for(network["orgs"]["de-csirt"], "read")
    assert _token_row(raw).last_used_at is None

    bearer(raw).get(ORGS)

    token = _token_row(raw)
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)
    assert token.last_used_ip == "127.0.0.1"


@pytest.mark.parametrize(
    "header, says",
    [
        ("Bearer", "Malformed Authorization header"),
        ("Bearer a b", "Malformed Authorization header"),
        ("Bearer not-a-token", "Malformed token"),
        ("Bearer csoa_abc_def", "Malformed token"),
        ("Bearer csoa_abcdefghijkl_" + "A" * 43, "Invalid token"),
    ],
)
def test_malformed_or_unknown_token_gets_401(network, client, header, says):
    response = client.get(ORGS, headers={"Authorization": header})

    assert_error(response, 401, code="authentication_failed", says=says)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_right_prefix_with_wrong_secret_gets_401(network, token_for, bearer):
    raw = token_for(network["orgs"]["de-csirt"], "read")
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")

    assert_error(bearer(forged).get(ORGS), 401, says="Invalid token")


def test_request_without_credentials_gets_401_with_bearer_challenge(network, client):
    response = client.get(ORGS)

    assert_error(response, 401, code="not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_of_an_inactive_organisation_gets_401(network, token_for, bearer):
    de = network["orgs"]["de-csirt"]
    raw = token_for(de, "read")
    services.update_organisation(
        actor=None, organisation=de, name=de.name, kind=de.kind, member_state=de.member_state, is_active=False
    )

    assert_error(bearer(raw).get(ORGS), 401, says="inactive")


def test_token_creation_and_revocation_are_audited(network):
    admin = network["people"]["de_admin"]
    token, _ = services.issue_api_token(
        actor=admin, organisation=network["orgs"]["de-csirt"], name="SIEM", scopes="read", days=7
    )
    services.revoke_api_token(actor=admin, token=token)

    entries = AuditEntry.objects.filter(object_type="csoa_portal.apitoken", object_id=str(token.pk))
    assert {e.action for e in entries} == {"token.created", "token.revoked"}
    assert all(e.actor_email == admin.email and e.organisation_code == "de-csirt" for e in entries)


def test_token_scopes_days_and_name_are_validated(network):
    de = network["orgs"]["de-csirt"]
    before = ApiToken.objects.count()
    for kwargs in ({"scopes": "admin"}, {"scopes": ""}, {"days": 0}, {"days": tokens.MAX_DAYS + 1}, {"name": " "}):
        arguments = {"name": "SIEM", "scopes": "read", "days": 7, **kwargs}
        with pytest.raises(ValidationError) as excinfo:
            services.issue_api_token(actor=None, organisation=de, **arguments)
        assert next(iter(kwargs)) in excinfo.value.message_dict
    assert ApiToken.objects.count() == before


@pytest.mark.parametrize("code", ["de-csirt", "enisa"])
def test_authenticating_loads_the_token_with_its_principal_organisation_and_member_state(
        network, token_for, code, django_assert_num_queries):
    """The lookup is one query (hand-built for speed): what it loads must be exactly what the ORM reads."""
    raw = token_for(network["orgs"][code], "read")
    stored = ApiToken.objects.select_related("principal", "organisation__member_state").get(prefix=raw.split("_")[1])
    tokens.authenticate(raw)  # records the last use: the next call reads the row as stored

    with django_assert_num_queries(1):
        token = tokens.authenticate(raw)
        loaded = [token, token.principal, token.organisation, token.organisation.member_state]
    expected = [stored, stored.principal, stored.organisation, stored.organisation.member_state]
    stored.refresh_from_db()
    expected[0] = stored
    for got, want in zip(loaded, expected):
        if want is None:
            assert got is None
            continue
        assert type(got) is type(want)
        assert {f.attname: getattr(got, f.attname) for f in got._meta.concrete_fields} == {
            f.attname: getattr(want, f.attname) for f in want._meta.concrete_fields}
        assert got._state.adding is False and got._state.db == "default"


def test_the_lookup_tells_whether_the_principal_still_acts_for_the_token_organisation(network, token_for, bearer):
    """Reporting trusts the lookup's membership fact: once the tool's membership is gone, it reports nothing."""
    from liaison.models import Membership

    de = network["orgs"]["de-csirt"]
    raw = token_for(de)
    token = tokens.authenticate(raw)
    assert tokens.acts_for_token_organisation(token.principal, de.pk)
    assert not tokens.acts_for_token_organisation(token.principal, network["orgs"]["fr-csirt"].pk)

    Membership.objects.filter(user=token.principal, organisation=de).delete()
    token = tokens.authenticate(raw)
    assert not tokens.acts_for_token_organisation(token.principal, de.pk)
    body = {"title": "Ransomware at a hospital", "aware_at": "2026-11-23T06:00:00Z", "tlp": "amber"}
    response = bearer(raw).post("/api/v1/incidents/", body, content_type="application/json")
    assert response.status_code == 403, response.content
    assert not Incident.objects.filter(title="Ransomware at a hospital").exists()
