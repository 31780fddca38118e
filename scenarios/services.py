"""Every write to a scenario: preparing injects, and releasing them through the real services.

An inject is played by a participating organisation: released, it acts through that
organisation's *exercise player*, a service account that cannot sign in and acts only inside
the exercise, so the real services (reporting, escalation, the Reserve) check, stamp and
notify exactly as for a person of that organisation, and the engine, clocks and alerts react.
A real service's refusal fails the inject with its message; nothing it began is kept.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from csoa_portal import audit
from csoa_portal.display import when
from incidents import services as incident_services
from incidents.models import Sector
from incidents.selectors import incidents_visible_to
from incidents.vocabulary import TLP
from liaison.events import Audience, record_event
from liaison.exercises import using_exercise
from liaison.groups import sync_user_groups
from liaison.models import Exercise, Membership, MemberState, Organisation, User
from liaison.roles import OrganisationKind, Role
from reserve import services as reserve_services
from reserve.models import Engagement
from reserve.workflow import EngagementStatus, TransitionRefused
from scenarios import payloads, policy, timing
from scenarios.models import Inject

NOT_A_CONTROLLER = "Only the exercise's controllers prepare and release its injects."
# What a real service answers when it refuses: the inject fails with the message, nothing it began is kept.
REFUSALS = (ValidationError, PermissionDenied, TransitionRefused, incident_services.StaleVersion)
DEFAULT_WINDOW_DAYS = 14


# --- Preparing the scenario ----------------------------------------------------------------------


def _controller(actor, exercise: Exercise) -> None:
    if actor is not None and not policy.controls(actor, exercise):
        raise PermissionDenied(NOT_A_CONTROLLER)


def _snapshot(inject: Inject) -> dict:
    return audit.snapshot(inject, fields=["exercise", "kind", "title", "organisation", "offset", "payload", "status",
                                          "released_at", "released_by", "incident", "timeline_entry",
                                          "assistance_request", "engagement", "failed_at", "error"])


def _audience(exercise: Exercise) -> Audience:
    """The controllers' organisations; the feeds then keep the Event to the controllers (``visible_inject_ids``)."""
    return Audience(organisations=list(Organisation.objects.filter(
        memberships__user__in=exercise.controllers.all()).distinct()))


def _event(kind: str, inject: Inject, *, actor, payload: dict | None = None) -> None:
    with using_exercise(inject.exercise_id):  # an inject's Events are the exercise's, never live work's
        record_event(kind=kind, subject=inject, subject_type="inject", actor=actor, audience=_audience(inject.exercise),
                     payload={"title": inject.title, "kind": inject.kind, **(payload or {})})


def _check_codes(payload: dict) -> dict:
    errors = {}
    for name, model, label in (("sectors", Sector, "sector"), ("member_states", MemberState, "member state")):
        codes = payload.get(name) or []
        unknown = sorted(set(codes) - set(model.objects.filter(code__in=codes).values_list("code", flat=True)))
        if unknown:
            errors[f"payload.{name}"] = f"Unknown {label} code(s): {', '.join(unknown)}."
    return errors


def _check_references(inject: Inject, payload: dict) -> dict:
    """Each referenced inject is an earlier one of the same scenario, of the right kind, played by whom it must be."""
    errors = {}
    for name, kind in payloads.REFERENCES.items():
        if name not in payload:
            continue
        ref = Inject.objects.filter(exercise=inject.exercise, pk=payload[name]).exclude(pk=inject.pk).first()
        if ref is None:
            errors[f"payload.{name}"] = f"There is no other inject #{payload[name]} in this scenario."
        elif ref.kind != kind:
            errors[f"payload.{name}"] = (f"Inject #{ref.pk} is a {ref.get_kind_display().lower()}; refer to a "
                                         f"{Inject.Kind(kind).label.lower()}.")
        elif inject.offset is not None and (ref.offset is None or ref.offset > inject.offset):
            errors[f"payload.{name}"] = (f"Inject #{ref.pk} comes later in the scenario "
                                         f"({timing.format_offset(ref.offset) or 'released by hand'}); refer to an "
                                         "earlier one.")
        elif inject.kind in (Inject.Kind.SEVERITY, Inject.Kind.RESERVE_REQUEST) \
                and ref.organisation_id != inject.organisation_id:
            errors["organisation"] = (f"Only {ref.organisation.name}, which reports inject #{ref.pk}'s incident, "
                                      f"{'changes it' if inject.kind == Inject.Kind.SEVERITY else 'requests the Reserve for it'}.")
    return errors


