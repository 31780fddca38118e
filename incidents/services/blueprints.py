"""Versions of the Blueprint: ENISA drafts a new one, and only a valid one can become active."""

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from csoa_portal import audit
from incidents import bodies, escalation
from incidents.models import Blueprint, CrisisLevel, EscalationRule
from incidents.selectors import blueprint_spec
from liaison.events import Audience, record_event
from liaison.roles import Community, Role
from liaison.policy import is_network_admin

_LEVEL_FIELDS = ["number", "code", "name", "description", "network", "alerted_groups", "ack_minutes",
                 "update_interval_minutes", "expected_reports", "declare_bodies", "deescalate_bodies", "propose_bodies",
                 "declare_roles", "modes"]
_RULE_FIELDS = ["code", "target_level", "conditions", "automatic", "description"]


def _summary(blueprint: Blueprint) -> dict:
    return {
        "version": blueprint.version, "title": blueprint.title, "is_active": blueprint.is_active,
        "levels": [{f: getattr(lv, f) for f in _LEVEL_FIELDS} for lv in blueprint.levels.all()],
        "rules": [{f: getattr(r, f) for f in _RULE_FIELDS} for r in blueprint.rules.all()],
    }


def _check_maintainer(actor) -> None:
    """ENISA maintains the Blueprint (its rolling annex): ENISA's organisation admins."""
    if not is_network_admin(actor):
        raise PermissionDenied("Only ENISA's administrators maintain the Blueprint.")


