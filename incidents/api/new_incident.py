"""The answer to a report (``POST /api/v1/incidents/``), rendered from what the service holds in memory.

``IncidentDetailSerializer`` rendering the new incident was a tenth of a report's CPU (issue 16):
36 fields through DRF's field machinery, the deadlines' nested serializers. A new incident has
nothing that varies by reader yet (no shares, level proposals, notices), so its answer is built
directly, in the serializer's shape and field order. The serializer stays the declared shape
(OpenAPI schema, ``GET``): tests/incidents/test_new_incident_answer.py proves that the answer to
each kind of report is byte for byte what reading the incident back answers.
"""

from django.utils import timezone

from csoa_portal.rows import related
from incidents import clocks
from incidents.api import serializers as s
from incidents.api.listing import deadline_item, iso
from incidents.models import Incident
from incidents.selectors import deadline_now, tag_names
from liaison.api.exercises import exercise_ref


def render(incident: Incident, *, facts: clocks.Facts) -> dict:
    """``IncidentDetailSerializer``'s fields of an incident ``report_incident(keep_related=True)`` returned."""
    now = timezone.now()
    deadlines = [deadline_now(row, now) for row in related(incident, "deadlines")]
    upcoming = clocks.next_due(deadlines)
    states = related(incident, "affected_member_states")
    category = incident.category
    return {
        "id": incident.pk,
        "reference": incident.reference,
        "title": str(incident.title),
        "status": str(incident.status),
        "tlp": str(incident.tlp),
        "severity": str(incident.severity),
        "crisis_level": int(incident.crisis_level),
        "reporting_organisation": str(incident.reporting_organisation.code),
        "affected_member_states": [state.code for state in states],
        "sectors": [sector.code for sector in related(incident, "sectors")],
        "category": None if category is None else str(category.code),
        "aware_at": iso(incident.aware_at),
        "created_at": iso(incident.created_at),
        "updated_at": iso(incident.updated_at),
        "version": int(incident.version),
        "next_deadline": deadline_item(upcoming) if upcoming else None,
        "overdue": bool(clocks.overdue(deadlines)),
        "tags": tag_names(incident),
        "exercise": exercise_ref(incident),
        "description": str(incident.description),
        "entity_type": str(incident.entity_type),
        "suspected_malicious": incident.suspected_malicious,
        "cross_border_impact": incident.cross_border_impact,
        "national_capacity_exceeded": bool(incident.national_capacity_exceeded),
        "technical_cooperation_requested": bool(incident.technical_cooperation_requested),
        "ipcr_mode": str(incident.ipcr_mode),
        "level_proposals": [],
        "significance": str(incident.significance),
        "significance_grounds": [str(ground) for ground in incident.significance_grounds],
        "significance_explanation": str(incident.significance_explanation),
        "handled_at": None if incident.handled_at is None else iso(incident.handled_at),
        "final_report_awaits_handling": clocks.final_report_awaits_handling(facts),
        # Two or more states: who receives it in each (a query of its own).
        "cross_border": s.cross_border_items(incident),
        "deadlines": [deadline_item(deadline) for deadline in deadlines],
        "reports": s.report_items(incident),
        "shares": [],
    }