def _check(inject: Inject) -> None:
    """The inject fits its exercise and its payload its kind, or ValidationError naming every bad field."""
    exercise, errors = inject.exercise, {}
    if inject.kind not in Inject.Kind.values:
        raise ValidationError({"kind": f"Unknown kind of inject {inject.kind!r}; use one of "
                                       f"{', '.join(Inject.Kind.values)}."})
    try:
        inject.payload = payloads.clean(inject.kind, inject.payload)
    except ValidationError as error:
        errors.update(error.message_dict)
    if not inject.title:
        errors["title"] = "Name the inject (what the controllers call it)."
    organisation = inject.organisation
    if organisation is None or not exercise.participants.filter(pk=organisation.pk, is_active=True).exists():
        errors["organisation"] = (f"{organisation.name if organisation else 'Nobody'} does not take part in this "
                                  "exercise: an inject is played by a participating organisation.")
    elif inject.kind == Inject.Kind.PROVIDER_DECLINES and organisation.kind != OrganisationKind.RESERVE_PROVIDER:
        errors["organisation"] = f"{organisation.name} is not a Reserve provider: a provider declines an engagement."
    if inject.offset is not None:
        if inject.offset < timedelta(0):
            errors["offset"] = "An inject is scheduled after the exercise starts (a positive exercise time)."
        elif timing.due_at(exercise, inject.offset) > exercise.ends_at:
            errors["offset"] = (f"Exercise time {timing.format_offset(inject.offset)} falls after the exercise ends "
                                f"({when(exercise.ends_at)}); schedule it within the exercise.")
    if not any(key.startswith("payload") for key in errors):
        errors.update(_check_codes(inject.payload))
        errors.update({k: v for k, v in _check_references(inject, inject.payload).items() if k not in errors})
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_inject(*, actor, exercise: Exercise, kind: str, title: str, organisation: Organisation,
                  payload: dict, offset: timedelta | None = None) -> Inject:
    """A new inject of the exercise's scenario: scheduled at ``offset`` of exercise time, or released by hand."""
    exercise = Exercise.objects.select_for_update().get(pk=exercise.pk)
    _controller(actor, exercise)
    refusal = policy.preparation_refusal(exercise)
    if refusal:
        raise ValidationError({"exercise": refusal})
    inject = Inject(exercise=exercise, kind=kind, title=(title or "").strip(), organisation=organisation,
                    payload=payload, offset=offset, created_by=actor if getattr(actor, "is_authenticated", False)
                    else None)
    _check(inject)
    inject.save()
    audit.record(actor=actor, action="inject.created", obj=inject, organisation_code=organisation.code,
                 after=_snapshot(inject))
    _event("inject.created", inject, actor=actor)
    return inject


def _locked(inject: Inject) -> Inject:
    return (Inject.objects.select_for_update(of=("self",)).select_related("exercise", "organisation")
            .get(pk=inject.pk))


@transaction.atomic
def update_inject(*, actor, inject: Inject, kind: str, title: str, organisation: Organisation, payload: dict,
                  offset: timedelta | None = None) -> Inject:
    """Change a pending (or failed) inject; a failed one is pending again, to be released anew."""
    inject = _locked(inject)
    _controller(actor, inject.exercise)
    refusal = policy.change_refusal(inject)
    if refusal:
        raise ValidationError({"inject": refusal})
    before = _snapshot(inject)
    inject.kind, inject.title, inject.organisation = kind, (title or "").strip(), organisation
    inject.payload, inject.offset = payload, offset
    inject.status, inject.failed_at, inject.error = Inject.Status.PENDING, None, ""
    _check(inject)
    inject.updated_at = timezone.now()
    inject.save()
    audit.record(actor=actor, action="inject.updated", obj=inject, before=before, after=_snapshot(inject))
    _event("inject.updated", inject, actor=actor)
    return inject


@transaction.atomic
def delete_inject(*, actor, inject: Inject) -> None:
    """Remove a pending or failed inject that no other inject refers to."""
    inject = _locked(inject)
    _controller(actor, inject.exercise)
    refusal = policy.change_refusal(inject)
    if refusal:
        raise ValidationError({"inject": refusal})
    for other in Inject.objects.filter(exercise=inject.exercise).exclude(pk=inject.pk):
        if inject.pk in [other.payload.get(name) for name in payloads.REFERENCES]:
            raise ValidationError({"inject": f"Inject #{other.pk} ({other.title}) refers to this one; change or "
                                             "delete it first."})
    before, pk = _snapshot(inject), inject.pk
    audit.record(actor=actor, action="inject.deleted", obj=inject, before=before)
    exercise = inject.exercise
    inject.delete()
    with using_exercise(exercise):
        record_event(kind="inject.deleted", subject_type="inject", subject_id=str(pk), actor=actor,
                     payload={"title": before["title"], "kind": before["kind"]}, audience=_audience(exercise))


# --- The organisation's player --------------------------------------------------------------------


