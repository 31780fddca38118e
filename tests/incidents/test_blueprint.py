"""The Blueprint as data: versions, validation before activation, the API, declarations over the API."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from csoa_portal.models import AuditEntry
from incidents import services
from incidents.models import Blueprint
from incidents.selectors import active_blueprint


def test_the_default_blueprint_is_installed_and_served(network, token_for):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['pt-csirt'], 'read')}")
    body = client.get("/api/v1/blueprint/").json()
    assert body["version"] == 2  # version 1 as installed, corrected by migration 0009 (bodies in charge)
    assert [(lv["number"], lv["network"]) for lv in body["levels"]] == [
        (0, "national"), (1, "csirts_network"), (2, "eu_cyclone"), (3, "ipcr")]
    large_scale = next(r for r in body["rules"] if r["code"] == "l2-large-scale")
    assert large_scale["conditions"] == [{"fact": "affected_member_states", "op": ">=", "value": 2},
                                         {"fact": "severity", "op": ">=", "value": "high"}]


def test_a_new_version_is_validated_before_it_can_be_activated(network):
    admin = network["people"]["enisa_admin"]
    draft = services.draft_blueprint(actor=admin, based_on=active_blueprint(), title="v2")
    rule = draft.rules.get(code="l2-large-scale")
    rule.conditions = [{"fact": "affected_member_states", "op": ">=", "value": 0}, {"fact": "mood", "op": "is", "value": True}]
    rule.save()
    draft.rules.filter(target_level=3).delete()
    level = draft.levels.get(number=2)
    level.alerted_groups = ["community:nobody"]
    level.save()
    with pytest.raises(ValidationError) as excinfo:
        services.activate_blueprint(actor=admin, blueprint=draft)
    errors = " | ".join(excinfo.value.message_dict["blueprint"])
    for expected in ["threshold 0 is out of range", "unknown fact 'mood'", "Level 3 cannot be reached",
                     "unknown group 'community:nobody'"]:
        assert expected in errors
    assert active_blueprint().version == 2


def test_activating_a_valid_version_replaces_the_active_one_and_is_audited(network):
    admin = network["people"]["enisa_admin"]
    draft = services.draft_blueprint(actor=admin, based_on=active_blueprint())
    rule = draft.rules.get(code="l1-two-member-states")
    rule.conditions = [{"fact": "affected_member_states", "op": ">=", "value": 3}]
    rule.save()
    services.activate_blueprint(actor=admin, blueprint=draft)
    assert list(Blueprint.objects.filter(is_active=True).values_list("version", flat=True)) == [draft.version]
    assert AuditEntry.objects.filter(action="blueprint.activated", object_id=str(draft.pk)).exists()


@pytest.mark.django_db(transaction=True)
def test_declaring_and_deescalating_over_the_api(network, token_for):
    de_tool = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-csirt'])}")
    created = de_tool.post("/api/v1/incidents/", json.dumps({
        "title": "Grid", "aware_at": "2026-01-01T00:00:00Z", "national_capacity_exceeded": True,
    }), content_type="application/json").json()
    url = f"/api/v1/incidents/{created['id']}/"
    # The engine looks at the incident once its report is committed (here in-process, in production a worker).
    assert de_tool.get(url).json()["crisis_level"] == 2
    refused = de_tool.post(url + "declare/", {"level": 3, "reason": "x"}, content_type="application/json")
    assert refused.status_code == 403 and "may declare level 3" in refused.json()["error"]["message"]
    no_reason = de_tool.post(url + "deescalate/", {"level": 1, "reason": ""}, content_type="application/json")
    assert no_reason.status_code == 400
    history = de_tool.get(url + "escalations/").json()["results"]
    assert [(h["from_level"], h["to_level"], h["by_engine"]) for h in history] == [(0, 2, True)]
    other = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['pt-csirt'])}")
    assert other.get(url + "escalations/").status_code == 404
    assert other.post(url + "declare/", {"level": 3, "reason": "x"}, content_type="application/json").status_code == 404


def test_only_enisa_administrators_maintain_the_blueprint(network):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied, match="ENISA's administrators"):
        services.draft_blueprint(actor=network["people"]["de_analyst"], based_on=active_blueprint())
    draft = services.draft_blueprint(actor=network["people"]["enisa_admin"], based_on=active_blueprint())
    with pytest.raises(PermissionDenied):
        services.activate_blueprint(actor=network["people"]["enisa_triage"], blueprint=draft)


def test_blueprint_page_explains_levels_and_rules_and_lets_enisa_activate_a_valid_draft(network, login):
    page = login(network["people"]["pt_analyst"]).get("/incidents/blueprint/").content.decode()
    assert "2 — large-scale cybersecurity incident" in page and "l2-large-scale" in page
    assert "affected member states ≥ 2" in page and "Maintain the Blueprint" not in page
    refused = login(network["people"]["pt_analyst"]).post("/incidents/blueprint/draft/")
    assert refused.status_code == 403 and "Only ENISA&#x27;s administrators maintain the Blueprint." in refused.content.decode()
    enisa = login(network["people"]["enisa_admin"])
    assert enisa.post("/incidents/blueprint/draft/").status_code == 302
    draft = Blueprint.objects.get(version=3)
    assert "Draft version 3" in enisa.get("/incidents/blueprint/").content.decode()
    assert enisa.post(f"/incidents/blueprint/{draft.pk}/activate/").status_code == 302
    assert active_blueprint().version == 3
