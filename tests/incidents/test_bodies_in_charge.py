"""The Blueprint's bodies in charge, as the 2025 Blueprint and NIS2 Art. 16 say (issue 13).

Table tests named for the rule: who declares and lowers each level (the Council Presidency
alone for the political level), proposals shown to the Presidency, the IPCR modes, a
de-escalation that holds, cumulative alerts and the corrected default rules, shipped as
Blueprint version 2 by a migration that finds version 1 active.
"""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from csoa_portal.models import AuditEntry
from incidents import escalation, policy, services
from incidents.blueprint_defaults import LEVELS, RULES, v2_levels, v2_rules
from incidents.models import Alert, Incident, LevelProposal
from incidents.selectors import active_blueprint
from liaison import services as liaison_services
from liaison.models import CouncilPresidency, Event
from liaison.selectors import events_visible_to, inbox_for
from tests import factories as f
from tests.factories import member_state, presidency

pytestmark = pytest.mark.django_db


@pytest.fixture
def crisis_network(network):
    """The test network plus crisis authorities of France and Ireland, and a CSIRT of Ireland."""
    orgs, people = dict(network["orgs"]), dict(network["people"])
    orgs["fr-authority"] = f.organisation("fr-authority", "crisis_authority", "FR", "ANSSI crisis")
    orgs["ie-authority"] = f.organisation("ie-authority", "crisis_authority", "IE", "NCSC Ireland crisis")
    orgs["ie-csirt"] = f.organisation("ie-csirt", "national_csirt", "IE", "CSIRT-IE")
    people["fr_liaison"] = f.person("liaison@fr-authority.example", orgs["fr-authority"], ["liaison_officer"])
    people["ie_liaison"] = f.person("liaison@ie-authority.example", orgs["ie-authority"], ["liaison_officer"])
    people["ie_analyst"] = f.person("analyst@ie-csirt.example", orgs["ie-csirt"], ["analyst"])
    people["de_authority_analyst"] = f.person("analyst@de-authority.example", orgs["de-authority"], ["analyst"])
    people["enisa_liaison"] = f.person("liaison@enisa.example", orgs["enisa"], ["liaison_officer"])
    people["ec_liaison"] = f.person("liaison@ec.example", orgs["ec"], ["liaison_officer"])
    presidency("IE")
    return {"orgs": orgs, "people": people}


def _incident(net, *, tlp="amber", level=None, **facts):
    incident = services.report_incident(
        actor=net["people"]["de_analyst"], organisation=net["orgs"]["de-csirt"], title="Grid control encrypted",
        aware_at=timezone.now() - timedelta(hours=1), tlp=tlp, **facts)
    services.evaluate_incident(incident_id=incident.pk)
    incident.refresh_from_db()
    if level is not None:
        Incident.objects.filter(pk=incident.pk).update(crisis_level=level)
        incident.refresh_from_db()
    return incident


# --- Who declares and lowers each level (Blueprint 2025, levels of cooperation; NIS2 Art. 16) ------------------

DECLARE_TABLE = [
    # (person, level, may declare) — the reporting state is Germany, the Presidency Ireland.
    ("de_analyst", 1, True),             # the reporting state's CSIRT
    ("de_liaison", 1, True),             # the reporting state's crisis authority
    ("fr_analyst", 1, False),            # another state's CSIRT
    ("enisa_liaison", 1, False),
    ("de_liaison", 2, True),             # the reporting state's crisis authority
    ("ie_liaison", 2, True),             # the EU-CyCLONe chair: the Presidency's crisis authority
    ("de_analyst", 2, False),            # the CSIRT is the technical level
    ("de_authority_analyst", 2, False),  # the right body, not a role that declares
    ("fr_liaison", 2, False),            # any one member of EU-CyCLONe is not the body in charge
    ("enisa_liaison", 2, False),
    ("ie_liaison", 3, True),             # the Council Presidency alone activates IPCR
    ("ie_analyst", 3, False),            # the Presidency's CSIRT is not its crisis authority
    ("de_liaison", 3, False),            # the reporting state, not holding the Presidency
    ("fr_liaison", 3, False),
    ("enisa_liaison", 3, False),
    ("ec_liaison", 3, False),
]


