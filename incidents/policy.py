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
from datetime import timezone as dt_timezone

from django.db.models import QuerySet
from django.utils import timezone

from incidents import bodies, selectors
from incidents.models import Alert, CrisisLevel, Incident, LevelProposal, Observable, Share, Task
from liaison.exercise_time import LIVE, deadline
from liaison.models import Organisation, User
from liaison.policy import acting_memberships
from liaison.selectors import organisations_in_groups, presidency_on
from liaison.roles import OrganisationKind
from liaison.roles import Role as LiaisonRole

ANSWERED_ALERT_STATES = (Alert.State.ACKNOWLEDGED, Alert.State.NOT_AFFECTED)


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


def may_edit_observable(user, observable: Observable) -> bool:
    """The reporting organisation's editors change an observable's note, TLP and tags, or delete it; a recipient
    reads it only (TLP: recipients do not rewrite the source's information)."""
    return can_edit(user, observable.incident)


def may_tag(user, incident: Incident) -> bool:
    """Tags classify the incident for everyone who sees it: the reporting organisation's editors set them."""
    return can_edit(user, incident)


# --- Tasks: each organisation plans its own work ------------------------------------------------------


def may_add_task(user, incident: Incident) -> bool:
    """A member of an organisation that sees the incident plans its own organisation's work on it."""
    return (getattr(user, "is_authenticated", False) and acting_memberships(user).exists()
            and may_see_incident(user, incident.pk))


def may_manage_task(user, task: Task) -> bool:
    """A task is its organisation's: its members edit, assign, complete and delete it; nobody else sees it."""
    return getattr(user, "is_authenticated", False) and acting_memberships(user).filter(
        organisation_id=task.organisation_id).exists()


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
    return getattr(user, "is_authenticated", False) and acting_memberships(user).exists()


def may_post_situation_update(user, incident: Incident) -> bool:
    """A situation update is a timeline entry: the same people as ``may_post_update``."""
    return may_post_update(user, incident)


# --- Crisis levels: the Blueprint's bodies in charge (incidents/bodies.py) --------------------------