@transaction.atomic
def draft_blueprint(*, actor, based_on: Blueprint, title: str = "") -> Blueprint:
    """A new, inactive version copied from ``based_on``, to edit before activating."""
    _check_maintainer(actor)
    version = (Blueprint.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    draft = Blueprint.objects.create(version=version, title=title or f"{based_on.title} (draft v{version})",
                                     created_by=actor if getattr(actor, "is_authenticated", False) else None)
    CrisisLevel.objects.bulk_create(
        [CrisisLevel(blueprint=draft, **{f: getattr(lv, f) for f in _LEVEL_FIELDS}) for lv in based_on.levels.all()]
    )
    EscalationRule.objects.bulk_create(
        [EscalationRule(blueprint=draft, **{f: getattr(r, f) for f in _RULE_FIELDS}) for r in based_on.rules.all()]
    )
    audit.record(actor=actor, action="blueprint.drafted", obj=draft, after=_summary(draft))
    return draft


def problems(blueprint: Blueprint) -> list[str]:
    """The engine's checks plus those of the levels' audiences, which need the database."""
    errors = escalation.validate(blueprint_spec(blueprint))
    known_groups = set(Group.objects.values_list("name", flat=True))
    for level in blueprint.levels.all():
        where = f"Level {level.number}"
        for field in ("declare_bodies", "deescalate_bodies", "propose_bodies"):
            errors += bodies.problems(getattr(level, field), f"{where} {field}")
        errors += _mode_problems(level, where)
        for name in level.alerted_groups:
            if name not in known_groups:
                errors.append(f"{where} names an unknown group {name!r} (e.g. {Community.EU_CYCLONE}).")
        for role in level.declare_roles:
            if role not in Role.values:
                errors.append(f"{where} names an unknown role {role!r}.")
        for field in ("ack_minutes", "update_interval_minutes"):
            value = getattr(level, field)
            if value is not None and not 1 <= value <= 30 * 24 * 60:
                errors.append(f"{where}: {field} {value} is out of range 1–43200 minutes.")
        if level.number > 0 and not level.declare_bodies:
            errors.append(f"{where} has no body in charge (declare_bodies): nobody could declare it.")
        if level.number > 0 and not level.deescalate_bodies:
            errors.append(f"{where} has no body that may lower it (deescalate_bodies): nobody could de-escalate it.")
    return errors


def _mode_problems(level, where: str) -> list[str]:
    if not isinstance(level.modes, list):
        return [f"{where}: modes must be a list of {{code, name, update_interval_minutes}}."]
    errors, codes = [], []
    for mode in level.modes:
        if not isinstance(mode, dict) or not mode.get("code") or not mode.get("name"):
            errors.append(f"{where}: each mode needs a code and a name, not {mode!r}.")
            continue
        codes.append(mode["code"])
        interval = mode.get("update_interval_minutes")
        if interval is not None and (isinstance(interval, bool) or not isinstance(interval, int)
                                     or not 1 <= interval <= 30 * 24 * 60):
            errors.append(f"{where}: mode {mode['code']} update_interval_minutes {interval!r} is out of range "
                          "1–43200 minutes.")
    if len(set(codes)) != len(codes):
        errors.append(f"{where}: mode codes must be unique.")
    return errors


@transaction.atomic
def activate_blueprint(*, actor, blueprint: Blueprint) -> Blueprint:
    _check_maintainer(actor)
    blueprint = Blueprint.objects.select_for_update().get(pk=blueprint.pk)
    if blueprint.is_active:
        return blueprint
    errors = problems(blueprint)
    if errors:
        raise ValidationError({"blueprint": errors})
    previous = Blueprint.objects.select_for_update().filter(is_active=True).first()
    if previous:
        previous.is_active = False
        previous.save(update_fields=["is_active"])
    blueprint.is_active, blueprint.activated_at = True, timezone.now()
    blueprint.save(update_fields=["is_active", "activated_at"])
    audit.record(actor=actor, action="blueprint.activated", obj=blueprint,
                 before={"active_version": previous.version if previous else None}, after=_summary(blueprint))
    record_event(kind="blueprint.activated", subject=blueprint, actor=actor,
                 payload={"version": blueprint.version, "title": blueprint.title},
                 audience=Audience(groups=[Community.CSIRTS_NETWORK, Community.EU_CYCLONE, Community.NETWORK_ADMINS]))
    return blueprint


def _check_draft(blueprint: Blueprint) -> None:
    """The active version is what the engine applies: it changes only by activating a new draft."""
    if blueprint.pk and Blueprint.objects.filter(pk=blueprint.pk, is_active=True).exists():
        raise ValidationError({"blueprint": f"Version {blueprint.version} is active: draft a new version to change it."})


def _draft_changed(*, actor, blueprint: Blueprint, action: str) -> None:
    record_event(kind="blueprint.draft_changed", subject=blueprint, actor=actor,
                 payload={"version": blueprint.version, "title": blueprint.title, "change": action},
                 audience=Audience(groups=[Community.NETWORK_ADMINS]))


@transaction.atomic
def save_blueprint(*, actor, blueprint: Blueprint) -> Blueprint:
    """ENISA edits a draft's title (the admin's form): audited, never the active version."""
    _check_maintainer(actor)
    _check_draft(blueprint)
    created = blueprint.pk is None
    before = None if created else audit.snapshot(Blueprint.objects.get(pk=blueprint.pk))
    if created:
        blueprint.version = blueprint.version or (Blueprint.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        blueprint.is_active = False
        blueprint.created_by = actor if getattr(actor, "is_authenticated", False) else None
    blueprint.full_clean()
    blueprint.save()
    action = "blueprint.created" if created else "blueprint.updated"
    audit.record(actor=actor, action=action, obj=blueprint, before=before, after=audit.snapshot(blueprint))
    _draft_changed(actor=actor, blueprint=blueprint, action=action)
    return blueprint


@transaction.atomic
def save_blueprint_parts(*, actor, blueprint: Blueprint, saved=(), deleted=()) -> None:
    """A draft's levels and rules, changed together (the admin's inlines), each audited."""
    _check_maintainer(actor)
    _check_draft(blueprint)
    for obj in deleted:
        before = audit.snapshot(obj)
        audit.record(actor=actor, action=f"{obj._meta.model_name}.deleted", obj=obj, before=before)
        obj.delete()
    for obj in saved:
        if obj.blueprint_id != blueprint.pk:
            raise ValidationError({"blueprint": "A level or rule belongs to another version."})
        created = obj.pk is None
        before = None if created else audit.snapshot(type(obj).objects.get(pk=obj.pk))
        obj.save()
        audit.record(actor=actor, action=f"{obj._meta.model_name}.{'created' if created else 'updated'}",
                     obj=obj, before=before, after=audit.snapshot(obj))
    if saved or deleted:
        _draft_changed(actor=actor, blueprint=blueprint, action="blueprint.parts_changed")


@transaction.atomic
def delete_blueprint_drafts(*, actor, blueprints) -> int:
    """Discard drafts that were never activated; the active one and past ones stay (history)."""
    _check_maintainer(actor)
    blueprints = list(blueprints)
    for blueprint in blueprints:
        if blueprint.is_active or blueprint.activated_at is not None:
            raise ValidationError({"blueprint": f"Version {blueprint.version} has been active: it is history and stays."})
    for blueprint in blueprints:
        audit.record(actor=actor, action="blueprint.deleted", obj=blueprint, before=_summary(blueprint))
        blueprint.delete()
    return len(blueprints)