@pytest.mark.parametrize("who, number, allowed", DECLARE_TABLE)
def test_blueprint_bodies_in_charge_declare_each_level(crisis_network, who, number, allowed):
    incident = _incident(crisis_network)
    level = active_blueprint().levels.get(number=number)
    assert policy.may_declare_level(crisis_network["people"][who], incident, level) is allowed


@pytest.mark.parametrize("who, number, allowed", DECLARE_TABLE)
def test_blueprint_de_escalation_needs_the_same_body(crisis_network, who, number, allowed):
    incident = _incident(crisis_network, level=number)
    assert policy.may_deescalate(crisis_network["people"][who], incident) is allowed


def test_only_the_council_presidency_declares_level_3_and_the_refusal_names_the_rule(crisis_network):
    incident = _incident(crisis_network, level=2)
    with pytest.raises(PermissionDenied) as refused:
        services.declare_level(actor=crisis_network["people"]["de_liaison"], incident=incident, level=3,
                               reason="Grid down in two states")
    message = str(refused.value)
    assert "Only the Council Presidency" in message and "IPCR" in message and "Blueprint" in message
    incident.refresh_from_db()
    assert incident.crisis_level == 2 and not incident.escalations.filter(to_level=3).exists()
    record = services.declare_level(actor=crisis_network["people"]["ie_liaison"], incident=incident, level=3,
                                    reason="Council informed", ipcr_mode="information_sharing")
    incident.refresh_from_db()
    assert (incident.crisis_level, incident.ipcr_mode, record.by_engine) == (3, "information_sharing", False)
    with pytest.raises(PermissionDenied, match="may lower level 3"):
        services.deescalate(actor=crisis_network["people"]["de_liaison"], incident=incident, level=2, reason="Calm")
    services.deescalate(actor=crisis_network["people"]["ie_liaison"], incident=incident, level=2,
                        reason="IPCR deactivated")
    incident.refresh_from_db()
    assert (incident.crisis_level, incident.ipcr_mode) == (2, "")  # the mode belongs to the political level


def test_the_presidency_is_data_enisa_keeps_current(crisis_network):
    incident = _incident(crisis_network, level=2)
    level_3 = active_blueprint().levels.get(number=3)
    assert policy.may_declare_level(crisis_network["people"]["ie_liaison"], incident, level_3)
    presidency("FR")
    assert not policy.may_declare_level(crisis_network["people"]["ie_liaison"], incident, level_3)
    assert policy.may_declare_level(crisis_network["people"]["fr_liaison"], incident, level_3)
    assert AuditEntry.objects.filter(action="council_presidency.updated").exists()
    # No Presidency recorded for today: nobody may activate the political level.
    CouncilPresidency.objects.filter(starts_on__lte=timezone.now().date(), ends_on__gte=timezone.now().date()).delete()
    assert not policy.may_declare_level(crisis_network["people"]["fr_liaison"], incident, level_3)


def test_a_presidency_must_not_overlap_and_belongs_to_an_eu_member_state(crisis_network):
    current = CouncilPresidency.objects.get(starts_on__lte=timezone.now().date(), ends_on__gte=timezone.now().date())
    overlapping = CouncilPresidency(member_state=member_state("PT"), starts_on=current.starts_on + timedelta(days=1),
                                    ends_on=current.ends_on + timedelta(days=30))
    with pytest.raises(ValidationError, match="cannot overlap"):
        liaison_services.save_presidency(actor=crisis_network["people"]["enisa_admin"], presidency=overlapping)
    third = CouncilPresidency(member_state=member_state("NO"), starts_on=timezone.now().date() + timedelta(days=4000),
                              ends_on=timezone.now().date() + timedelta(days=4100))
    with pytest.raises(ValidationError, match="Only an EU member state"):
        liaison_services.save_presidency(actor=crisis_network["people"]["enisa_admin"], presidency=third)
    assert not CouncilPresidency.objects.filter(member_state__code__in=["PT", "NO"]).exists()


