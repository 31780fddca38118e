"""Reserve test data built through the real services, so tests exercise what users do.

``provider(...)`` registers a provider with its capacity; ``content(...)`` is a complete
request's content; ``request_in(state, ...)`` drives a request through the workflow to any
state by the roles that may take each step.
"""

from datetime import timedelta

from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Sector
from liaison.models import Organisation
from reserve import services
from reserve.workflow import RequestStatus
from tests import factories


def provider(actor, code: str, ms: str = "DE", *, services_offered=("incident_response", "digital_forensics"),
             languages=("en", "de"), member_states=("DE", "FR", "PT", "EU", "NO"), sectors=("energy",),
             certified=True, certified_from=None, certified_until=None, person_days=100, response_hours=4,
             conflicts=(), staff_email=None):
    """A registered, certified provider with ``person_days`` committed for a year around today."""
    org = factories.organisation(code, "reserve_provider", ms, code.replace("-", " ").title())
    if staff_email:
        factories.person(staff_email, org, ["provider_staff"])
    today = timezone.localdate()
    profile = services.register_provider(
        actor=actor, organisation=org, services=list(services_offered), languages=list(languages),
        member_states=[factories.member_state(m) for m in member_states],
        sectors=list(Sector.objects.filter(code__in=sectors)),
        certification_status="certified" if certified else "pending",
        certified_from=certified_from or (today - timedelta(days=365) if certified else None),
        certified_until=certified_until or (today + timedelta(days=365) if certified else None),
        security_clearances=["EU SECRET (4 staff)"], conflicts_of_interest=list(conflicts),
        response_hours=response_hours,
    )
    services.set_capacity(actor=actor, profile=profile, period_start=today - timedelta(days=30),
                          period_end=today + timedelta(days=335), person_days=person_days)
    return profile


def incident(actor, org: Organisation, **fields):
    return incident_services.report_incident(
        actor=actor, organisation=org, title=fields.pop("title", "Ransomware at a DSO"),
        aware_at=timezone.now() - timedelta(hours=2), tlp=fields.pop("tlp", "amber"),
        severity=fields.pop("severity", "high"), **fields)


def content(incidents, **overrides) -> dict:
    """Everything a request must state (CSoA Art. 15), for a two-week window starting tomorrow."""
    today = timezone.localdate()
    values = {
        "affected_entity": "Stadtwerke Beispiel GmbH", "entity_type": "essential",
        "sector": Sector.objects.get(code="energy.electricity"), "incidents": list(incidents),
        "impact_description": "Grid control systems encrypted; 200,000 households at risk.",
        "impact_level": "severe", "planned_use": "Forensics and recovery of the SCADA network.",
        "services": ["incident_response", "digital_forensics"], "person_days": 20,
        "window_start": today + timedelta(days=1), "window_end": today + timedelta(days=14),
        "mitigation_measures": "Segmented the OT network; national CSIRT on site.", "measures_level": "substantial",
        "measures_confirmed": True, "other_support": "No IR retainer; cyber insurance excludes state actors.",
        "urgency": "immediate", "languages": ["de", "en"], "spill_over_risk": "medium",
    }
    values.update(overrides)
    return values


def confirm_agreement(r: dict, engagement, *, sides=("provider", "de_analyst")):
    """Both sides confirm the specific agreement (CSoA Art. 16), so that work may be logged."""
    for who in sides:
        services.confirm_agreement(actor=r["people"][who], engagement=engagement,
                                   template_reference="ENISA-RSV-SA-2025", agreement_date=timezone.localdate(),
                                   liability_accepted=True)


def request_in(state: str, r: dict, *, agreement: bool = True, **overrides):
    """A request of de-csirt (routed through de-spoc) brought to ``state`` by the right people.

    From ``deployed`` on, acme and the requester have confirmed the specific agreement unless
    ``agreement`` is false.
    """
    p = r["people"]
    request = services.create_request(actor=p["de_analyst"], organisation=r["orgs"]["de-csirt"],
                                      **content([r["incident"]], **overrides))
    if state == RequestStatus.DRAFT:
        return request
    if state == RequestStatus.WITHDRAWN:
        return services.withdraw_request(actor=p["de_analyst"], request=request, reason="Handled nationally")
    services.submit_request(actor=p["de_analyst"], request=request)
    if state == RequestStatus.AWAITING_SPOC:
        return _fresh(request)
    services.forward_request(actor=p["de_spoc"], request=request, note="Endorsed by the SPOC")
    if state == RequestStatus.SUBMITTED:
        return _fresh(request)
    if state == RequestStatus.INFO_REQUESTED:
        services.request_information(actor=p["enisa_triage"], request=request, question="Which PLC vendor?")
        return _fresh(request)
    services.assess_request(actor=p["enisa_triage"], request=request, complete=True, recommendation="approve",
                            reasons="Essential entity, severe impact.")
    if state == RequestStatus.ASSESSED:
        return _fresh(request)
    if state == RequestStatus.REJECTED:
        services.decide_request(actor=p["enisa_decision"], request=request, outcome="rejected", reasons="Out of scope")
        return _fresh(request)
    services.decide_request(actor=p["enisa_decision"], request=request, outcome="approved", reasons="Meets Art. 15")
    if state == RequestStatus.APPROVED:
        return _fresh(request)
    engagement = services.engage_provider(actor=p["enisa_triage"], request=request, provider=r["orgs"]["provider-acme"])
    services.accept_engagement(actor=p["provider"], engagement=engagement)
    if agreement:
        confirm_agreement(r, engagement)
    if state == RequestStatus.DEPLOYED:
        return _fresh(request)
    services.close_deployment(actor=p["de_analyst"], request=request)
    if state == RequestStatus.CLOSED:
        return _fresh(request)
    services.submit_report(actor=p["de_analyst"], request=request, service_provided="Forensics", results="Restored",
                           lessons_learned="Segment earlier")
    assert state == RequestStatus.REPORTED, state
    return _fresh(request)


def _fresh(request):
    request.refresh_from_db()
    return request