def seats_of(user) -> list[bodies.Seat]:
    """The person's memberships as the bodies test reads them (one query)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return [bodies.Seat(kind, ms, ms_kind, role) for kind, ms, ms_kind, role in acting_memberships(user).filter(
        organisation__is_active=True).values_list("organisation__kind", "organisation__member_state_id",
                                                  "organisation__member_state__kind", "role")]


def presidency_state_id(day=None) -> int | None:
    """The member state holding the Council Presidency today (data: liaison's CouncilPresidency)."""
    presidency = presidency_on(day or timezone.localdate(timezone=dt_timezone.utc))
    return presidency.member_state_id if presidency else None


class _BodyContext:
    """What the bodies test needs about one person and one incident, read once."""

    def __init__(self, user, incident: Incident, *, seats=None, presidency=None):
        self.seats = seats_of(user) if seats is None else seats
        self.reporting_state_id = incident.reporting_organisation.member_state_id
        self._presidency = presidency

    @property
    def presidency(self):
        if self._presidency is None:
            self._presidency = presidency_state_id() or 0
        return self._presidency or None

    def holds(self, body_codes, roles) -> bool:
        if not self.seats or not body_codes:
            return False
        return bodies.holds(self.seats, body_codes, roles, reporting_state_id=self.reporting_state_id,
                            presidency_state_id=self.presidency)


def may_declare_level(user, incident: Incident, level: CrisisLevel, *, context: _BodyContext | None = None) -> bool:
    """A declare role within one of the bodies the Blueprint names for ``level`` (the Presidency alone for level 3)."""
    context = context or _BodyContext(user, incident)
    return level.number > 0 and context.holds(level.declare_bodies, level.declare_roles)


def declarable_levels(user, incident: Incident, *, levels=None, context: _BodyContext | None = None) -> list[CrisisLevel]:
    """Levels above the current one that the user may declare."""
    context = context or _BodyContext(user, incident)
    return [lv for lv in _levels(levels) if lv.number > incident.crisis_level
            and may_declare_level(user, incident, lv, context=context)]


def may_propose_level(user, incident: Incident, level: CrisisLevel, *, context: _BodyContext | None = None) -> bool:
    """EU-CyCLONe proposes the political level to the Presidency; whoever may declare it declares instead."""
    context = context or _BodyContext(user, incident)
    return (level.number > incident.crisis_level and context.holds(level.propose_bodies, level.declare_roles)
            and not may_declare_level(user, incident, level, context=context))


def proposable_levels(user, incident: Incident, *, levels=None, context: _BodyContext | None = None) -> list[CrisisLevel]:
    """The levels the user may propose now: a level already proposed and waiting for its decision is not offered."""
    context = context or _BodyContext(user, incident)
    offered = [lv for lv in _levels(levels) if may_propose_level(user, incident, lv, context=context)]
    if offered and incident.pk:
        waiting = set(LevelProposal.objects.filter(incident_id=incident.pk, state=LevelProposal.State.OPEN)
                      .values_list("level", flat=True))
        offered = [lv for lv in offered if lv.number not in waiting]
    return offered


def may_deescalate(user, incident: Incident, *, levels=None, context: _BodyContext | None = None) -> bool:
    """Lowering a level is for the body that declares it, not any one member organisation of the network."""
    current = next((lv for lv in _levels(levels) if lv.number == incident.crisis_level), None)
    if current is None or incident.crisis_level == 0:
        return False
    context = context or _BodyContext(user, incident)
    return context.holds(current.deescalate_bodies, current.declare_roles)


def deescalatable_levels(user, incident: Incident, *, levels=None, context: _BodyContext | None = None) -> list[int]:
    """The levels below the current one the user may lower the incident to (all of them, or none)."""
    if not may_deescalate(user, incident, levels=levels, context=context):
        return []
    return list(range(incident.crisis_level))


def settable_ipcr_modes(user, incident: Incident, *, levels=None, context: _BodyContext | None = None) -> list[dict]:
    """At a level with modes (the political level), the body that declares it sets the mode: the Presidency."""
    current = next((lv for lv in _levels(levels) if lv.number == incident.crisis_level), None)
    if current is None or not current.modes:
        return []
    context = context or _BodyContext(user, incident)
    return list(current.modes) if context.holds(current.declare_bodies, current.declare_roles) else []


def may_decide_proposal(user, proposal: LevelProposal, *, levels=None, seats=None, presidency=None) -> bool:
    """An open proposal is decided by those who may declare its level (the Presidency for the political level)."""
    if proposal.state != LevelProposal.State.OPEN:
        return False
    level = next((lv for lv in _levels(levels) if lv.number == proposal.level), None)
    if level is None or proposal.level <= proposal.incident.crisis_level:
        return False
    context = _BodyContext(user, proposal.incident, seats=seats, presidency=presidency)
    return may_declare_level(user, proposal.incident, level, context=context)


def proposals_to_decide(user) -> list[LevelProposal]:
    """The open proposals waiting for this person's decision, newest first (their board and the API)."""
    seats = seats_of(user)
    if not seats:
        return []
    levels, presidency = _levels(), presidency_state_id() or 0
    proposals = selectors.open_level_proposals().select_related("incident__reporting_organisation")
    return [p for p in proposals
            if may_decide_proposal(user, p, levels=levels, seats=seats, presidency=presidency)]


def deciding_organisations(incident: Incident, level: CrisisLevel) -> list:
    """The active organisations that act for the bodies declaring ``level`` for this incident, today."""
    states = {"reporting_state_id": incident.reporting_organisation.member_state_id,
              "presidency_state_id": presidency_state_id()}
    found = {}
    for code in level.declare_bodies:
        body = bodies.BODIES.get(code)
        if body is None:
            continue
        if body.community:
            orgs = organisations_in_groups([body.community])
        elif state_id := body.state_id(**states):
            orgs = Organisation.objects.filter(is_active=True, member_state_id=state_id,
                                               kind__in=body.kinds).select_related("group")
        else:
            orgs = []
        found.update({o.pk: o for o in orgs})
    return sorted(found.values(), key=lambda o: o.code)


def visible_proposal_ids(user, ids) -> set[str]:
    """Of these proposals, those the user decides or whose incident the user sees (events, audit log)."""
    ids = {int(i) for i in ids if str(i).isdigit()}
    if not ids or not getattr(user, "is_authenticated", False):
        return set()
    proposals = list(LevelProposal.objects.filter(pk__in=ids).select_related("incident__reporting_organisation"))
    seen = set(selectors.incidents_visible_to(user).filter(pk__in=[p.incident_id for p in proposals])
               .values_list("pk", flat=True))
    levels, seats, presidency = _levels(), seats_of(user), presidency_state_id() or 0
    return {str(p.pk) for p in proposals if p.incident_id in seen or (
        p.state == LevelProposal.State.OPEN and may_decide_proposal(user, p, levels=levels, seats=seats,
                                                                    presidency=presidency))}


def level_bodies_sentence(level: CrisisLevel, *, lowering: bool = False) -> str:
    """Who declares (or, ``lowering``, lowers) a level, in words: for refusals and the "who acts next" line."""
    return bodies.describe(level.deescalate_bodies if lowering else level.declare_bodies)


def situation_update_due(*, since_times, level: CrisisLevel | None, mode: str = "",
                         time_scale=LIVE) -> datetime | None:
    """When a situation update is due: the level's (or its IPCR mode's) interval after the latest of ``since_times``.

    ``since_times`` are the last situation update, the last level change and the incident's
    creation (any may be None). ``time_scale``: the incident's exercise's (``liaison.exercise_time``).
    The one rule the sweep's clock and the board both use.
    """
    interval = level.update_interval_for(mode) if level is not None else None
    if not interval:
        return None
    since = max(t for t in since_times if t)
    return deadline(since, timedelta(minutes=interval), scale=time_scale)


# --- Alerts ---------------------------------------------------------------------------------------


def is_answerable_by(user, alert: Alert, *, organisation_ids: set[int] | None = None) -> bool:
    """An open alert is answered by a member of the organisation it is addressed to."""
    if alert.state in ANSWERED_ALERT_STATES or not getattr(user, "is_authenticated", False):
        return False
    if organisation_ids is not None:
        return alert.organisation_id in organisation_ids
    return acting_memberships(user).filter(organisation_id=alert.organisation_id).exists()


def may_answer_alert(user, alert: Alert) -> bool:
    """Whether the user's organisation is the addressee (answered or not): else the alert is refused."""
    return getattr(user, "is_authenticated", False) and acting_memberships(user).filter(
        organisation_id=alert.organisation_id).exists()


def widened_alert_organisations() -> QuerySet[Organisation]:
    """Who is told, beyond the alerted organisation, once an alert goes unanswered after its reminder:
    ENISA (every active ENISA organisation), whose people see it in their dashboard's inbox."""
    return Organisation.objects.filter(kind=OrganisationKind.ENISA, is_active=True)


def widened_alert_emailed_people() -> QuerySet[User]:
    """Of those, e-mail (which leaves the portal) goes to ENISA's liaison officers only, the people who
    chase the silence. One membership holds every condition, so a person's other organisations bring
    their teams nothing."""
    return User.objects.filter(
        memberships__organisation__in=widened_alert_organisations(), memberships__role=LiaisonRole.LIAISON_OFFICER,
        is_active=True, is_service_account=False,
    ).distinct()


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
    edit_observables: bool
    tag: bool
    add_tasks: bool
    post_update: bool
    post_situation_update: bool
    inform_other_member_states: bool
    respond_initially: bool
    request_intermediate_report: bool
    declarable_levels: tuple
    deescalatable_levels: tuple
    proposable_levels: tuple
    ipcr_modes: tuple
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
    memberships = list(acting_memberships(user).values_list("organisation_id", "organisation__kind",
                                                    "organisation__member_state_id")) if authenticated else []
    org_ids = {org for org, _, _ in memberships}
    reporting = incident.reporting_organisation
    originator = reporting.group_id in {pk for pk, _ in group_rows}
    editor = authenticated and can_edit(user, incident)
    authority = bool(reporting.member_state_id) and any(
        kind in selectors.AUTHORITY_KINDS and ms == reporting.member_state_id for _, kind, ms in memberships)
    levels = _levels(levels)
    context = _BodyContext(user, incident)
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
        edit_observables=editor,
        tag=editor,
        add_tasks=bool(memberships),  # the incident page is shown to those who see the incident
        post_update=bool(memberships),
        post_situation_update=bool(memberships),
        inform_other_member_states=authority and incident.affected_member_states.count() >= 2,
        respond_initially=authority,
        request_intermediate_report=authority and not originator and incident.carries_clocks,
        declarable_levels=tuple(declarable_levels(user, incident, levels=levels, context=context)),
        deescalatable_levels=tuple(deescalatable_levels(user, incident, levels=levels, context=context)),
        proposable_levels=tuple(proposable_levels(user, incident, levels=levels, context=context)),
        ipcr_modes=tuple(settable_ipcr_modes(user, incident, levels=levels, context=context)),
        answerable_alert_ids=frozenset(a.pk for a in alerts if is_answerable_by(user, a, organisation_ids=org_ids)),
    )