def test_declaring_over_the_api_names_the_rule_and_changes_nothing(crisis_network, token_for, login):
    incident = _incident(crisis_network, level=2)
    services.share_incident(actor=crisis_network["people"]["de_analyst"], incident=incident,
                            organisations=[crisis_network["orgs"]["de-authority"], crisis_network["orgs"]["ie-authority"]])
    de = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(crisis_network['orgs']['de-authority'])}")
    url = f"/api/v1/incidents/{incident.pk}/"
    refused = de.post(url + "declare/", {"level": 3, "reason": "x"}, content_type="application/json")
    assert refused.status_code == 403 and "Council Presidency" in refused.json()["error"]["message"]
    # A level is a person's decision: the Presidency's liaison officer, in a browser session (tokens act as tooling).
    ie_tool = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(crisis_network['orgs']['ie-authority'])}")
    assert ie_tool.post(url + "declare/", {"level": 3, "reason": "x"}, content_type="application/json"
                        ).status_code == 403
    ie = login(crisis_network["people"]["ie_liaison"])
    bad_mode = ie.post(url + "declare/", {"level": 3, "reason": "x", "ipcr_mode": "panic"},
                       content_type="application/json")
    assert bad_mode.status_code == 400 and "ipcr_mode" in bad_mode.json()["error"]["fields"]
    incident.refresh_from_db()
    assert incident.crisis_level == 2
    done = ie.post(url + "declare/", {"level": 3, "reason": "Council informed"}, content_type="application/json")
    assert done.status_code == 201
    detail = ie.get(url).json()
    assert (detail["crisis_level"], detail["ipcr_mode"]) == (3, "monitoring")


# --- Proposals: EU-CyCLONe and the engine propose the political level to the Presidency ----------------------


def test_the_engine_proposes_level_3_to_the_presidency_with_reference_and_reasons_only(
        crisis_network, token_for, login, django_capture_on_commit_callbacks, mailoutbox):
    states = [member_state(c) for c in ("DE", "FR", "PT", "AT", "BE", "NL")]
    with django_capture_on_commit_callbacks(execute=True):
        incident = _incident(crisis_network, tlp="red", affected_member_states=states, severity="critical")
    assert incident.crisis_level == 2  # the engine never activates the political level itself
    (proposal,) = LevelProposal.objects.filter(incident=incident)
    assert (proposal.level, proposal.state, proposal.by_engine) == (3, "open", True)
    assert "6 member states hit at critical severity" in proposal.explanation
    assert AuditEntry.objects.filter(action="incident.level_proposed", object_id=str(incident.pk)).exists()

    ie_events, _ = events_visible_to(crisis_network["people"]["ie_liaison"], after=0, limit=1000)
    (opened,) = [e for e in ie_events if e.kind == "level_proposal.opened"]
    assert opened.payload["reference"] == incident.reference and "title" not in opened.payload  # TLP:RED
    fr_events, _ = events_visible_to(crisis_network["people"]["fr_liaison"], after=0, limit=1000)
    assert not [e for e in fr_events if e.kind == "level_proposal.opened"]  # only those who decide
    inbox, _ = inbox_for(crisis_network["people"]["ie_liaison"])
    assert [e.payload["reference"] for e in inbox if e.kind == "level_proposal.opened"] == [incident.reference]
    (mail,) = [m for m in mailoutbox if m.to == ["liaison@ie-authority.example"] and "proposed" in m.subject]
    assert incident.reference in mail.subject and incident.title not in mail.subject + mail.body

    ie = login(crisis_network["people"]["ie_liaison"])
    listed = ie.get("/api/v1/level-proposals/")
    assert listed.status_code == 200 and incident.title not in listed.content.decode()
    de_tool = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(crisis_network['orgs']['fr-authority'])}")
    assert de_tool.post(f"/api/v1/level-proposals/{proposal.pk}/accept/", {"reason": "x"},
                        content_type="application/json").status_code == 404  # neither decides nor sees it
    accepted = ie.post(f"/api/v1/level-proposals/{proposal.pk}/accept/",
                       {"reason": "IPCR activated", "ipcr_mode": "full_activation"}, content_type="application/json")
    assert accepted.status_code == 201, accepted.content
    incident.refresh_from_db()
    proposal.refresh_from_db()
    assert (incident.crisis_level, incident.ipcr_mode, proposal.state) == (3, "full_activation", "accepted")


