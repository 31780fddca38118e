"""Writes to incidents: reporting and sharing under TLP 2.0, each audited with its Event."""

from datetime import timedelta

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from csoa_portal import audit
from incidents import tlp as tlp_rules
from incidents.models import Incident, Share
from incidents.selectors import CHANGE, VIEW, audience_group_names, can_edit, is_originator
from incidents.vocabulary import TLP, Severity
from liaison.events import Audience, record_event
from liaison.models import MemberState, Organisation, User
from liaison.roles import Community

# Clocks drift between a SOC tool and the portal; awareness minutes "in the future" is skew, not intent.
CLOCK_SKEW = timedelta(minutes=5)

_SNAPSHOT_FIELDS = [
    "title", "description", "entity_type", "category", "severity", "suspected_malicious", "cross_border_impact",
    "national_capacity_exceeded", "aware_at", "tlp", "status", "crisis_level", "affected_member_states", "sectors",
]


def _snapshot(incident: Incident) -> dict:
    return audit.snapshot(incident, fields=_SNAPSHOT_FIELDS + ["reporting_organisation"])


def _event(kind: str, incident: Incident, *, actor, payload: dict | None = None):
    record_event(
        kind=kind,
        subject=incident,
        actor=actor,
        payload={"reference": incident.reference, "title": incident.title, "tlp": incident.tlp, **(payload or {})},
        audience=Audience(groups=audience_group_names(incident)),
    )


def _check_membership(actor, organisation: Organisation) -> None:
    if not actor.memberships.filter(organisation=organisation).exists():
        raise PermissionDenied(f"You do not act for {organisation.code}.")


@transaction.atomic
def report_incident(
    *,
    actor: User,
    organisation: Organisation,
    title: str,
    aware_at,
    tlp: str = TLP.AMBER,
    severity: str = Severity.MEDIUM,
    description: str = "",
    affected_member_states=(),
    sectors=(),
    entity_type: str = "",
    category=None,
    suspected_malicious: bool | None = None,
    cross_border_impact: bool | None = None,
    national_capacity_exceeded: bool = False,
) -> Incident:
    """Record a report; the first one may be a minimal early warning (title, awareness, TLP)."""
    _check_membership(actor, organisation)
    if aware_at is None:
        raise ValidationError({"aware_at": "Say when the entity became aware of the incident."})
    if aware_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"aware_at": "The time of awareness cannot be in the future."})
    now = timezone.now()
    incident = Incident(
        title=(title or "").strip(),
        description=description,
        reporting_organisation=organisation,
        reported_by=actor,
        entity_type=entity_type,
        category=category,
        severity=severity,
        suspected_malicious=suspected_malicious,
        cross_border_impact=cross_border_impact,
        national_capacity_exceeded=national_capacity_exceeded,
        aware_at=aware_at,
        tlp=tlp,
        created_at=now,
        updated_at=now,
    )
    incident.full_clean()
    incident.save()
    incident.affected_member_states.set(affected_member_states)
    incident.sectors.set(sectors)
    for codename in (VIEW, CHANGE):
        assign_perm(f"incidents.{codename}", organisation.group, incident)
    audit.record(actor=actor, action="incident.created", obj=incident, organisation_code=organisation.code,
                 after=_snapshot(incident))
    _event("incident.created", incident, actor=actor)
    return incident


def _share_targets(*, organisations, member_states, communities, people) -> list[tuple[str, Group, str]]:
    targets = [(tlp_rules.ORGANISATION, o.group, o.name) for o in organisations]
    targets += [(tlp_rules.MEMBER_STATE, m.group, m.name) for m in member_states]
    for name in communities:
        if name not in Community.LABELS:
            raise ValidationError({"communities": f"Unknown community {name!r}."})
        targets.append((tlp_rules.COMMUNITY, Group.objects.get_or_create(name=name)[0], Community.LABELS[name]))
    for person in people:
        group, _ = Group.objects.get_or_create(name=f"person:{person.pk}")
        person.groups.add(group)
        targets.append((tlp_rules.PERSON, group, str(person)))
    return targets


@transaction.atomic
def share_incident(
    *,
    actor: User,
    incident: Incident,
    organisations: list[Organisation] = (),
    member_states: list[MemberState] = (),
    communities: list[str] = (),
    people: list[User] = (),
) -> list[Share]:
    """Grant the incident to new recipients, all or nothing, within its TLP.

    Only the originating organisation shares: TLP obliges recipients not to pass it on.
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if not is_originator(actor, incident):
        raise PermissionDenied("Only the originating organisation may share this incident.")
    targets = _share_targets(organisations=organisations, member_states=member_states,
                             communities=communities, people=people)
    if not targets:
        raise ValidationError({"targets": "Choose at least one recipient."})
    refusals = sorted({r for kind, _, _ in targets if (r := tlp_rules.share_refusal(tlp=incident.tlp, target_kind=kind))})
    if refusals:
        raise ValidationError({"targets": refusals})
    already = set(incident.shares.values_list("group_id", flat=True)) | {incident.reporting_organisation.group_id}
    created = []
    for kind, group, label in targets:
        if group.pk in already:
            continue
        already.add(group.pk)
        created.append(Share.objects.create(incident=incident, target_kind=kind, group=group, label=label, shared_by=actor))
        assign_perm(f"incidents.{VIEW}", group, incident)
    if created:
        audit.record(actor=actor, action="incident.shared", obj=incident,
                     after={"shared_with": [{"kind": s.target_kind, "group": s.group.name} for s in created]})
        _event("incident.shared", incident, actor=actor,
               payload={"shared_with": [{"kind": s.target_kind, "label": s.label} for s in created]})
    return created


@transaction.atomic
def unshare_incident(*, actor: User, share: Share) -> None:
    """Revoke a share: the recipient loses access on every read path at once."""
    incident = Incident.objects.select_for_update().get(pk=share.incident_id)
    if not is_originator(actor, incident):
        raise PermissionDenied("Only the originating organisation may revoke a share.")
    remove_perm(f"incidents.{VIEW}", share.group, incident)
    before = {"kind": share.target_kind, "group": share.group.name}
    label = share.label
    share.delete()
    audit.record(actor=actor, action="incident.unshared", obj=incident, before=before)
    _event("incident.unshared", incident, actor=actor, payload={"unshared": label})


@transaction.atomic
def change_tlp(*, actor: User, incident: Incident, tlp: str) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if not can_edit(actor, incident):
        raise PermissionDenied("You may not change this incident.")
    if tlp not in TLP.values:
        raise ValidationError({"tlp": f"Unknown TLP label {tlp!r}; use one of {', '.join(TLP.values)}."})
    refusal = tlp_rules.tlp_change_refusal(
        current=incident.tlp, new=tlp, by_originator=is_originator(actor, incident),
        shared_kinds=set(incident.shares.values_list("target_kind", flat=True)),
    )
    if refusal:
        raise ValidationError({"tlp": refusal})
    if tlp == incident.tlp:
        return incident
    before = _snapshot(incident)
    incident.tlp = tlp
    incident.version += 1
    incident.updated_at = timezone.now()
    incident.save(update_fields=["tlp", "version", "updated_at"])
    audit.record(actor=actor, action="incident.tlp_changed", obj=incident, before=before, after=_snapshot(incident))
    _event("incident.updated", incident, actor=actor, payload={"changed": ["tlp"]})
    return incident

