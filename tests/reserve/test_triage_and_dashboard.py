"""The triage queue by priority, the Blueprint facts, and the dashboard's aggregations."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.facts import incident_facts
from reserve import policy, selectors, services
from reserve.workflow import RequestStatus
from tests.reserve.factories import content, incident, request_in

pytestmark = pytest.mark.django_db


def _direct(reserve, who, org, *, severity="high", **overrides):
    """A request filed to the contracting authority (CERT-EU directly; a third country through its SPOC)."""
    actor = reserve["people"][who]
    linked = incident(actor, reserve["orgs"][org], severity=severity)
    request = services.create_request(actor=actor, organisation=reserve["orgs"][org], **content([linked], **overrides))
    request = services.submit_request(actor=actor, request=request)
    if request.status == "awaiting_spoc":  # CSoA Art. 19(9): Norway's SPOC forwards it
        request = services.forward_request(actor=reserve["people"]["no_spoc"], request=request)
    return request


def test_the_queue_puts_the_highest_priority_first_with_its_explanation(reserve):
    low = _direct(reserve, "no_analyst", "no-csirt", severity="low", entity_type="other", impact_level="limited",
                  spill_over_risk="low", urgency="routine", affected_entity="Small firm")
    high = _direct(reserve, "cert_eu", "cert-eu", severity="critical", entity_type="euiba", impact_level="critical",
                   spill_over_risk="high", urgency="immediate", affected_entity="An EU agency")
    mid = request_in(RequestStatus.SUBMITTED, reserve)  # essential, severe, high severity, via de-spoc
    request_in(RequestStatus.DRAFT, reserve, affected_entity="Not in the queue")
    request_in(RequestStatus.APPROVED, reserve, affected_entity="Decided already")
    queue = selectors.triage_queue(reserve["people"]["enisa_triage"])
    assert [r.pk for r in queue] == [high.pk, mid.pk, low.pk]
    assert queue[0].priority.score > queue[1].priority.score > queue[2].priority.score
    assert queue[0].priority.explanation().startswith(f"Priority {queue[0].priority.score}/100")
    assert queue[1].response_deadline.due_at == mid.submitted_at + timedelta(hours=48)
    assert [r.pk for r in selectors.triage_queue(reserve["people"]["enisa_triage"], member_state="no")] == [low.pk]
    assert [r.pk for r in selectors.triage_queue(reserve["people"]["enisa_triage"], urgency="immediate")] == [
        high.pk, mid.pk]
    assert selectors.triage_queue(reserve["people"]["provider"]) == []
    assert [r.pk for r in selectors.triage_queue(reserve["people"]["de_analyst"])] == [mid.pk]  # its own only


def test_a_severity_change_of_a_linked_incident_shows_in_the_queue_at_once(reserve):
    from incidents import services as incident_services

    request = request_in(RequestStatus.SUBMITTED, reserve)
    before = selectors.triage_queue(reserve["people"]["enisa_triage"])[0].priority.score
    incident_services.update_incident(actor=reserve["people"]["de_analyst"], incident=reserve["incident"],
                                      severity="critical")
    after = selectors.triage_queue(reserve["people"]["enisa_triage"])[0]
    assert after.pk == request.pk and after.priority.score > before
    assert after.priority.factor("severity").points == 30


def test_the_blueprint_sees_reserve_requested_and_approved(reserve):
    linked = reserve["incident"]
    assert incident_facts(linked, now=timezone.now())["reserve_requested"] is False
    request = request_in(RequestStatus.ASSESSED, reserve)
    facts = incident_facts(linked, now=timezone.now())
    assert facts["reserve_requested"] is True and facts["reserve_approved"] is False
    services.decide_request(actor=reserve["people"]["enisa_decision"], request=request, outcome="approved",
                            reasons="ok")
    assert incident_facts(linked, now=timezone.now())["reserve_approved"] is True


def test_dashboard_counts_by_status_and_member_state_and_the_median_time_to_decision(reserve, freezer):
    p = reserve["people"]
    quick = request_in(RequestStatus.ASSESSED, reserve, affected_entity="Quick")
    slow = request_in(RequestStatus.ASSESSED, reserve, affected_entity="Slow")
    late = request_in(RequestStatus.ASSESSED, reserve, affected_entity="Late")
    request_in(RequestStatus.DRAFT, reserve, affected_entity="Draft")
    _direct(reserve, "cert_eu", "cert-eu")
    start = timezone.now()
    for request, hours in ((quick, 2), (slow, 30), (late, 60)):
        freezer.move_to(start + timedelta(hours=hours))
        services.decide_request(actor=p["enisa_decision"], request=request, outcome="approved", reasons="ok")
    times = selectors.decision_times(p["ec_decision"])
    assert times.decided == 3 and times.within_clock == 2 and times.clock == timedelta(hours=48)
    assert abs(times.median - timedelta(hours=30)) < timedelta(minutes=1)
    assert selectors.requests_by_status(p["enisa_triage"]) == {"approved": 3, "submitted": 1}
    assert selectors.requests_by_status(p["de_analyst"]) == {"approved": 3, "draft": 1}
    assert selectors.requests_per_member_state(p["ec_decision"]) == [
        {"member_state": "DE", "requests": 3}, {"member_state": "EU", "requests": 1}]
    assert policy.capabilities(p["ec_decision"]).dashboard and policy.capabilities(p["enisa_triage"]).dashboard
    assert not policy.capabilities(p["de_analyst"]).dashboard and not policy.capabilities(p["provider"]).dashboard


def test_median_of_an_even_number_of_decisions_is_the_mean_of_the_middle_two(reserve, freezer):
    p = reserve["people"]
    requests = [request_in(RequestStatus.ASSESSED, reserve, affected_entity=f"E{n}") for n in range(2)]
    start = timezone.now()
    for request, hours in zip(requests, (10, 20), strict=True):
        freezer.move_to(start + timedelta(hours=hours))
        services.decide_request(actor=p["enisa_decision"], request=request, outcome="rejected", reasons="no")
    assert abs(selectors.decision_times(p["enisa_triage"]).median - timedelta(hours=15)) < timedelta(minutes=1)
    assert selectors.decision_times(p["provider"]).decided == 0
