"""Applying the Blueprint: automatic escalation after a committed change, once; human decisions."""

import json
import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import F
from django.test import Client
from django.utils import timezone

from csoa_portal.models import AuditEntry
from csoa_portal.sweep import run_sweep
from incidents import services
from incidents.models import Escalation, Incident
from liaison.models import Event
from tests.factories import member_state, presidency

pytestmark = pytest.mark.django_db(transaction=True)


def _report(network, **kwargs):
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    title="Grid operator ransomware", aware_at=timezone.now() - timedelta(hours=1),
                                    tlp="amber", **kwargs)


def test_an_api_update_crossing_a_threshold_escalates_without_calling_the_task(network, token_for):
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-csirt'])}")
    created = client.post("/api/v1/incidents/", json.dumps({
        "title": "Wiper", "aware_at": "2026-01-01T00:00:00Z", "severity": "high", "affected_member_states": ["DE"],
    }), content_type="application/json").json()
    assert created["crisis_level"] == 0
    response = client.patch(f"/api/v1/incidents/{created['id']}/", json.dumps({"affected_member_states": ["DE", "FR", "AT"]}),
                            content_type="application/json")
    assert response.status_code == 200
    detail = client.get(f"/api/v1/incidents/{created['id']}/")
    assert detail.json()["crisis_level"] == 2
    escalation = Escalation.objects.get(incident_id=created["id"])
    assert (escalation.from_level, escalation.to_level, escalation.by_engine) == (0, 2, True)
    assert escalation.rules == ["l2-large-scale"]
    assert "3 member states affected (rule: ≥ 2) and severity high (rule: ≥ high)" in escalation.explanation
    assert Event.objects.filter(kind="incident.escalated", subject_id=str(created["id"])).count() == 1
    assert AuditEntry.objects.filter(action="incident.escalated", object_id=str(created["id"])).count() == 1
    # v1 created, v2 updated, v3 escalated: the level is part of the representation, so the ETag moves.
    assert detail["ETag"] == '"v3"' 


def test_evaluating_twice_escalates_once(network):
    incident = _report(network, national_capacity_exceeded=True)
    services.evaluate_incident(incident_id=incident.pk)
    services.evaluate_incident(incident_id=incident.pk)
    assert list(Escalation.objects.filter(incident=incident).values_list("to_level", flat=True)) == [2]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_concurrent_evaluations_of_one_incident_escalate_once(network):
    incident = _report(network)
    Incident.objects.filter(pk=incident.pk).update(national_capacity_exceeded=True, version=99)
    barrier = threading.Barrier(4)
    errors = []

    def evaluate():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            services.evaluate_incident(incident_id=incident.pk)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert Escalation.objects.filter(incident=incident, to_level=2).count() == 1


def test_a_lost_dispatch_is_caught_by_the_sweep(network):
    with mock.patch("incidents.tasks.evaluate_incident.delay", side_effect=ConnectionError("broker down")):
        incident = _report(network, national_capacity_exceeded=True)
    incident.refresh_from_db()
    assert incident.crisis_level == 0 and incident.evaluated_version < incident.version
    run_sweep()
    incident.refresh_from_db()
    assert incident.crisis_level == 2 and incident.evaluated_version == incident.version


def test_one_sweep_drains_a_backlog_larger_than_a_batch(network):
    with mock.patch("incidents.tasks.evaluate_incident.delay", side_effect=ConnectionError("broker down")):
        incidents = [_report(network, national_capacity_exceeded=i % 2 == 0) for i in range(7)]
    assert services.evaluate_pending(batch=3, budget_seconds=60) == 7
    levels = dict(Incident.objects.filter(pk__in=[i.pk for i in incidents]).values_list("pk", "crisis_level"))
    assert [levels[i.pk] for i in incidents] == [2, 0, 2, 0, 2, 0, 2]
    assert not Incident.objects.filter(evaluated_version__lt=F("version")).exists()


def test_a_sweep_stops_at_its_time_budget_and_the_next_one_goes_on(network):
    with mock.patch("incidents.tasks.evaluate_incident.delay", side_effect=ConnectionError("broker down")):
        for _ in range(3):
            _report(network)
    assert services.evaluate_pending(batch=10, budget_seconds=0) == 1
    assert Incident.objects.filter(evaluated_version__lt=F("version")).count() == 2
    assert services.evaluate_pending(batch=10, budget_seconds=60) == 2


