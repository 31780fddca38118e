"""Sharing under TLP 2.0: grants, revocations, label changes, the Art. 23(6) one-click share."""


from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from guardian.shortcuts import remove_perm

from csoa_portal import audit
from incidents import tasks
from incidents import tlp as tlp_rules
from incidents.models import Incident, IncidentGroupObjectPermission, Share
from incidents.selectors import (
    VIEW,
    can_edit,
    is_originator,
)
from incidents.services.common import _event, _snapshot, queue_on_commit
from incidents.services.reporting import sync_deadlines
from incidents.vocabulary import TLP
from liaison.models import MemberState, Organisation, User
from liaison.roles import Community


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
    return _grant(incident=incident, targets=targets, actor=actor)


def _grant(*, incident: Incident, targets, actor: User | None, why: str = "") -> list[Share]:
    already = set(incident.shares.values_list("group_id", flat=True)) | {incident.reporting_organisation.group_id}
    new = []
    for kind, group, label in targets:
        if group.pk not in already:
            already.add(group.pk)
            new.append(Share(incident=incident, target_kind=kind, group=group, label=label, shared_by=actor))
    # In bulk: an escalation shares with a whole network (dozens of organisations) at once.
    created = Share.objects.bulk_create(new)
    view = Permission.objects.get(codename=VIEW, content_type__app_label="incidents")
    IncidentGroupObjectPermission.objects.bulk_create(
        [IncidentGroupObjectPermission(permission=view, group_id=s.group_id, content_object=incident) for s in created],
        ignore_conflicts=True,
    )
    if created:
        audit.record(actor=actor, action="incident.shared", obj=incident,
                     after={"shared_with": [{"kind": s.target_kind, "group": s.group.name} for s in created],
                            **({"why": why} if why else {})})
        _event("incident.shared", incident, actor=actor,
               payload={"shared_with": [{"kind": s.target_kind, "label": s.label} for s in created],
                        "recipient_groups": [s.group.name for s in created], **({"why": why} if why else {})})
        group_ids = [s.group_id for s in created]
        incident_id = incident.pk
        queue_on_commit(tasks.notify_new_recipients, incident_id, group_ids)
    return created


def share_for_escalation(*, incident: Incident, organisations: list[Organisation], level_name: str) -> list[Share]:
    """The Blueprint puts a network in charge: its organisations get the incident, as far as TLP allows.

    Organisation shares are allowed from TLP:AMBER+STRICT up; a TLP:RED incident is not
    shared (its alerts say only that it exists and who to ask).
    """
    if tlp_rules.share_refusal(tlp=incident.tlp, target_kind=tlp_rules.ORGANISATION):
        return []
    targets = [(tlp_rules.ORGANISATION, o.group, o.name) for o in organisations]
    return _grant(incident=incident, targets=targets, actor=None, why=f"Blueprint: {level_name}")


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


def cross_border_recipients(incident: Incident) -> list[Organisation]:
    """Whom NIS2 Art. 23(6) says to inform: the other affected member states' CSIRTs and ENISA."""
    own = incident.reporting_organisation.member_state_id
    others = incident.affected_member_states.exclude(pk=own)
    return list(
        Organisation.objects.filter(
            models.Q(kind="national_csirt", member_state__in=others, is_active=True) | models.Q(kind="enisa", is_active=True)
        ).select_related("member_state").order_by("kind", "code")
    )


@transaction.atomic
def inform_other_member_states(*, actor: User, incident: Incident) -> list[Share]:
    """The one-click Art. 23(6) share, within the incident's TLP; stops the authority's clock."""
    recipients = cross_border_recipients(incident)
    if not recipients:
        raise ValidationError({"affected_member_states": "No other affected member state to inform."})
    shares = share_incident(actor=actor, incident=incident, organisations=recipients)
    Incident.objects.filter(pk=incident.pk, others_informed_at__isnull=True).update(others_informed_at=timezone.now())
    incident.refresh_from_db()
    sync_deadlines(incident)
    return shares
