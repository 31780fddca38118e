"""Who may do what with an incident, an alert or a share: one answer per user intent.

Services call these to refuse (PermissionDenied, or 404 where the object is not the
user's to see); pages put them in the context (``capabilities``), the API and exports
ask them, templates test the flags and never a role name. A person and an API token
are asked alike: a token acts through its principal, a user of its organisation.

``incident_capabilities`` answers every question of the incident page at once, with a
fixed number of queries; the single predicates are for services and the API.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet

from incidents import selectors
from incidents.models import Alert, CrisisLevel, Incident, Share
from liaison.roles import Role as LiaisonRole
from liaison.roles import role_group_name

ANSWERED_ALERT_STATES = (Alert.State.ACKNOWLEDGED, Alert.State.NOT_AFFECTED)


def _group_names(user) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(user.groups.values_list("name", flat=True))


def _levels(levels=None) -> list[CrisisLevel]:
    return list(levels) if levels is not None else list(selectors.active_blueprint().levels.all())


# --- Seeing ---------------------------------------------------------------------------------------


def may_see_incident(user, incident_id) -> bool:
    """The one definition of "visible" (``selectors.incidents_visible_to``)."""
    return selectors.incidents_visible_to(user).filter(pk=incident_id).exists()


def visible_incidents(user) -> QuerySet[Incident]:
    return selectors.incidents_visible_to(user)


# --- The originator and the editors -----------------------------------------------------------------


def is_originator(user, incident: Incident) -> bool:
    """A member of the reporting organisation (TLP: only the source shares and lowers the label)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.groups.filter(pk=incident.reporting_organisation.group_id).exists()


def linkable_incidents(user) -> QuerySet[Incident]:
    """Incidents the user's organisation reported: only those may it put in front of others (a Reserve request).

    A recipient's action never widens an incident's audience (TLP: recipients do not pass it on).
    """
    if not getattr(user, "is_authenticated", False):
        return Incident.objects.none()
    return selectors.incidents_visible_to(user).filter(
        reporting_organisation__group__in=user.groups.values("id"))


def can_edit(user, incident: Incident) -> bool:
    """Holds the incident's change grant: the reporting organisation."""
    return getattr(user, "is_authenticated", False) and selectors.change_granted(user, incident)


def is_reporting_authority(user, incident: Incident) -> bool:
    """A member of the reporting member state's CSIRT, crisis authority or SPOC."""
    return selectors.reporting_authority_membership(user, incident) is not None


def may_share(user, incident: Incident) -> bool:
    """Only the originating organisation shares: TLP obliges recipients not to pass it on."""
    return is_originator(user, incident)


def may_unshare(user, share: Share) -> bool:
    """Only the originating organisation revokes a share it (or the Blueprint) made."""
    return is_originator(user, share.incident)


def may_change_tlp(user, incident: Incident) -> bool:
    """Editors may relabel; whether a label may be *lowered* (originator only) is the TLP rule's answer."""
    return can_edit(user, incident)


def may_change_status(user, incident: Incident) -> bool:
    return can_edit(user, incident)


def may_submit_report(user, incident: Incident) -> bool:
    """NIS2 reports come from the reporting organisation."""
    return can_edit(user, incident)


def may_add_observables(user, incident: Incident) -> bool:
    return can_edit(user, incident)


def may_inform_other_member_states(user, incident: Incident) -> bool:
    """NIS2 Art. 23(6): the reporting member state's CSIRT, competent authority or SPOC informs the other affected
    member states and ENISA, whoever reported the incident; only when it affects two or more member states.

    Whatever the TLP: a TLP:RED incident is not shared then, its recipients get the reference and
    the obligation (``services.inform_other_member_states``).
    """
    return is_reporting_authority(user, incident) and incident.affected_member_states.count() >= 2


def may_respond_initially(user, incident: Incident) -> bool:
    """NIS2 Art. 23(5): the reporting member state's CSIRT or authority answers the entity."""
    return is_reporting_authority(user, incident)


def may_request_intermediate_report(user, incident: Incident) -> bool:
    """NIS2 Art. 23(4)(c): the reporting state's authority asks the reporter, not itself; for a significant
    incident only (Art. 23(3): a voluntary notification owes no report)."""
    return incident.carries_clocks and is_reporting_authority(user, incident) and not is_originator(user, incident)


def may_post_update(user, incident: Incident) -> bool:
    """Anyone who sees the incident and acts for an organisation may post an update."""
    return getattr(user, "is_authenticated", False) and user.memberships.exists()


def may_post_situation_update(user, incident: Incident) -> bool:
    """A situation update is a timeline entry: the same people as ``may_post_update``."""
    return may_post_update(user, incident)


# --- Crisis levels --------------------------------------------------------------------------------


def declarable_levels(user, incident: Incident, *, levels=None, groups: set[str] | None = None) -> list[CrisisLevel]:
    """Levels above the current one that the user may declare: a declare role within the level's body in charge."""
    groups = _group_names(user) if groups is None else groups
    return [
        lv for lv in _levels(levels)
        if lv.number > incident.crisis_level and groups & set(lv.in_charge_groups)
        and groups & {role_group_name(r) for r in lv.declare_roles}
    ]


def may_declare_level(user, incident: Incident, level: CrisisLevel, *, groups: set[str] | None = None) -> bool:
    """Whether the user is among those who may declare ``level`` (whatever the incident's level now)."""
    groups = _group_names(user) if groups is None else groups
    return bool(groups & set(level.in_charge_groups) and groups & {role_group_name(r) for r in level.declare_roles})


