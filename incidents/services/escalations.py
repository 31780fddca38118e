"""Applying the Blueprint: automatic escalation, declarations, proposals and de-escalation by the body in charge.

The engine (incidents/escalation.py) decides; these functions lock the incident, record
the Escalation with its audit entry and Event, and are idempotent: evaluating twice, or
twice at once, escalates once (the row lock serialises, the level comparison dedups).
Who may act is the policy's answer (``incidents.policy``, from the Blueprint's bodies in charge).
"""

import time

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from csoa_portal import audit
from incidents import bodies, escalation, notifications, policy
from incidents.facts import incident_facts
from incidents.models import Blueprint, CrisisLevel, Escalation, Incident, LevelProposal
from incidents.selectors import active_blueprint, blueprint_spec
from incidents.services.alerts import raise_alerts
from incidents.services.common import _event
from incidents.vocabulary import TLP
from liaison.events import Audience, record_event
from liaison.models import User
from liaison.exercises import using_exercise
from liaison.policy import acting_memberships

# Where the refusal's rule comes from: the 2025 Blueprint (Council Recommendation) and NIS2 Art. 16.
BLUEPRINT_SOURCE = "EU Cyber Crisis Management Blueprint (Council Recommendation, 2025)"


def _refusal(action: str, level: CrisisLevel) -> str:
    rule = f"Only {policy.level_bodies_sentence(level, lowering=action == 'lower')}"
    if level.modes:  # the political level
        article = (f"{BLUEPRINT_SOURCE}: the Council Presidency activates and deactivates the political level "
                   "(IPCR arrangements); EU-CyCLONe and the engine may only propose it")
    else:
        article = f"{BLUEPRINT_SOURCE}, levels of cooperation; NIS2 Art. 16 for EU-CyCLONe"
    roles = ", ".join(r.replace("_", " ") for r in level.declare_roles) or "nobody"
    return f"{rule} ({roles}) may {action} level {level.number} ({level.name}) — {article}."


def _record(*, incident: Incident, blueprint: Blueprint, to_level: int, explanation: str, rules=(),
            actor: User | None = None, reason: str = "", ipcr_mode: str = "") -> Escalation:
    from_level = incident.crisis_level
    levels = {lv.number: lv for lv in blueprint.levels.all()}
    level = levels[to_level]
    incident.crisis_level = to_level
    if to_level > from_level:
        incident.deescalation_facts = None  # a new level: the earlier de-escalation no longer holds
    # The IPCR mode belongs to the political level: set on arriving there, gone when leaving it.
    incident.ipcr_mode = (ipcr_mode or incident.ipcr_mode or level.modes[0]["code"]) if level.modes else ""
    incident.version += 1  # the representation changed: ETags must move on
    incident.evaluated_version = incident.version
    incident.updated_at = timezone.now()
    incident.save(update_fields=["crisis_level", "declared_level", "deescalation_facts", "ipcr_mode", "version",
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
                                                             "explanation": explanation, "reason": reason,
                                                             "ipcr_mode": incident.ipcr_mode})
    if to_level > from_level:
        # Levels are cumulative: a jump alerts every level it passes (0 → 2 alerts the CSIRTs Network too).
        raise_alerts(escalation=record, levels=[levels[n] for n in range(from_level + 1, to_level + 1) if n in levels])
        LevelProposal.objects.filter(incident=incident, level__lte=to_level, state=LevelProposal.State.OPEN).update(
            state=LevelProposal.State.ACCEPTED, decided_by=actor, decided_at=timezone.now(),
            decision_reason=reason or explanation)
    _event(f"incident.{direction}", incident, actor=actor, payload={
        "from_level": from_level, "to_level": to_level, "level_name": level.name, "explanation": explanation,
        "by_engine": actor is None, "escalation_id": record.pk, "ipcr_mode": incident.ipcr_mode,
    })
    return record


def _open_proposal(*, incident: Incident, blueprint: Blueprint, level: int, explanation: str, rules=(),
                   actor: User | None = None, organisation=None) -> LevelProposal:
    proposal = LevelProposal.objects.create(
        incident=incident, level=level, rules=list(rules), explanation=explanation, by_engine=actor is None,
        proposed_by=actor, organisation=organisation, blueprint_version=blueprint.version)
    audit.record(actor=actor, action="incident.level_proposed", obj=incident,
                 organisation_code=incident.reporting_organisation.code,
                 after={"proposal": proposal.pk, "level": level, "rules": list(rules), "explanation": explanation})
    payload = {"proposal_id": proposal.pk, "level": level, "explanation": explanation, "by_engine": actor is None}
    _event("incident.level_proposed", incident, actor=actor, payload=payload)
    # Those who decide may not read the incident (TLP): they get the reference and the reasons, as an alert does.
    deciders = policy.deciding_organisations(incident, blueprint.levels.get(number=level))
    if deciders:
        record_event(kind="level_proposal.opened", subject=proposal, actor=actor,
                     payload={"reference": incident.reference, "incident": incident.pk, "tlp": incident.tlp,
                              "recipient_groups": [o.group.name for o in deciders], **payload},
                     audience=Audience(organisations=deciders))
        notifications.email_notice(
            group_ids=[o.group_id for o in deciders], key=f"notice:level_proposal:{proposal.pk}",
            exercise=incident.exercise_id,
            subject=f"[CSoA Portal] Level {level} proposed for {incident.reference}: your decision",
            # E-mail leaves the portal: the reasons (the proposer's own words, perhaps the incident's facts)
            # are read on the board, behind the login (incidents/notifications.py).
            body=f"Level {level} of the EU Cyber Crisis Management Blueprint is proposed for {incident.reference} "
                 f"({TLP(incident.tlp).label}). Its reasons are on your crisis board: declare it or decline it "
                 f"there, with a reason: {settings.PORTAL_BASE_URL}/incidents/board/#proposals")
    return proposal