# --- "What you can do now" -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NextAction:
    """One thing the person may do now on the incident page: ``code`` names it, ``level``/``kind`` say which."""

    code: str
    level: int | None = None
    kind: str = ""

    @property
    def urgent(self) -> bool:
        """Waiting for this person: an answer, a decision, a report or notice the law asks for."""
        return self.code in URGENT_ACTIONS


URGENT_ACTIONS = frozenset({"answer_alert", "decide_proposal", "submit_report", "respond_initially",
                            "inform_other_member_states", "consent_network_sharing"})


def next_actions(capabilities: IncidentCapabilities, *, next_report: str | None = None, proposals=(),
                 consent_pending: bool = False, inform_pending: bool = False,
                 response_pending: bool = False) -> list[NextAction]:
    """The actions the page offers this person now, from their capabilities, those waiting for them first.

    ``next_report``: the NIS2 report the clocks ask for next; ``proposals``: the open proposals'
    levels; the flags: what is still to do (consent asked, states not informed, no response yet).
    """
    caps = capabilities
    declarable = {level.number for level in caps.declarable_levels}
    found = []
    if caps.answerable_alert_ids:
        found.append(NextAction("answer_alert"))
    found += [NextAction("decide_proposal", level=n) for n in sorted(set(proposals)) if n in declarable]
    if caps.submit_reports and next_report:
        found.append(NextAction("submit_report", kind=next_report))
    if caps.respond_initially and response_pending:
        found.append(NextAction("respond_initially"))
    if caps.inform_other_member_states and inform_pending:
        found.append(NextAction("inform_other_member_states"))
    if caps.originator and consent_pending:
        found.append(NextAction("consent_network_sharing"))
    found += [NextAction("declare_level", level=lv.number) for lv in caps.declarable_levels
              if lv.number not in proposals][:1]
    found += [NextAction("propose_level", level=lv.number) for lv in caps.proposable_levels][:1]
    if caps.ipcr_modes:
        found.append(NextAction("set_ipcr_mode"))
    if caps.deescalate:
        found.append(NextAction("deescalate"))
    if caps.request_intermediate_report:
        found.append(NextAction("request_intermediate_report"))
    for code, allowed in (("edit", caps.edit), ("share", caps.share), ("change_status", caps.change_status),
                          ("post_update", caps.post_update)):
        if allowed:
            found.append(NextAction(code))
    return found