def may_deescalate(user, incident: Incident, *, levels=None, groups: set[str] | None = None) -> bool:
    """De-escalation is a decision of the body in charge of the current level (DOMAIN.md)."""
    groups = _group_names(user) if groups is None else groups
    current = next((lv for lv in _levels(levels) if lv.number == incident.crisis_level), None)
    return bool(current and incident.crisis_level > 0 and groups & set(current.in_charge_groups))


def deescalatable_levels(user, incident: Incident, *, levels=None, groups: set[str] | None = None) -> list[int]:
    """The levels below the current one the user may lower the incident to (all of them, or none)."""
    levels = _levels(levels)
    if not may_deescalate(user, incident, levels=levels, groups=groups):
        return []
    return [n for n in range(incident.crisis_level)]


def situation_update_due(*, since_times, level: CrisisLevel | None) -> datetime | None:
    """When a situation update is due: the level's interval after the latest of ``since_times``.

    ``since_times`` are the last situation update, the last level change and the incident's
    creation (any may be None). The one rule the sweep's clock and the board both use.
    """
    if level is None or not level.update_interval_minutes:
        return None
    since = max(t for t in since_times if t)
    return since + timedelta(minutes=level.update_interval_minutes)


# --- Alerts ---------------------------------------------------------------------------------------


def is_answerable_by(user, alert: Alert, *, organisation_ids: set[int] | None = None) -> bool:
    """An open alert is answered by a member of the organisation it is addressed to."""
    if alert.state in ANSWERED_ALERT_STATES or not getattr(user, "is_authenticated", False):
        return False
    if organisation_ids is not None:
        return alert.organisation_id in organisation_ids
    return user.memberships.filter(organisation_id=alert.organisation_id).exists()


def may_answer_alert(user, alert: Alert) -> bool:
    """Whether the user's organisation is the addressee (answered or not): else the alert is refused."""
    return getattr(user, "is_authenticated", False) and user.memberships.filter(
        organisation_id=alert.organisation_id).exists()


# --- The incident page's answer, at once ----------------------------------------------------------


@dataclass(frozen=True)
class IncidentCapabilities:
    """What the user may do with one incident: the page's buttons and forms read these flags."""

    originator: bool
    see_recipients: bool
    edit: bool
    share: bool
    unshare: bool
    change_tlp: bool
    change_status: bool
    submit_reports: bool
    upload_observables: bool
    post_update: bool
    post_situation_update: bool
    inform_other_member_states: bool
    respond_initially: bool
    request_intermediate_report: bool
    declarable_levels: tuple
    deescalatable_levels: tuple
    answerable_alert_ids: frozenset

    @property
    def declare(self) -> bool:
        return bool(self.declarable_levels)

    @property
    def deescalate(self) -> bool:
        return bool(self.deescalatable_levels)


def incident_capabilities(user, incident: Incident, *, levels=None, alerts=()) -> IncidentCapabilities:
    """Every capability of the incident page in a fixed handful of queries."""
    authenticated = getattr(user, "is_authenticated", False)
    group_rows = list(user.groups.values_list("id", "name")) if authenticated else []
    groups = {name for _, name in group_rows}
    memberships = list(user.memberships.values_list("organisation_id", "organisation__kind",
                                                    "organisation__member_state_id")) if authenticated else []
    org_ids = {org for org, _, _ in memberships}
    reporting = incident.reporting_organisation
    originator = reporting.group_id in {pk for pk, _ in group_rows}
    editor = authenticated and can_edit(user, incident)
    authority = bool(reporting.member_state_id) and any(
        kind in selectors.AUTHORITY_KINDS and ms == reporting.member_state_id for _, kind, ms in memberships)
    levels = _levels(levels)
    return IncidentCapabilities(
        originator=originator,
        see_recipients=originator,
        edit=editor,
        share=originator,
        unshare=originator,
        change_tlp=editor,
        change_status=editor,
        submit_reports=editor,
        upload_observables=editor,
        post_update=bool(memberships),
        post_situation_update=bool(memberships),
        inform_other_member_states=authority and incident.affected_member_states.count() >= 2,
        respond_initially=authority,
        request_intermediate_report=authority and not originator and incident.carries_clocks,
        declarable_levels=tuple(declarable_levels(user, incident, levels=levels, groups=groups)),
        deescalatable_levels=tuple(deescalatable_levels(user, incident, levels=levels, groups=groups)),
        answerable_alert_ids=frozenset(a.pk for a in alerts if is_answerable_by(user, a, organisation_ids=org_ids)),
    )


# --- The audience of an escalation (issue 12 §2) -----------------------------------------------------


# --- The dashboard: which incident panels a person's work calls for -----------------------------


def works_on_incidents(user) -> bool:
    """Analysts and crisis managers report and follow incidents: their dashboard leads there."""
    return _has_role(user, {LiaisonRole.ANALYST, LiaisonRole.CRISIS_MANAGER})


def follows_crisis_board(user) -> bool:
    """Liaison officers follow the live crisis board."""
    return _has_role(user, {LiaisonRole.LIAISON_OFFICER})


def _has_role(user, roles) -> bool:
    return getattr(user, "is_authenticated", False) and user.memberships.filter(
        role__in=roles, organisation__is_active=True).exists()


def may_see_recipients(user, incident: Incident) -> bool:
    """Who else received an incident is the source's to know: a recipient learns only that it has it."""
    return is_originator(user, incident)


def may_consent_to_network_sharing(user, incident: Incident) -> bool:
    """Only the source widens a TLP:AMBER incident to the networks its escalation alerted (DOMAIN.md)."""
    return is_originator(user, incident)
