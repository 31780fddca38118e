"""Sharing under TLP 2.0: grants, revocations, label changes, the Art. 23(6) one-click share."""


from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import remove_perm

from csoa_portal import audit
from incidents import notifications
from incidents import tlp as tlp_rules
from incidents import selectors
from incidents.models import Alert, CrossBorderNotice, Incident, IncidentGroupObjectPermission, Share
from incidents.policy import (
    may_consent_to_network_sharing,
    may_inform_other_member_states,
    may_share,
    may_unshare,
)
from incidents.selectors import VIEW, network_consent_recipients, originator_contact
from incidents.services.common import _event, _relabel
from incidents.services.reporting import sync_deadlines
from incidents.vocabulary import TLP
from liaison.events import Audience, NewEvent, record_events
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
    if not may_share(actor, incident):
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
        record_events(_shared_events(incident, created, actor=actor, why=why))
        group_ids = [s.group_id for s in created]
        Alert.objects.filter(incident=incident, organisation__group_id__in=group_ids).update(
            disclosure=Alert.Disclosure.SHARED)
        # E-mail to the outbox in this transaction (sent after the commit, by the sweep if the task is lost).
        first_share = min((s.pk for s in created if s.pk), default=None)
        notifications.email_new_recipients(incident_id=incident.pk, group_ids=group_ids,
                                           key=f"share:{first_share}" if first_share else "")
    return created


def _shared_events(incident: Incident, created: list[Share], *, actor, why: str) -> list[NewEvent]:
    """Each audience learns only what it may know: the originating organisation gets the whole list,
    each new recipient an event naming only itself (recipients never learn who else got it)."""
    base = {"reference": incident.reference, "title": incident.title, "tlp": incident.tlp, **({"why": why} if why else {})}
    events = [NewEvent(
        kind="incident.shared", subject=incident, actor=actor,
        payload={**base, "shared_with": [{"kind": s.target_kind, "label": s.label} for s in created],
                 "recipient_groups": []},
        audience=Audience(organisations=[incident.reporting_organisation]),
    )]
    events += [NewEvent(
        kind="incident.shared", subject=incident, actor=actor,
        payload={**base, "shared_with": [{"kind": s.target_kind, "label": s.label}],
                 "recipient_groups": [s.group.name]},
        audience=Audience(groups=[s.group.name]),
    ) for s in created]
    return events


def disclosure_for_escalation(incident: Incident) -> str:
    """What a newly alerted organisation gets of the incident, by its TLP (DOMAIN.md, levels of cooperation).

    RED and AMBER+STRICT: alerted only (reference, level, reason, the originator's contact);
    AMBER: shared once the originator agrees; GREEN and CLEAR: shared with the network at once.
    """
    if incident.tlp in (TLP.GREEN, TLP.CLEAR):
        return Alert.Disclosure.SHARED
    if incident.tlp == TLP.AMBER:
        return Alert.Disclosure.AWAITING_CONSENT
    return Alert.Disclosure.ALERTED_ONLY


def share_for_escalation(*, incident: Incident, organisations: list[Organisation], level_name: str) -> list[Share]:
    """The Blueprint puts a network in charge: its organisations get the incident only where TLP lets the network have it.

    Only TLP:GREEN and CLEAR incidents are shared with the network's community here; AMBER
    waits for the originator's consent (``consent_to_network_sharing``), RED and AMBER+STRICT
    are alerted only. Whoever caused the escalation (the engine, or a recipient declaring a
    level), the audience widens no further than that.
    """
    if disclosure_for_escalation(incident) != Alert.Disclosure.SHARED:
        return []
    targets = [(tlp_rules.ORGANISATION, o.group, o.name) for o in organisations]
    return _grant(incident=incident, targets=targets, actor=None, why=f"Blueprint: {level_name}")