def who_acts_next(incident: Incident, *, levels, proposals=(), next_report_label: str = "") -> str:
    """Who moves the incident on when this person has nothing to do: the answer the page gives instead of buttons."""
    by_number = {level.number: level for level in levels}
    waiting = [by_number[n] for n in sorted(set(proposals)) if n in by_number]
    if waiting:
        level = waiting[-1]
        return (f"{_capitalised(level_bodies_sentence(level))} decides on level {level.number} ({level.name}); "
                "you will see the decision here.")
    reporter = incident.reporting_organisation.name
    if next_report_label:
        return f"{reporter} submits the {next_report_label.lower()} next; the clocks above say when it is due."
    above = by_number.get(incident.crisis_level + 1)
    if above is not None and above.declare_bodies:
        return (f"{reporter} keeps the facts current; {level_bodies_sentence(above)} may declare level "
                f"{above.number} ({above.name}).")
    current = by_number.get(incident.crisis_level)
    if current is not None and current.deescalate_bodies:
        return f"{_capitalised(bodies.describe(current.deescalate_bodies))} lowers the level when the crisis is over."
    return f"{reporter} keeps the facts current."


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- The audience of an escalation (issue 12 §2) -----------------------------------------------------


# --- The dashboard: which incident panels a person's work calls for -----------------------------


def works_on_incidents(user) -> bool:
    """Analysts and crisis managers report and follow incidents: their dashboard leads there."""
    return _has_role(user, {LiaisonRole.ANALYST, LiaisonRole.CRISIS_MANAGER})


def follows_crisis_board(user) -> bool:
    """Liaison officers follow the live crisis board."""
    return _has_role(user, {LiaisonRole.LIAISON_OFFICER})


def follows_incidents(user) -> bool:
    """Whose work the incident pages are (the list, the board, the Blueprint): everyone acting for an organisation
    of the network, except a Reserve provider's staff, who see an incident only once a requester shares it and
    find it through their engagements (reserve.policy)."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser:
        return True
    return any(seat.kind != OrganisationKind.RESERVE_PROVIDER for seat in seats_of(user))


def _has_role(user, roles) -> bool:
    return getattr(user, "is_authenticated", False) and acting_memberships(user).filter(
        role__in=roles).exists()


def may_see_recipients(user, incident: Incident) -> bool:
    """Who else received an incident is the source's to know: a recipient learns only that it has it."""
    return is_originator(user, incident)


def may_consent_to_network_sharing(user, incident: Incident) -> bool:
    """Only the source widens a TLP:AMBER incident to the networks its escalation alerted (DOMAIN.md)."""
    return is_originator(user, incident)