def player_for(organisation: Organisation) -> User:
    """The account an inject acts as for ``organisation``: a service account (it cannot sign in, no token acts
    through it) used only inside exercises. Provider staff for a Reserve provider (it answers engagements), SOC
    tooling for the others (it reports and requests, as the organisation's tools do)."""
    email = f"exercise+{organisation.code}@service.csoa-portal.invalid"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, full_name=f"{organisation.name} (exercise player)", is_service_account=True)
        user.set_unusable_password()
        user.save()
        audit.record(actor=None, action="exercise_player.created", obj=user, organisation_code=organisation.code,
                     after={"email": email})
    role = Role.PROVIDER_STAFF if organisation.kind == OrganisationKind.RESERVE_PROVIDER else Role.SOC_TOOLING
    _, created = Membership.objects.get_or_create(user=user, organisation=organisation, role=role)
    if created:
        sync_user_groups(user)
    return user


# --- Releasing ------------------------------------------------------------------------------------


def _reference(inject: Inject, name: str) -> Inject:
    ref = Inject.objects.select_related("incident", "assistance_request").get(pk=inject.payload[name])
    if ref.status != Inject.Status.RELEASED:
        raise ValidationError({f"payload.{name}": f"Inject #{ref.pk} ({ref.title}) has not been released yet; "
                                                  "release it first."})
    return ref


def _referenced_incident(inject: Inject):
    ref = _reference(inject, "incident_inject")
    if ref.incident is None:
        raise ValidationError({"payload.incident_inject": f"The incident of inject #{ref.pk} no longer exists."})
    return ref.incident


def _report(inject: Inject, player: User, now) -> dict:
    p = inject.payload
    incident = incident_services.report_incident(
        actor=player, organisation=inject.organisation, title=p["title"], description=p.get("description", ""),
        aware_at=now - timedelta(minutes=p.get("aware_minutes_before", 0)), tlp=p.get("tlp", TLP.AMBER),
        severity=p.get("severity", "medium"), sectors=list(Sector.objects.filter(code__in=p.get("sectors", []))),
        affected_member_states=list(MemberState.objects.filter(code__in=p.get("member_states", []))),
        cross_border_impact=p.get("cross_border_impact"), suspected_malicious=p.get("suspected_malicious"),
        national_capacity_exceeded=p.get("national_capacity_exceeded", False))
    return {"incident": incident}


def _change_severity(inject: Inject, player: User, now) -> dict:
    p, incident = inject.payload, _referenced_incident(inject)
    changes = {"severity": p["severity"]}
    if "member_states" in p:
        changes["affected_member_states"] = list(MemberState.objects.filter(code__in=p["member_states"]))
    for name in ("cross_border_impact", "national_capacity_exceeded"):
        if name in p:
            changes[name] = p[name]
    return {"incident": incident_services.update_incident(actor=player, incident=incident, **changes)}


def _publish_press(inject: Inject, player: User, now) -> dict:
    p, incident = inject.payload, _referenced_incident(inject)
    if not incidents_visible_to(player).filter(pk=incident.pk).exists():
        raise ValidationError({"organisation": f"{inject.organisation.name} does not see incident "
                                               f"{incident.reference}: have it shared with them first."})
    source = f"Press article — {p['outlet']}" if p.get("outlet") else "Press article"
    entry = incident_services.add_timeline_entry(actor=player, incident=incident, tlp=p.get("tlp"),
                                                 text=f"{source}: {p['headline']}\n\n{p['text']}")
    return {"incident": incident, "timeline_entry": entry}


def _request_reserve(inject: Inject, player: User, now) -> dict:
    p, incident = inject.payload, _referenced_incident(inject)
    content = {name: p[name] for name in payloads.REQUEST_FIELDS if name in p}
    today = timezone.localdate(now)
    content.setdefault("window_start", today)
    content.setdefault("window_end", today + timedelta(days=DEFAULT_WINDOW_DAYS))
    request = reserve_services.create_request(actor=player, organisation=inject.organisation, incidents=[incident],
                                              **content)
    request = reserve_services.submit_request(actor=player, request=request)
    return {"incident": incident, "assistance_request": request}


def _decline(inject: Inject, player: User, now) -> dict:
    request = _reference(inject, "request_inject").assistance_request
    if request is None:
        raise ValidationError({"payload.request_inject": "The Reserve request of that inject no longer exists."})
    engagement = Engagement.objects.filter(request=request, provider=inject.organisation,
                                           status=EngagementStatus.OFFERED).first()
    if engagement is None:
        raise ValidationError({"payload.request_inject": f"{inject.organisation.name} has no open offer on request "
                                                         f"{request.reference}: ENISA has not engaged it (yet), or "
                                                         "it has answered already."})
    engagement = reserve_services.decline_engagement(actor=player, engagement=engagement,
                                                     reason=inject.payload["reason"])
    return {"assistance_request": request, "engagement": engagement}