@transaction.atomic
def consent_to_network_sharing(*, actor: User, incident: Incident, organisations: list[str] | None = None) -> list[Share]:
    """The originator agrees that the networks alerted on its TLP:AMBER incident may read it.

    Shares with every organisation whose alert awaits this consent, in one step, audited.
    ``organisations`` (codes) is the list the originator was shown before confirming: if the
    pending recipients changed meanwhile (a new escalation), nothing is shared and the list
    must be reviewed again.
    """
    incident = Incident.objects.select_for_update(of=("self",)).select_related("reporting_organisation").get(
        pk=incident.pk)
    if not may_consent_to_network_sharing(actor, incident):
        raise PermissionDenied("Only the originating organisation may agree to share the incident with the alerted networks.")
    if incident.tlp != TLP.AMBER:
        how = ("they are alerted only: share with named recipients instead."
               if incident.tlp in (TLP.RED, TLP.AMBER_STRICT)
               else "they are shared with the network as soon as it is alerted.")
        raise ValidationError({"tlp": f"{TLP(incident.tlp).label} incidents are not shared with the alerted networks "
                                      f"by consent: {how}"})
    recipients = network_consent_recipients(incident)
    if not recipients:
        raise ValidationError({"alerts": "No alerted organisation is waiting for your consent."})
    codes = [o.code for o in recipients]
    if organisations is not None and sorted(set(organisations)) != codes:
        raise ValidationError({"organisations": "The organisations waiting for your consent changed since you looked: "
                                                f"now {', '.join(codes)}. Review the list and confirm again."})
    levels = sorted(set(incident.alerts.filter(disclosure=Alert.Disclosure.AWAITING_CONSENT)
                        .values_list("level", flat=True)))
    audit.record(actor=actor, action="incident.network_consent", obj=incident,
                 after={"organisations": codes, "levels": levels})
    shares = _grant(incident=incident, targets=[(tlp_rules.ORGANISATION, o.group, o.name) for o in recipients],
                    actor=actor, why="The originator agreed to share with the alerted networks")
    record_events([NewEvent(
        kind="incident.network_consent", subject=incident, actor=actor,
        payload={"reference": incident.reference, "tlp": incident.tlp, "organisations": codes, "levels": levels},
        audience=Audience(organisations=[incident.reporting_organisation]),
    )])
    return shares


@transaction.atomic
def unshare_incident(*, actor: User, share: Share) -> None:
    """Revoke a share: the recipient loses access on every read path at once."""
    incident = Incident.objects.select_for_update().get(pk=share.incident_id)
    if not may_unshare(actor, share):
        raise PermissionDenied("Only the originating organisation may revoke a share.")
    remove_perm(f"incidents.{VIEW}", share.group, incident)
    # An alerted organisation whose share is revoked is back to knowing only that the incident exists.
    Alert.objects.filter(incident=incident, organisation__group_id=share.group_id).update(
        disclosure=Alert.Disclosure.ALERTED_ONLY)
    before = {"kind": share.target_kind, "group": share.group.name}
    label = share.label
    share.delete()
    audit.record(actor=actor, action="incident.unshared", obj=incident, before=before)
    _event("incident.unshared", incident, actor=actor, payload={"unshared": label})


@transaction.atomic
def change_tlp(*, actor: User, incident: Incident, tlp: str) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if not _relabel(actor, incident, tlp):
        return incident
    incident.version += 1
    incident.updated_at = timezone.now()
    incident.save(update_fields=["tlp", "version", "updated_at"])
    _event("incident.updated", incident, actor=actor, payload={"changed": ["tlp"]})
    return incident


def cross_border_recipients(incident: Incident) -> list[Organisation]:
    """Whom NIS2 Art. 23(6) says to inform: the other affected member states' SPOCs and CSIRTs, and ENISA."""
    return [org for target in selectors.cross_border_targets(incident) for org in target.organisations]


ART_23_6_OBLIGATION = ("NIS2 Art. 23(6): a significant incident reported in {state} affects your member state. "
                       "You are informed of it as the Directive requires.")