def test_a_declined_proposal_returns_only_on_new_facts(crisis_network):
    states = [member_state(c) for c in ("DE", "FR", "PT", "AT", "BE", "NL")]
    incident = _incident(crisis_network, affected_member_states=states, severity="critical")
    proposal = LevelProposal.objects.get(incident=incident)
    with pytest.raises(PermissionDenied):
        services.decline_proposal(actor=crisis_network["people"]["fr_liaison"], proposal=proposal, reason="No")
    with pytest.raises(ValidationError, match="Say why"):
        services.decline_proposal(actor=crisis_network["people"]["ie_liaison"], proposal=proposal, reason=" ")
    services.decline_proposal(actor=crisis_network["people"]["ie_liaison"], proposal=proposal,
                              reason="Handled at the operational level")
    services.add_timeline_entry(actor=crisis_network["people"]["de_analyst"], incident=incident, text="Still bad")
    assert LevelProposal.objects.filter(incident=incident).count() == 1  # a note is no new fact
    services.update_incident(actor=crisis_network["people"]["de_analyst"], incident=incident,
                             affected_member_states=[*states, member_state("IE")])
    services.evaluate_incident(incident_id=incident.pk)
    latest = LevelProposal.objects.filter(incident=incident).first()
    assert latest.state == "open" and "7 member states hit at critical severity" in latest.explanation


def test_eu_cyclone_proposes_and_only_the_presidency_decides(crisis_network, login):
    incident = _incident(crisis_network, tlp="green", national_capacity_exceeded=True)
    assert incident.crisis_level == 2  # GREEN: shared with the alerted networks at once
    level_3 = active_blueprint().levels.get(number=3)
    assert policy.may_propose_level(crisis_network["people"]["fr_liaison"], incident, level_3)
    assert not policy.may_propose_level(crisis_network["people"]["fr_analyst"], incident, level_3)
    assert not policy.may_propose_level(crisis_network["people"]["ie_liaison"], incident, level_3)  # declares instead
    with pytest.raises(PermissionDenied, match="may propose level 3"):
        services.propose_level(actor=crisis_network["people"]["fr_analyst"], incident=incident, level=3, reason="x")
    fr = login(crisis_network["people"]["fr_liaison"])
    assert "Propose a level" in fr.get(f"/incidents/{incident.pk}/").content.decode()
    assert fr.post(f"/incidents/{incident.pk}/propose/", {"level": 3, "reason": "Coordinated attack on grids"}
                   ).status_code == 302
    proposal = LevelProposal.objects.get(incident=incident, state="open")
    assert proposal.proposed_by == crisis_network["people"]["fr_liaison"] and not proposal.by_engine
    page = fr.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Waiting for the Council Presidency" in page and "Declare level 3" not in page
    again = fr.post(f"/incidents/{incident.pk}/propose/", {"level": 3, "reason": "Again"})
    assert again.status_code == 400 and "already proposed" in again.content.decode()

    ie = login(crisis_network["people"]["ie_liaison"])
    board = ie.get("/incidents/board/").content.decode()
    assert "Levels proposed for your decision" in board and "Coordinated attack on grids" in board
    done = ie.post(f"/incidents/proposals/{proposal.pk}/accept/", {"reason": "IPCR activated",
                                                                   "next": "/incidents/board/"})
    assert done.status_code == 302
    incident.refresh_from_db()
    assert incident.crisis_level == 3
    assert "IPCR: Monitoring" in ie.get("/incidents/board/").content.decode()


# --- IPCR modes: set by the Presidency, audited, with their own situation-update interval ---------------------


