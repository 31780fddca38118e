"""Applying the Blueprint: automatic escalation, declarations and de-escalation by the body in charge.

The engine (incidents/escalation.py) decides; these functions lock the incident, record
the Escalation with its audit entry and Event, and are idempotent: evaluating twice, or
twice at once, escalates once (the row lock serialises, the level comparison dedups).
"""

import time

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from csoa_portal import audit
from incidents import escalation
from incidents.facts import incident_facts
from incidents.models import Blueprint, Escalation, Incident
from incidents import policy
from incidents.selectors import active_blueprint, blueprint_spec
from incidents.services.alerts import raise_alerts
from incidents.services.common import _event
from liaison.models import User


def _record(*, incident: Incident, blueprint: Blueprint, to_level: int, explanation: str, rules=(),
            actor: User | None = None, reason: str = "") -> Escalation:
    from_level = incident.crisis_level
    incident.crisis_level = to_level
    incident.version += 1  # the representation changed: ETags must move on
    incident.evaluated_version = incident.version
    incident.updated_at = timezone.now()
    incident.save(update_fields=["crisis_level", "declared_level", "deescalated_at_version", "version",
                                 "evaluated_version", "updated_at"])
    record = Escalation.objects.create(
        incident=incident, from_level=from_level, to_level=to_level, rules=list(rules), explanation=explanation,
        by_engine=actor is None, actor=actor, reason=reason, blueprint_version=blueprint.version,
        incident_version=incident.version,
    )
    direction = "escalated" if to_level > from_level else "deescalated"
    audit.record(actor=actor, action=f"incident.{direction}", obj=incident,
                 organisation_code=incident.reporting_organisation.code,
                 before={"crisis_level": from_level}, after={"crisis_level": to_level, "rules": list(rules),
                                                             "explanation": explanation, "reason": reason})
    level = blueprint.levels.get(number=to_level)
    if to_level > from_level:
        raise_alerts(escalation=record, level=level)
    _event(f"incident.{direction}", incident, actor=actor, payload={
        "from_level": from_level, "to_level": to_level, "level_name": level.name, "explanation": explanation,
        "by_engine": actor is None, "escalation_id": record.pk,
    })
    return record


def evaluate_incident(*, incident_id: int, now=None, skip_locked: bool = False) -> Escalation | None:
    """Let the engine look at the incident's current facts; escalate upwards if they call for it.

    With ``skip_locked`` (the sweep) an incident another process is evaluating is left to it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update(of=("self",), skip_locked=skip_locked)
            .select_related("reporting_organisation")
            .filter(pk=incident_id).first()
        )
        if incident is None:
            return None
        blueprint = active_blueprint()
        decision = escalation.evaluate(incident_facts(incident, now=now), blueprint_spec(blueprint))
        # A human de-escalated at this version: the engine leaves it until the facts change.
        held = incident.deescalated_at_version == incident.version
        if decision.level > incident.crisis_level and not held:
            return _record(incident=incident, blueprint=blueprint, to_level=decision.level,
                           explanation=decision.explanation, rules=[r.code for r in decision.matched])
        Incident.objects.filter(pk=incident.pk).update(evaluated_version=incident.version)
        return None


def evaluate_pending(*, batch: int = 200, budget_seconds: float | None = None) -> int:
    """Sweep job: evaluate every incident changed since its last evaluation (lost dispatches).

    Works through the backlog in batches until it is empty or the time budget (half a
    sweep interval by default) is spent, so a large backlog drains in a few sweeps while
    the other sweep jobs still run on time. Incidents locked by a worker are left to it.
    """
    budget = settings.SWEEP_INTERVAL_SECONDS / 2 if budget_seconds is None else budget_seconds
    stop_at = time.monotonic() + budget
    tried: set[int] = set()
    while True:
        ids = [pk for pk in Incident.objects.filter(evaluated_version__lt=F("version"))
               .order_by("updated_at").values_list("pk", flat=True)[:batch + len(tried)] if pk not in tried][:batch]
        if not ids:
            return len(tried)
        for incident_id in ids:
            tried.add(incident_id)
            evaluate_incident(incident_id=incident_id, skip_locked=True)
            if time.monotonic() >= stop_at:
                return len(tried)


@transaction.atomic
def declare_level(*, actor: User, incident: Incident, level: int, reason: str) -> Escalation:
    """A manual escalation ("declare a cyber crisis") by the roles the Blueprint allows."""
    incident = Incident.objects.select_for_update(of=("self",)).select_related("reporting_organisation").get(pk=incident.pk)
    blueprint = active_blueprint()
    target = blueprint.levels.filter(number=level).first()
    if target is None:
        raise ValidationError({"level": f"The Blueprint has no level {level}."})
    if level <= incident.crisis_level:
        raise ValidationError({"level": f"The incident is already at level {incident.crisis_level}; "
                                        "lowering it is a de-escalation."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the level is declared."})
    if not policy.may_declare_level(actor, incident, target):
        raise PermissionDenied(f"Only {', '.join(target.declare_roles) or 'nobody'} of the body in charge "
                               f"({target.get_network_display()}) may declare level {level}.")
    incident.declared_level = max(incident.declared_level, level)
    explanation = f"Level {level} — {target.name}: declared by {actor.get_full_name()} ({target.get_network_display()})."
    return _record(incident=incident, blueprint=blueprint, to_level=level, explanation=explanation,
                   actor=actor, reason=reason.strip())


@transaction.atomic
def deescalate(*, actor: User, incident: Incident, level: int, reason: str) -> Escalation:
    """Lowering the level is a human decision of the body in charge of the current level, with a reason."""
    incident = Incident.objects.select_for_update(of=("self",)).select_related("reporting_organisation").get(pk=incident.pk)
    blueprint = active_blueprint()
    if not 0 <= level < incident.crisis_level:
        raise ValidationError({"level": f"Choose a level below the current level {incident.crisis_level}."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the incident is de-escalated."})
    levels = list(blueprint.levels.all())
    current = next(lv for lv in levels if lv.number == incident.crisis_level)
    if not policy.may_deescalate(actor, incident, levels=levels):
        raise PermissionDenied(f"Only the body in charge of level {current.number} "
                               f"({current.get_network_display()}) may de-escalate.")
    target = next(lv for lv in levels if lv.number == level)
    incident.declared_level = min(incident.declared_level, level)
    incident.deescalated_at_version = incident.version + 1  # the version _record is about to write
    explanation = f"Level {level} — {target.name}: de-escalated by {actor.get_full_name()} ({current.get_network_display()})."
    return _record(incident=incident, blueprint=blueprint, to_level=level, explanation=explanation,
                   actor=actor, reason=reason.strip())