@transaction.atomic
def inform_other_member_states(*, actor: User, incident: Incident) -> list[Share]:
    """NIS2 Art. 23(6): tell every other affected member state (its SPOC and CSIRT) and ENISA, in one step.

    The reporting state's CSIRT, competent authority or SPOC does it (``policy``), whoever reported
    the incident. Within the TLP the incident is shared with them; a TLP:RED incident is not (named
    people only): they get its reference, the obligation and whom to ask, never its content. An
    affected state with nobody registered to receive it stays "not informed" and the clock is not
    met until someone is registered and informed.
    """
    incident = Incident.objects.select_for_update(of=("self",)).select_related(
        "reporting_organisation__member_state", "reported_by").get(pk=incident.pk)
    if not may_inform_other_member_states(actor, incident):
        raise PermissionDenied("Only the reporting member state's CSIRT, competent authority or single point of "
                               "contact informs the other affected member states (NIS2 Art. 23(6)).")
    targets = selectors.cross_border_targets(incident)
    if not any(t.member_state for t in targets):
        raise ValidationError({"affected_member_states": "No other affected member state to inform."})
    unreachable = [t.label for t in targets if not t.reachable]
    organisations = [org for t in targets for org in t.organisations]
    if not organisations:
        raise ValidationError({"affected_member_states": "Nobody is registered to receive it in "
                                                         f"{', '.join(unreachable)}: register their SPOC or CSIRT."})
    already = set(incident.cross_border_notices.values_list("organisation_id", flat=True))
    new = [(t, org) for t in targets for org in t.organisations if org.pk not in already]
    content_shared = incident.tlp != TLP.RED
    now = timezone.now()
    notices = CrossBorderNotice.objects.bulk_create([
        CrossBorderNotice(incident=incident, organisation=org, member_state=t.member_state, informed_at=now,
                          informed_by=actor, content_shared=content_shared) for t, org in new])
    shares = []
    if content_shared:
        # Art. 23(6) is the law's own instruction to pass it on: within the TLP, not only by the originator.
        targets_ = [(tlp_rules.ORGANISATION, org.group, org.name) for _, org in new]
        shares = _grant(incident=incident, targets=targets_, actor=actor, why="NIS2 Art. 23(6)")
    elif notices:
        _red_notices(incident, notices, actor=actor)
    audit.record(actor=actor, action="incident.cross_border_informed", obj=incident, after={
        "informed": [org.code for _, org in new], "content_shared": content_shared, "not_reachable": unreachable})
    sync_deadlines(incident)  # records when every other affected state and ENISA had been told
    return shares


def _red_notices(incident: Incident, notices: list[CrossBorderNotice], *, actor: User) -> None:
    """TLP:RED under Art. 23(6): the reference and the obligation, and whom to ask; no title, no content.

    The event's subject is the notice, not the incident: the organisation may not see the
    incident, and its audience alone governs who reads the notice.
    """
    origin = incident.reporting_organisation
    state = origin.member_state.name if origin.member_state else "the EU institutions"
    record_events([NewEvent(
        kind="incident.cross_border_notice", subject=notice, actor=actor,
        payload={"reference": incident.reference, "tlp": incident.tlp, "article": "NIS2 Art. 23(6)",
                 "notice": ART_23_6_OBLIGATION.format(state=state) + f" It is {TLP(incident.tlp).label}: its "
                           f"content goes to named people only; ask {origin.name} at {originator_contact(incident)}.",
                 "recipient_groups": [notice.organisation.group.name]},
        audience=Audience(organisations=[notice.organisation]),
    ) for notice in notices])
    link = f"{settings.PORTAL_BASE_URL}/"
    for notice in notices:
        notifications.email_notice(
            group_ids=[notice.organisation.group_id], key=f"notice:art23_6:{notice.pk}", exercise=incident.exercise_id,
            subject=f"[CSoA Portal] NIS2 Art. 23(6): {incident.reference} concerns your member state "
                    f"({TLP(incident.tlp).label})",
            body=ART_23_6_OBLIGATION.format(state=state) + f"\n\nThe incident is {TLP(incident.tlp).label}: its "
                 f"content goes to named people only. Ask {origin.name} at {originator_contact(incident)}.\n\n"
                 f"The notice is in your dashboard inbox: {link}")
