"""Who may see or do what with lessons learned, the registry of their sources, and what a change may say.

**Sources.** A lesson comes from something a person may read: each kind of source registers
(``register_source``, from its product's hook) how to find one for a person (None: they may
not read it, or it does not exist — the same 404), its label and its page. Registered in
``awareness.hooks.lessons``: ``situation_report`` (a published report the person reads),
``incident_review`` (a delivered review the person reads) and ``reserve_after_action`` (a
Reserve summary report, CSoA Art. 16).

**People.** Proposing: someone who may read the source and belongs to a member state's
authority, ENISA or the Commission. Deciding (accept, reject): ENISA's triage and
decision-makers. Building the next Blueprint draft from the accepted lessons: those who
maintain the Blueprint (ENISA's administrators, ``incidents.services.blueprints``). Seeing
a lesson: ENISA, and the organisation that proposed it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import Http404

from incidents import escalation
from liaison.policy import acting_memberships
from liaison.roles import MEMBER_STATE_AUTHORITY_KINDS, OrganisationKind, Role

PROPOSER_KINDS = frozenset(MEMBER_STATE_AUTHORITY_KINDS | {OrganisationKind.ENISA, OrganisationKind.COMMISSION})
DECIDER_ROLES = frozenset({Role.ENISA_TRIAGE, Role.DECISION_MAKER})
DEADLINE_FIELDS = ("ack_minutes", "update_interval_minutes")
MAX_MINUTES = 30 * 24 * 60  # incidents.services.blueprints.problems: 1–43200 minutes


# --- The registry of sources ------------------------------------------------------------------------


@dataclass(frozen=True)
class LessonSource:
    kind: str
    label: str  # "Incident review"
    find: Callable[[object, str], object | None]  # (person, id) -> the source if they may read it, else None
    describe: Callable[[object], str]  # source -> "Incident review REV-2026-00001"
    url: Callable[[object], str]  # source -> its page


_SOURCES: dict[str, LessonSource] = {}


def register_source(kind: str, *, label: str, find, describe, url) -> None:
    """A product says how its objects are the source of a lesson (called from its hook's ``register``)."""
    _SOURCES[kind] = LessonSource(kind, label, find, describe, url)


def source_kinds() -> dict[str, str]:
    return {kind: source.label for kind, source in sorted(_SOURCES.items())}


def readable_source(user, kind: str, source_id) -> tuple[LessonSource, object]:
    """The source, for this person: unknown kind → ValidationError; missing or not theirs to read → 404."""
    source = _SOURCES.get(kind)
    if source is None:
        raise ValidationError({"source_kind": f"{kind!r} is not a source of lessons; use {', '.join(sorted(_SOURCES))}."})
    obj = source.find(user, str(source_id)) if str(source_id).isdigit() else None
    if obj is None:
        raise Http404("No such source.")
    return source, obj


def source_link(user, lesson) -> dict:
    """``{"kind", "label", "url"}`` of a lesson's source, the URL only for a person who may read it."""
    source = _SOURCES.get(lesson.source_kind)
    if source is None:
        return {"kind": lesson.source_kind, "label": f"{lesson.source_kind} {lesson.source_id}", "url": ""}
    obj = source.find(user, lesson.source_id)
    if obj is None:
        return {"kind": lesson.source_kind, "label": f"{source.label} (not shared with you)", "url": ""}
    return {"kind": lesson.source_kind, "label": source.describe(obj), "url": source.url(obj)}


# --- People ------------------------------------------------------------------------------------------


def _memberships(user) -> list:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(acting_memberships(user).select_related("organisation"))


def proposing_organisation(user):
    """The organisation a person proposes lessons for, or None: they may not propose."""
    return next((m.organisation for m in _memberships(user) if m.organisation.kind in PROPOSER_KINDS), None)


def may_propose_from(user, kind: str, source) -> bool:
    """Whether a source's page offers this person to propose a lesson from it (the proposal form asks the same)."""
    found = _SOURCES.get(kind)
    return (found is not None and proposing_organisation(user) is not None
            and found.find(user, str(source.pk)) is not None)


def may_decide(user) -> bool:
    return any(m.organisation.kind == OrganisationKind.ENISA and m.role in DECIDER_ROLES for m in _memberships(user))


def sees_all_lessons(user) -> bool:
    return any(m.organisation.kind == OrganisationKind.ENISA for m in _memberships(user))


def may_build_draft(user) -> bool:
    from liaison.policy import is_network_admin

    return is_network_admin(user)


# --- What a change may say ------------------------------------------------------------------------------


def change_problems(target: str, change, blueprint) -> list[str]:
    """What is wrong with a structured change against ``blueprint`` (the active one); [] when it applies."""
    from awareness.models import LessonProposal

    Target = LessonProposal.Target
    if target not in Target.values:
        return [f"{target!r} is not a target; use {', '.join(Target.values)}."]
    if not isinstance(change, dict):
        return ["The change is an object: see the documentation for its fields."]
    if target == Target.OTHER:
        return [] if not change else ["A text-only proposal carries no structured change."]
    if target == Target.LEVEL_DEADLINES:
        return _deadline_problems(change, blueprint)
    return _rule_problems(target, change, blueprint)


def _deadline_problems(change: dict, blueprint) -> list[str]:
    levels = {lv.number: lv for lv in blueprint.levels.all()}
    number, field, value = change.get("level"), change.get("field"), change.get("value")
    if isinstance(number, bool) or not isinstance(number, int) or number not in levels:
        return [f"Level {number!r} does not exist in Blueprint v{blueprint.version} (levels "
                f"{', '.join(str(n) for n in sorted(levels))})."]
    if field not in DEADLINE_FIELDS:
        return [f"{field!r} is not a level's deadline; use {', '.join(DEADLINE_FIELDS)}."]
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MINUTES:
        return [f"Level {number}: {field} {value!r} is out of range 1–{MAX_MINUTES} minutes."]
    if set(change) - {"level", "field", "value"}:
        return [f"Unknown keys {sorted(set(change) - {'level', 'field', 'value'})}; a deadline change is "
                "level, field and value."]
    return []


def changed_conditions(target: str, change: dict, conditions: list) -> list:
    """The rule's conditions after the change (a threshold: every condition of the rule on that fact)."""
    if target == "rule_conditions":
        return list(change["conditions"])
    return [dict(c, value=change["value"]) if c.get("fact") == change["fact"] else c for c in conditions]


def _rule_problems(target: str, change: dict, blueprint) -> list[str]:
    rules = {r.code: r for r in blueprint.rules.all()}
    code = change.get("rule")
    if code not in rules:
        return [f"Rule {code!r} does not exist in Blueprint v{blueprint.version} (rules {', '.join(sorted(rules))})."]
    rule = rules[code]
    if target == "rule_threshold":
        if set(change) != {"rule", "fact", "value"}:
            return ["A threshold change is rule, fact and value."]
        if not any(c.get("fact") == change["fact"] for c in rule.conditions):
            facts = ", ".join(sorted({c.get("fact") for c in rule.conditions}))
            return [f"Rule {code} has no condition on {change['fact']!r} (its facts: {facts})."]
    else:
        conditions = change.get("conditions")
        if set(change) != {"rule", "conditions"} or not isinstance(conditions, list) or not conditions or not all(
                isinstance(c, dict) for c in conditions):
            return ["A rule change is rule and conditions: a non-empty list of {fact, op, value}."]
    new = changed_conditions(target, change, rule.conditions)
    spec = escalation.spec_from_data(blueprint.version, [
        {"number": lv.number, "code": lv.code, "name": lv.name} for lv in blueprint.levels.all()], [
        {"code": code, "target_level": rule.target_level, "conditions": new, "automatic": rule.automatic}])
    return [e for e in escalation.validate(spec) if e.startswith(f"Rule {code}")]