def _engine_proposal(incident: Incident, blueprint: Blueprint, decision: escalation.Decision) -> None:
    """Open the engine's proposal once; after a decline, again only when the facts say something new."""
    level = decision.proposed_level
    if level is None or level <= incident.crisis_level:
        return
    existing = LevelProposal.objects.filter(incident=incident, level=level).order_by("-created_at", "-id").first()
    if existing and (existing.state == LevelProposal.State.OPEN or existing.explanation == decision.explanation):
        return
    _open_proposal(incident=incident, blueprint=blueprint, level=level, explanation=decision.explanation,
                   rules=[r.code for r in decision.proposals])


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
        with using_exercise(incident.exercise_id):  # what the escalation causes stays in the incident's exercise
            blueprint = active_blueprint()
            # After a de-escalation only new facts that match a rule count (the decision holds against notes).
            decision = escalation.evaluate(incident_facts(incident, now=now), blueprint_spec(blueprint),
                                           held=incident.deescalation_facts)
            _engine_proposal(incident, blueprint, decision)
            if decision.level > incident.crisis_level:
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


def _locked(incident: Incident) -> Incident:
    return (Incident.objects.select_for_update(of=("self",))
            .select_related("reporting_organisation").get(pk=incident.pk))


def _check_mode(level: CrisisLevel, ipcr_mode: str) -> None:
    if ipcr_mode and not level.mode(ipcr_mode):
        allowed = ", ".join(m["code"] for m in level.modes) or "none at this level"
        raise ValidationError({"ipcr_mode": f"Unknown IPCR mode {ipcr_mode!r} for level {level.number}; "
                                            f"use one of: {allowed}."})