def test_the_presidency_sets_the_ipcr_mode_which_sets_the_situation_update_interval(crisis_network, login):
    incident = _incident(crisis_network, tlp="green", level=2)
    services.declare_level(actor=crisis_network["people"]["ie_liaison"], incident=incident, level=3, reason="IPCR")
    incident.refresh_from_db()
    level_3 = active_blueprint().levels.get(number=3)
    since = timezone.now()
    assert policy.situation_update_due(since_times=(since,), level=level_3, mode=incident.ipcr_mode) == \
        since + timedelta(hours=24)  # monitoring
    fr = login(crisis_network["people"]["fr_liaison"])
    url = f"/api/v1/incidents/{incident.pk}/ipcr-mode/"
    refused = fr.post(url, {"ipcr_mode": "full_activation"}, content_type="application/json")
    assert refused.status_code == 403 and "Council Presidency" in refused.json()["error"]["message"]
    ie = login(crisis_network["people"]["ie_liaison"])
    unknown = ie.post(url, {"ipcr_mode": "panic"}, content_type="application/json")
    assert unknown.status_code == 400 and "monitoring, information_sharing, full_activation" in unknown.content.decode()
    done = ie.post(url, {"ipcr_mode": "full_activation", "reason": "Escalating"}, content_type="application/json")
    assert done.status_code == 200 and done.json()["ipcr_mode"] == "full_activation"
    incident.refresh_from_db()
    assert policy.situation_update_due(since_times=(since,), level=level_3, mode=incident.ipcr_mode) == \
        since + timedelta(hours=6)
    entry = AuditEntry.objects.get(action="incident.ipcr_mode_changed")
    assert (entry.before, entry.after["ipcr_mode"]) == ({"ipcr_mode": "monitoring"}, "full_activation")
    assert Event.objects.filter(kind="incident.ipcr_mode_changed").exists()


def test_ipcr_modes_apply_only_at_the_political_level(crisis_network):
    incident = _incident(crisis_network, level=2)
    with pytest.raises(ValidationError, match="only at the political level"):
        services.set_ipcr_mode(actor=crisis_network["people"]["ie_liaison"], incident=incident,
                               ipcr_mode="monitoring")
    incident.refresh_from_db()
    assert incident.ipcr_mode == ""


# --- Levels are cumulative: 0 → 2 alerts the technical level too -------------------------------------------


def test_escalating_0_to_2_alerts_the_csirts_network_as_well_as_eu_cyclone(crisis_network):
    incident = _incident(crisis_network, national_capacity_exceeded=True)
    assert incident.crisis_level == 2
    levels = dict(Alert.objects.filter(incident=incident).values_list("organisation__code", "level"))
    assert levels["fr-csirt"] == 1 and levels["pt-csirt"] == 1 and levels["ie-csirt"] == 1  # CSIRTs Network
    assert levels["fr-authority"] == 2 and levels["ie-authority"] == 2 and levels["enisa"] == 2  # EU-CyCLONe
    assert "de-csirt" not in levels  # not the originator


# --- The default rules as DOMAIN.md states them (NIS2 Art. 6(7), CSoA Art. 14(1), 15(1)) ---------------------

V2 = escalation.spec_from_data(2, v2_levels(LEVELS), v2_rules(RULES))
BASE = {"affected_member_states": 1, "critical_member_states": 0, "severity": "medium",
        "high_criticality_sector": False, "cross_border_impact": False, "national_capacity_exceeded": False,
        "technical_cooperation_requested": False, "reserve_requested": False, "reserve_approved": False,
        "hours_without_update": 0, "declared_level": 0}
DEFAULT_RULES_TABLE = [
    ("CSoA Art. 14(1): a Reserve request alone is not large-scale", {"reserve_requested": True}, 0),
    ("subsidiarity: high criticality at high, purely national", {"high_criticality_sector": True, "severity": "high"}, 0),
    ("high criticality at high with cross-border impact",
     {"high_criticality_sector": True, "severity": "high", "cross_border_impact": True}, 1),
    ("the reporter asks for technical cooperation", {"technical_cooperation_requested": True}, 1),
    ("NIS2 Art. 6(7): two member states at high", {"affected_member_states": 2, "severity": "high"}, 2),
    ("NIS2 Art. 6(7): national capacity exceeded", {"national_capacity_exceeded": True}, 2),
    ("the engine never activates IPCR", {"affected_member_states": 9, "critical_member_states": 9,
                                         "severity": "critical"}, 2),
]


@pytest.mark.parametrize("rule, facts, level", DEFAULT_RULES_TABLE, ids=[r[0] for r in DEFAULT_RULES_TABLE])
def test_default_rules_of_blueprint_v2(rule, facts, level):
    assert escalation.evaluate({**BASE, **facts}, V2).level == level


def test_a_de_escalation_holds_against_notes_and_yields_to_new_facts_that_match_a_rule():
    held = {**BASE, "affected_member_states": 2, "severity": "high"}
    assert escalation.evaluate(held, V2, held=held).level == 0  # nothing new
    assert escalation.evaluate({**held, "hours_without_update": 30}, V2, held=held).level == 0  # time is no fact
    more = escalation.evaluate({**held, "affected_member_states": 3}, V2, held=held)
    assert more.level == 2 and "New facts since the de-escalation: 2 → 3 member states affected" in more.explanation
    capacity = escalation.evaluate({**held, "national_capacity_exceeded": True}, V2, held=held)
    assert capacity.level == 2 and "national capacity to respond exceeded" in capacity.explanation.split("New facts")[1]


