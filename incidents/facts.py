"""The facts the Blueprint engine reads, gathered from an incident and its surroundings.

Apps to the left (reserve) add facts through ``register_provider`` from their
AppConfig.ready, so incidents never imports them.
"""

from collections.abc import Callable

from incidents.models import Incident
from liaison.exercise_time import exercise_duration, scale_of

_providers: list[Callable[[Incident], dict]] = []


def register_provider(provider: Callable[[Incident], dict]) -> None:
    if provider not in _providers:
        _providers.append(provider)


def incident_facts(incident: Incident, *, now) -> dict:
    member_states = incident.affected_member_states.count()
    sectors = list(incident.sectors.values_list("annex", flat=True))
    last_update = incident.timeline.order_by("-created_at").values_list("created_at", flat=True).first()
    since = max(filter(None, [last_update, incident.created_at]))
    facts = {
        "affected_member_states": member_states,
        "critical_member_states": member_states if incident.severity == "critical" else 0,
        "severity": incident.severity,
        "high_criticality_sector": "I" in sectors,
        "cross_border_impact": bool(incident.cross_border_impact),
        "national_capacity_exceeded": incident.national_capacity_exceeded,
        "technical_cooperation_requested": incident.technical_cooperation_requested,
        "reserve_requested": False,
        "reserve_approved": False,
        # on the exercise's clock for an incident of an exercise (liaison.exercise_time)
        "hours_without_update": int(exercise_duration(now - since, scale=scale_of(incident)).total_seconds() // 3600),
        "declared_level": incident.declared_level,
    }
    for provider in _providers:
        facts.update(provider(incident))
    return facts