def test_declaring_a_cyber_crisis_needs_the_council_presidency_and_a_reason(network):
    incident = _report(network, affected_member_states=[member_state("DE"), member_state("FR")], severity="high")
    incident.refresh_from_db()
    assert incident.crisis_level == 2
    presidency("FR")  # the reporting state's crisis authority is not the Presidency
    with pytest.raises(PermissionDenied, match="Only the Council Presidency .* may declare level 3"):
        services.declare_level(actor=network["people"]["de_liaison"], incident=incident, level=3, reason="Bad")
    presidency("DE")
    with pytest.raises(PermissionDenied, match="may declare level 3"):
        services.declare_level(actor=network["people"]["de_analyst"], incident=incident, level=3, reason="Bad")
    with pytest.raises(ValidationError, match="Say why"):
        services.declare_level(actor=network["people"]["de_liaison"], incident=incident, level=3, reason=" ")
    record = services.declare_level(actor=network["people"]["de_liaison"], incident=incident, level=3,
                                    reason="Cascading outages across the grid")
    incident.refresh_from_db()
    assert (incident.crisis_level, incident.declared_level, record.by_engine) == (3, 3, False)
    assert record.reason == "Cascading outages across the grid"
    assert incident.ipcr_mode == "monitoring"  # the political level starts in the IPCR's first mode


def test_deescalation_is_a_human_decision_that_holds_until_new_facts_match_a_rule(network):
    de_liaison = network["people"]["de_liaison"]
    incident = _report(network, national_capacity_exceeded=True)
    incident.refresh_from_db()
    assert incident.crisis_level == 2
    with pytest.raises(PermissionDenied, match="may lower level 2"):
        services.deescalate(actor=network["people"]["de_analyst"], incident=incident, level=0, reason="Calm")
    with pytest.raises(ValidationError, match="Say why"):
        services.deescalate(actor=de_liaison, incident=incident, level=0, reason="")
    services.deescalate(actor=de_liaison, incident=incident, level=1, reason="Capacity restored with help")
    services.add_timeline_entry(actor=network["people"]["de_analyst"], incident=incident, text="Still recovering")
    services.update_incident(actor=network["people"]["de_analyst"], incident=incident, severity="high")
    incident.refresh_from_db()
    assert incident.crisis_level == 1  # a note and a higher severity alone match no level-2 rule: the decision holds
    services.update_incident(actor=network["people"]["de_analyst"], incident=incident,
                             affected_member_states=[member_state("DE"), member_state("FR")])
    incident.refresh_from_db()
    assert incident.crisis_level == 2  # a second member state at severity high: NIS2 Art. 6(7) again
    last = incident.escalations.last()
    assert "New facts since the de-escalation" in last.explanation and "0 → 2 member states affected" in last.explanation
    assert list(incident.escalations.values_list("from_level", "to_level")) == [(0, 2), (2, 1), (1, 2)]


def test_incident_page_shows_the_level_explanation_history_and_lets_the_body_in_charge_act(network, login):
    incident = _report(network, national_capacity_exceeded=True)
    analyst_page = login(network["people"]["de_analyst"]).get(f"/incidents/{incident.pk}/").content.decode()
    assert "Crisis level: 2 — large-scale cybersecurity incident" in analyst_page
    assert "national capacity to respond exceeded" in analyst_page and "[l2-capacity-exceeded]" not in analyst_page
    assert "Declare a higher level" not in analyst_page and "De-escalate" not in analyst_page
    liaison = login(network["people"]["de_liaison"])
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["de-authority"]])
    page = liaison.get(f"/incidents/{incident.pk}/").content.decode()
    # The reporting state's crisis authority lowers level 2; the political level is the Presidency's (Ireland's).
    assert "Declare a higher level" not in page and "De-escalate" in page
    refused = liaison.post(f"/incidents/{incident.pk}/deescalate/", {"level": 1, "reason": ""})
    assert refused.status_code == 400
    presidency("DE")
    assert "Declare a higher level" in liaison.get(f"/incidents/{incident.pk}/").content.decode()
    done = liaison.post(f"/incidents/{incident.pk}/declare/", {"level": 3, "reason": "Council informed"})
    assert done.status_code == 302
    incident.refresh_from_db()
    assert incident.crisis_level == 3