def test_technical_cooperation_is_set_in_the_form_and_the_api_and_fires_its_rule(network, login, token_for):
    tool = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-csirt'])}")
    created = tool.post("/api/v1/incidents/", json.dumps({
        "title": "Odd beacons", "aware_at": "2026-01-01T00:00:00Z", "technical_cooperation_requested": True,
    }), content_type="application/json").json()
    services.evaluate_incident(incident_id=created["id"])  # what the commit's dispatch does
    detail = tool.get(f"/api/v1/incidents/{created['id']}/").json()
    assert detail["technical_cooperation_requested"] is True and detail["crisis_level"] == 1
    page = login(network["people"]["de_analyst"]).get("/incidents/new/").content.decode()
    assert 'name="technical_cooperation_requested"' in page


@pytest.mark.django_db(transaction=True)
def test_the_blueprint_v2_migration_on_a_database_with_v1_active(vocabularies):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([("incidents", "0008_nis2_art23")])
        old = MigrationExecutor(connection).loader.project_state([("incidents", "0008_nis2_art23")]).apps
        OldBlueprint = old.get_model("incidents", "Blueprint")
        OldBlueprint.objects.all().delete()
        importlib_forwards("incidents.migrations.0005_default_blueprint", old)
        assert list(OldBlueprint.objects.filter(is_active=True).values_list("version", flat=True)) == [1]
        executor = MigrationExecutor(connection)
        executor.migrate([("incidents", "0009_blueprint_v2_bodies_in_charge")])
    finally:
        MigrationExecutor(connection).migrate(latest)
    active = active_blueprint()
    assert active.version == 2 and list(active.levels.get(number=3).declare_bodies) == ["council_presidency"]
    assert [m["code"] for m in active.levels.get(number=3).modes] == ["monitoring", "information_sharing",
                                                                      "full_activation"]
    codes = set(active.rules.values_list("code", flat=True))
    assert "l2-reserve-requested" not in codes and "l1-critical-sector" in codes
    critical = active.rules.get(code="l1-critical-sector")
    assert {"fact": "cross_border_impact", "op": "is", "value": True} in critical.conditions
    entry = AuditEntry.objects.filter(action="blueprint.activated", object_id=str(active.pk)).get()
    assert entry.before == {"active_version": 1} and entry.after["by"] == "migration incidents.0009"


def importlib_forwards(module: str, apps) -> None:
    import importlib

    importlib.import_module(module).forwards(apps, None)


def test_the_blueprint_page_names_the_bodies_in_charge_and_todays_presidency(crisis_network, login):
    page = login(crisis_network["people"]["pt_analyst"]).get("/incidents/blueprint/").content.decode()
    assert "Council Presidency today: <strong>Ireland</strong>" in page
    row = page[page.index("3 — cyber crisis"):]
    assert "the Council Presidency" in row[:2000] and "Proposed by EU-CyCLONe" in row[:2000]
    assert "Information sharing (update every 720 min)" in row[:2000]


def test_the_proposal_email_to_those_who_decide_carries_no_reasons_only_the_reference_and_the_board(
        crisis_network, django_capture_on_commit_callbacks):
    """E-mail leaves the portal: the proposer's words (the incident's facts, perhaps) stay on the board."""
    from django.core import mail

    incident = _incident(crisis_network, tlp="green", national_capacity_exceeded=True)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the outbox sends once the proposal commits
        services.propose_level(actor=crisis_network["people"]["fr_liaison"], incident=incident, level=3,
                               reason="Wiper found at the grid operator's SCADA vendor")

    asked = [m for m in mail.outbox if "your decision" in m.subject]
    assert asked and crisis_network["people"]["ie_liaison"].email in {a for m in asked for a in m.to}
    for message in asked:
        assert incident.reference in message.subject and "/incidents/board/#proposals" in message.body
        assert "Wiper" not in message.body and "SCADA" not in message.body