@transaction.atomic
def declare_level(*, actor: User, incident: Incident, level: int, reason: str, ipcr_mode: str = "") -> Escalation:
    """A manual escalation by the body the Blueprint names for the level (level 3: the Council Presidency)."""
    incident = _locked(incident)
    blueprint = active_blueprint()
    target = blueprint.levels.filter(number=level).first()
    if target is None:
        raise ValidationError({"level": f"The Blueprint has no level {level}."})
    if level <= incident.crisis_level:
        raise ValidationError({"level": f"The incident is already at level {incident.crisis_level}; "
                                        "lowering it is a de-escalation."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the level is declared."})
    _check_mode(target, ipcr_mode)
    if not policy.may_declare_level(actor, incident, target):
        raise PermissionDenied(_refusal("declare", target))
    incident.declared_level = max(incident.declared_level, level)
    explanation = f"Level {level} — {target.name}: declared by {actor.get_full_name()} " \
                  f"for {policy.level_bodies_sentence(target)}."
    return _record(incident=incident, blueprint=blueprint, to_level=level, explanation=explanation,
                   actor=actor, reason=reason.strip(), ipcr_mode=ipcr_mode)


@transaction.atomic
def deescalate(*, actor: User, incident: Incident, level: int, reason: str) -> Escalation:
    """Lowering the level is a decision of the body in charge of the current level, with a reason; it holds."""
    incident = _locked(incident)
    blueprint = active_blueprint()
    if not 0 <= level < incident.crisis_level:
        raise ValidationError({"level": f"Choose a level below the current level {incident.crisis_level}."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the incident is de-escalated."})
    levels = list(blueprint.levels.all())
    current = next(lv for lv in levels if lv.number == incident.crisis_level)
    if not policy.may_deescalate(actor, incident, levels=levels):
        raise PermissionDenied(_refusal("lower", current))
    target = next(lv for lv in levels if lv.number == level)
    incident.declared_level = min(incident.declared_level, level)
    record = _record(incident=incident, blueprint=blueprint, to_level=level,
                     explanation=f"Level {level} — {target.name}: de-escalated by {actor.get_full_name()} "
                                 f"for {policy.level_bodies_sentence(current, lowering=True)}.",
                     actor=actor, reason=reason.strip())
    # The decision holds until new facts match a rule: remember the facts it was taken on.
    Incident.objects.filter(pk=incident.pk).update(deescalation_facts=incident_facts(incident, now=timezone.now()))
    return record


@transaction.atomic
def propose_level(*, actor: User, incident: Incident, level: int, reason: str) -> LevelProposal:
    """EU-CyCLONe proposes a level it may not declare (the political level) to the body that declares it."""
    incident = _locked(incident)
    blueprint = active_blueprint()
    target = blueprint.levels.filter(number=level).first()
    if target is None:
        raise ValidationError({"level": f"The Blueprint has no level {level}."})
    if level <= incident.crisis_level:
        raise ValidationError({"level": f"The incident is already at level {incident.crisis_level}."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the level is proposed."})
    if not policy.may_propose_level(actor, incident, target):
        raise PermissionDenied(f"Only {bodies.describe(target.propose_bodies)} "
                               f"may propose level {level} ({target.name}) — {BLUEPRINT_SOURCE}.")
    if LevelProposal.objects.filter(incident=incident, level=level, state=LevelProposal.State.OPEN).exists():
        raise ValidationError({"level": f"Level {level} is already proposed and waits for "
                                        f"{policy.level_bodies_sentence(target)}."})
    membership = acting_memberships(actor).select_related("organisation").order_by("id").first()
    explanation = f"Level {level} — {target.name}: proposed by {actor.get_full_name()}" \
                  f"{f' ({membership.organisation.name})' if membership else ''}: {reason.strip()}"
    return _open_proposal(incident=incident, blueprint=blueprint, level=level, explanation=explanation,
                          actor=actor, organisation=membership.organisation if membership else None)


def _locked_proposal(proposal: LevelProposal) -> LevelProposal:
    return (LevelProposal.objects.select_for_update(of=("self",))
            .select_related("incident__reporting_organisation").get(pk=proposal.pk))


@transaction.atomic
def accept_proposal(*, actor: User, proposal: LevelProposal, reason: str, ipcr_mode: str = "") -> Escalation:
    """The body in charge declares the proposed level (the proposal closes with the declaration)."""
    proposal = _locked_proposal(proposal)
    if proposal.state != LevelProposal.State.OPEN:
        raise ValidationError({"proposal": f"This proposal was already {proposal.get_state_display().lower()}."})
    return declare_level(actor=actor, incident=proposal.incident, level=proposal.level, reason=reason,
                         ipcr_mode=ipcr_mode)


@transaction.atomic
def decline_proposal(*, actor: User, proposal: LevelProposal, reason: str) -> LevelProposal:
    proposal = _locked_proposal(proposal)
    if proposal.state != LevelProposal.State.OPEN:
        raise ValidationError({"proposal": f"This proposal was already {proposal.get_state_display().lower()}."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the proposal is declined."})
    if not policy.may_decide_proposal(actor, proposal):
        level = active_blueprint().levels.get(number=proposal.level)
        raise PermissionDenied(_refusal("declare", level))
    proposal.state, proposal.decided_by = LevelProposal.State.DECLINED, actor
    proposal.decided_at, proposal.decision_reason = timezone.now(), reason.strip()
    proposal.save(update_fields=["state", "decided_by", "decided_at", "decision_reason"])
    incident = proposal.incident
    audit.record(actor=actor, action="incident.level_proposal_declined", obj=incident,
                 organisation_code=incident.reporting_organisation.code,
                 after={"proposal": proposal.pk, "level": proposal.level, "reason": proposal.decision_reason})
    _event("incident.level_proposal_declined", incident, actor=actor,
           payload={"proposal_id": proposal.pk, "level": proposal.level, "reason": proposal.decision_reason})
    return proposal


@transaction.atomic
def set_ipcr_mode(*, actor: User, incident: Incident, ipcr_mode: str, reason: str = "") -> Incident:
    """The Council Presidency sets the IPCR mode at the political level; the mode sets the situation-update interval."""
    incident = _locked(incident)
    blueprint = active_blueprint()
    current = blueprint.levels.get(number=incident.crisis_level)
    if not current.modes:
        raise ValidationError({"ipcr_mode": f"The incident is at level {current.number} ({current.name}): "
                                            "IPCR modes apply only at the political level."})
    if not ipcr_mode:
        raise ValidationError({"ipcr_mode": "Choose a mode: " + ", ".join(m["code"] for m in current.modes) + "."})
    _check_mode(current, ipcr_mode)
    if not policy.settable_ipcr_modes(actor, incident):
        raise PermissionDenied(_refusal("set the IPCR mode of", current))
    if ipcr_mode == incident.ipcr_mode:
        return incident
    before = incident.ipcr_mode
    incident.ipcr_mode = ipcr_mode
    incident.version += 1
    incident.updated_at = timezone.now()
    incident.save(update_fields=["ipcr_mode", "version", "updated_at"])
    audit.record(actor=actor, action="incident.ipcr_mode_changed", obj=incident,
                 organisation_code=incident.reporting_organisation.code,
                 before={"ipcr_mode": before}, after={"ipcr_mode": ipcr_mode, "reason": (reason or "").strip()})
    _event("incident.ipcr_mode_changed", incident, actor=actor,
           payload={"ipcr_mode": ipcr_mode, "mode_name": current.mode(ipcr_mode)["name"], "previous": before})
    return incident