DELIVER = {
    Inject.Kind.INCIDENT: _report,
    Inject.Kind.SEVERITY: _change_severity,
    Inject.Kind.PRESS: _publish_press,
    Inject.Kind.RESERVE_REQUEST: _request_reserve,
    Inject.Kind.PROVIDER_DECLINES: _decline,
}


def _message(error: Exception) -> str:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


def _release(actor, inject: Inject, now) -> Inject:
    """Deliver the locked, pending inject inside its exercise; on a refusal, roll back what began and fail it."""
    before = _snapshot(inject)
    try:
        with transaction.atomic(), using_exercise(inject.exercise):
            inject.payload = payloads.clean(inject.kind, inject.payload)
            made = DELIVER[inject.kind](inject, player_for(inject.organisation), now)
            for name, obj in made.items():
                setattr(inject, name, obj)
            inject.status, inject.released_at, inject.error, inject.failed_at = Inject.Status.RELEASED, now, "", None
            inject.released_by = actor if getattr(actor, "is_authenticated", False) else None
            inject.save()
            audit.record(actor=actor, action="inject.released", obj=inject, before=before, after=_snapshot(inject))
            _event("inject.released", inject, actor=actor, payload={
                "organisation": inject.organisation.code, "released_at": now.isoformat(),
                **{f"{name}_id": obj.pk for name, obj in made.items()}})
    except REFUSALS as error:
        inject.refresh_from_db()
        inject.status, inject.failed_at, inject.error = Inject.Status.FAILED, now, _message(error)
        inject.save(update_fields=["status", "failed_at", "error"])
        audit.record(actor=actor, action="inject.failed", obj=inject, before=before, after=_snapshot(inject))
        _event("inject.failed", inject, actor=actor, payload={"error": inject.error})
    return inject


@transaction.atomic
def release_inject(*, actor, inject: Inject) -> Inject:
    """Release one inject now (a controller's "Release now"; ``actor=None``: the schedule).

    Released once: a second release is refused. A real service's refusal leaves the inject
    failed with its message and nothing of the delivery written; it may be corrected and released again.
    """
    inject = _locked(inject)
    _controller(actor, inject.exercise)
    if inject.status == Inject.Status.RELEASED:
        raise ValidationError({"inject": f"Inject #{inject.pk} ({inject.title}) was released at "
                                         f"{when(inject.released_at)}: an inject is released once."})
    now = timezone.now()
    refusal = policy.release_refusal(inject.exercise, now)
    if refusal:
        raise ValidationError({"inject": refusal})
    return _release(actor, inject, now)


def release_due_injects(*, now=None) -> int:
    """The sweep: release every scheduled, pending inject whose exercise time has come, in scenario order.

    Each in its own transaction, claimed with SKIP LOCKED (a controller's click or another sweep
    holding it is left alone). Returns how many were released or failed.
    """
    now = now or timezone.now()
    candidates = (Inject.objects.filter(status=Inject.Status.PENDING, offset__isnull=False,
                                        exercise__status__in=[Exercise.Status.PLANNED, Exercise.Status.RUNNING],
                                        exercise__starts_at__lte=now, exercise__ends_at__gte=now)
                  .select_related("exercise").order_by("offset", "id"))
    due = [inject.pk for inject in candidates if timing.due_at(inject.exercise, inject.offset) <= now]
    return sum(_release_due(pk, now) for pk in due)


def _release_due(pk: int, now) -> int:
    with transaction.atomic():
        inject = (Inject.objects.select_for_update(of=("self",), skip_locked=True)
                  .select_related("exercise", "organisation").filter(pk=pk, status=Inject.Status.PENDING).first())
        if inject is None or timing.due_at(inject.exercise, inject.offset) > now \
                or policy.release_refusal(inject.exercise, now):
            return 0
        _release(None, inject, now)
        return 1


# --- Lessons from the evaluation ----------------------------------------------------------------------

LESSON_SOURCE = "exercise_evaluation"


@transaction.atomic
def propose_lesson_from_evaluation(*, actor, exercise: Exercise, rationale: str, target: str = "other",
                                   change: dict | None = None):
    """Propose a lesson of the exercise's after-action report as a Blueprint change, through the lessons flow of
    ``awareness`` (``propose_lesson``: checked, audited ``lesson.proposed``, its Event to ENISA).

    The lesson is **live work** whatever the person works in: it is about the real Blueprint, so ENISA decides it
    in its live queue (the exercise is its source, ``exercise_evaluation`` <id>). Only those who read the whole
    evaluation propose from it (404 for anyone else, as for any unreadable source).
    """
    from awareness.services.lessons import propose_lesson

    with using_exercise(None):
        return propose_lesson(actor=actor, source_kind=LESSON_SOURCE, source_id=exercise.pk, target=target,
                              rationale=rationale, change=change)
