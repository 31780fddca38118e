"""Writes of the lessons product: one function per intent, audited, with its Event.

A lesson is proposed from a source the person reads, ENISA accepts or rejects it, and the
accepted ones become the next Blueprint draft (``build_blueprint_draft``): a copy of the
active version (``incidents.services.blueprints.draft_blueprint``) with each structured
change applied (``save_blueprint_parts``, each part audited) and validated as activation
validates (``problems``). Activating the draft stays with the Blueprint's own flow.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from awareness.models import LessonProposal
from awareness.policy import lessons as policy
from csoa_portal import audit
from incidents.selectors import active_blueprint
from incidents.services import blueprints
from liaison.events import Audience, NewEvent, record_event, record_events
from liaison.models import Organisation
from liaison.roles import OrganisationKind, org_group_name
from liaison.exercises import current_exercise_id

SUBJECT = "lesson_proposal"


def _enisa_groups() -> list[str]:
    return [org_group_name(c) for c in Organisation.objects.filter(kind=OrganisationKind.ENISA, is_active=True)
            .values_list("code", flat=True)]


def _audience(lesson) -> Audience:
    return Audience(groups=[org_group_name(lesson.organisation.code), *_enisa_groups()])


def _payload(lesson, **extra) -> dict:
    return {"lesson": lesson.pk, "target": lesson.target, "source_kind": lesson.source_kind,
            "source_id": lesson.source_id, "state": lesson.state, **extra}


@transaction.atomic
def propose_lesson(*, actor, source_kind: str, source_id, target: str, rationale: str,
                   change: dict | None = None) -> LessonProposal:
    """A lesson from a source the person reads (404 if not), proposing a change to the Blueprint."""
    policy.readable_source(actor, source_kind, source_id)
    organisation = policy.proposing_organisation(actor)
    if organisation is None:
        raise PermissionDenied("Lessons are proposed by a member state's authorities, ENISA or the Commission.")
    if not (rationale or "").strip():
        raise ValidationError({"rationale": "Say what the lesson is and why the Blueprint should change."})
    change = {} if change is None else change
    problems = policy.change_problems(target, change, active_blueprint())
    if problems:
        raise ValidationError({"target" if target not in LessonProposal.Target.values else "change": problems})
    lesson = LessonProposal.objects.create(source_kind=source_kind, source_id=str(source_id), target=target,
                                           change=change, rationale=rationale.strip(), proposed_by=actor,
                                           organisation=organisation, exercise_id=current_exercise_id())
    audit.record(actor=actor, action="lesson.proposed", obj=lesson, after=audit.snapshot(lesson))
    record_event(kind="lesson.proposed", subject=lesson, subject_type=SUBJECT, actor=actor, audience=_audience(lesson),
                 payload=_payload(lesson, recipient_groups=_enisa_groups()))
    return lesson


@transaction.atomic
def decide_lesson(*, actor, lesson, accept: bool, reason: str) -> LessonProposal:
    """ENISA accepts a proposal (for the next draft) or rejects it, with a reason; once."""
    if not policy.may_decide(actor):
        raise PermissionDenied("Only ENISA's triage and decision-makers accept or reject lessons.")
    lesson = LessonProposal.objects.select_for_update().select_related("organisation").get(pk=lesson.pk)
    if lesson.state != LessonProposal.State.PROPOSED:
        raise ValidationError({"lesson": f"This lesson was already {lesson.get_state_display().lower()} on "
                                         f"{lesson.decided_at:%Y-%m-%d}."})
    if not (reason or "").strip():
        raise ValidationError({"reason": "Give the reason for the decision."})
    if accept:
        problems = policy.change_problems(lesson.target, lesson.change, active_blueprint())
        if problems:  # the active Blueprint changed since it was proposed
            raise ValidationError({"change": problems})
    before = audit.snapshot(lesson)
    lesson.state = LessonProposal.State.ACCEPTED if accept else LessonProposal.State.REJECTED
    lesson.decided_by, lesson.decided_at, lesson.decision_reason = actor, timezone.now(), reason.strip()
    lesson.save(update_fields=["state", "decided_by", "decided_at", "decision_reason"])
    audit.record(actor=actor, action=f"lesson.{lesson.state}", obj=lesson, before=before, after=audit.snapshot(lesson))
    record_event(kind="lesson.decided", subject=lesson, subject_type=SUBJECT, actor=actor, audience=_audience(lesson),
                 payload=_payload(lesson, recipient_groups=[org_group_name(lesson.organisation.code)]))
    return lesson


def _apply(draft, lesson, levels: dict, rules: dict) -> set:
    """Apply one lesson's change to the draft's rows in memory; the rows it touched."""
    change = lesson.change
    if lesson.target == LessonProposal.Target.LEVEL_DEADLINES:
        level = levels[change["level"]]
        setattr(level, change["field"], change["value"])
        return {level}
    if lesson.target in (LessonProposal.Target.RULE_THRESHOLD, LessonProposal.Target.RULE_CONDITIONS):
        rule = rules[change["rule"]]
        rule.conditions = policy.changed_conditions(lesson.target, change, rule.conditions)
        return {rule}
    return set()  # text only: ENISA edits the draft by hand


@transaction.atomic
def build_blueprint_draft(*, actor, title: str = ""):
    """The next Blueprint draft from the accepted lessons: the active version with their changes, saying which
    lessons it answers. Later lessons win where two change the same value. A change that no longer
    validates refuses the whole draft (nothing is written)."""
    if not policy.may_build_draft(actor):
        raise PermissionDenied("Only ENISA's administrators maintain the Blueprint.")
    lessons = list(LessonProposal.objects.select_for_update().filter(
        state=LessonProposal.State.ACCEPTED, answered_in__isnull=True).select_related("organisation")
        .order_by("decided_at", "id"))
    if not lessons:
        raise ValidationError({"lessons": "No accepted lesson waits for a Blueprint draft."})
    active = active_blueprint()
    errors = [f"Lesson {lesson.pk}: {p}" for lesson in lessons
              for p in policy.change_problems(lesson.target, lesson.change, active)]
    if errors:
        raise ValidationError({"change": errors})
    draft = blueprints.draft_blueprint(actor=actor, based_on=active, title=title)
    levels = {lv.number: lv for lv in draft.levels.all()}
    rules = {r.code: r for r in draft.rules.all()}
    touched = set()
    for lesson in lessons:
        touched |= _apply(draft, lesson, levels, rules)
    blueprints.save_blueprint_parts(actor=actor, blueprint=draft, saved=sorted(touched, key=lambda o: (
        o._meta.model_name, o.pk)))
    draft.notes = "\n".join([draft.notes, "Answers lessons learned:", *(
        f"- Lesson {lesson.pk} ({lesson.get_target_display()}, from {lesson.source_kind} {lesson.source_id})"
        + ("" if lesson.change else " — text only, to edit by hand") for lesson in lessons)]).strip()
    blueprints.save_blueprint(actor=actor, blueprint=draft)
    problems = blueprints.problems(draft)
    if problems:
        raise ValidationError({"blueprint": problems})
    LessonProposal.objects.filter(pk__in=[lesson.pk for lesson in lessons]).update(answered_in=draft)
    audit.record(actor=actor, action="lessons.draft_built", obj=draft,
                 after={"version": draft.version, "lessons": [lesson.pk for lesson in lessons]})
    record_events([NewEvent(kind="lesson.answered", subject=lesson, subject_type=SUBJECT, actor=actor,
                            audience=_audience(lesson),
                            payload=_payload(lesson, version=draft.version,
                                             recipient_groups=[org_group_name(lesson.organisation.code)]))
                   for lesson in lessons])
    return draft
