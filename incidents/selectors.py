"""Who may see which incident: the one definition every read path uses.

Visibility is a guardian ``view_incident`` grant to one of the user's groups
(organisation, member state, community or personal group), checked as a subquery on
the direct foreign-key permission table, never as a list of ids.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, reduce
from operator import or_

from django.contrib.auth.models import Group, Permission
from django.db.models import (
    BooleanField, Case, Count, Exists, F, Func, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When, Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.db.models.lookups import Exact
from django.db.models.signals import post_migrate
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from csoa_portal.db_router import read_connection, replica_reads
from csoa_portal.rows import related
from incidents import clocks, escalation
from incidents.bodies import describe
from incidents.facts import incident_facts
from incidents.models import (
    Alert,
    Blueprint,
    Deadline,
    Escalation,
    Incident,
    LevelProposal,
    IncidentGroupObjectPermission,
    Observable,
    Sector,
    Share,
    Tag,
    Task,
    TimelineEntry,
)
from incidents.tags import tlp_tag
from incidents.vocabulary import SITUATION_TAXONOMY, TLP
from liaison.exercises import current_exercise_id, in_current
from liaison.exercise_time import scale_of
from liaison.models import Event, Exercise, MemberState, Organisation, User
from liaison.events import subjects_per_user
from liaison.policy import acting_memberships
from liaison.selectors import events_visible_to, stream_start, time_zone_of

VIEW = "view_incident"
CHANGE = "change_incident"


@cache
def grant_permission_ids() -> dict[str, int]:
    """The ids of the incident grants' permissions, read once per process: every report writes its grants
    with them. Permissions are rows created by migrate; a flush recreates them under new ids, hence the reset."""
    return dict(Permission.objects.filter(codename__in=(VIEW, CHANGE), content_type__app_label="incidents")
                .values_list("codename", "id"))


post_migrate.connect(lambda **kwargs: grant_permission_ids.cache_clear(), weak=False,
                     dispatch_uid="incidents.selectors.grant_permission_ids")


def _granted(codename: str) -> QuerySet[IncidentGroupObjectPermission]:
    return IncidentGroupObjectPermission.objects.filter(
        permission__codename=codename, permission__content_type__app_label="incidents"
    )


def _group_ids_of(user_id: int) -> list[int]:
    """The user's group ids, read on every request (a membership just removed takes effect at once).

    One plain query on the user–group table: ``user.groups`` joins the groups for nothing, and
    building the ORM's query cost four times the database's answer (bench/incidents_list.py).
    """
    connection = read_connection()  # where the ORM's read would go (a replica inside reading_replica())
    through = User.groups.through._meta
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote(through.get_field('group').column)} FROM {quote(through.db_table)} "
                       f"WHERE {quote(through.get_field('user').column)} = %s", [user_id])
        return [group_id for (group_id,) in cursor.fetchall()]


def incidents_visible_to(user, *, paged: bool = False) -> QuerySet[Incident]:
    """EXISTS over the direct-FK grant table, with the user's few group ids resolved first:
    PostgreSQL then walks incidents newest first and stops at a page, instead of collecting every
    visible id (bench/incidents_list.py: 116 ms → 0.5 ms for ENISA at 100,000; as a subquery the
    groups cost a scan of every grant they hold). The permission's id is a literal, read once per
    process (``grant_permission_ids``): as a scalar subquery (joined to the content types, in
    Permission's ordering) it cost more to build and plan than the rest of the page's query.

    ``paged``: the caller reads a page, newest first (the API's incident list). The grant is then checked per
    incident as the page is walked: an ``OFFSET 0`` in the EXISTS keeps PostgreSQL from turning the EXISTS into a merge
    semi-join, which walks the grants backwards from the newest and so steps over every grant of a
    newer exercise incident before the first live one (bench/exercise_isolation.py, 10 exercises of
    10,000 incidents: the page query 15 ms instead of 1.3 ms; per incident, 2 ms either way). Counts
    and other whole-set reads keep the join.
    """
    if not getattr(user, "is_authenticated", False):
        return Incident.objects.none()
    group_ids = _group_ids_of(user.pk)
    if not group_ids:
        return Incident.objects.none()
    return in_current(Incident.objects.filter(_Granted(grant_permission_ids()[VIEW], group_ids, paged=paged)))


class _Granted(Func):
    """EXISTS over the outer incident's grants of ``permission_id`` to these groups, from SQL written once per shape.

    It is the SQL ``Exists(IncidentGroupObjectPermission.objects.filter(content_object=OuterRef("pk"), …))``
    compiles to, but building, resolving and compiling that subquery per request cost more than
    PostgreSQL's answer to the page (bench/incidents_list.py). The incident's key stays a column
    expression, so its alias follows the query wherever it is nested (``incident__in=…``).
    """

    output_field = BooleanField()

    def __init__(self, permission_id: int, group_ids: list[int], *, paged: bool):
        super().__init__(F("pk"))
        self.permission_id, self.group_ids, self.paged = permission_id, tuple(group_ids), paged

    def as_sql(self, compiler, connection, **extra_context):
        key_sql, key_params = compiler.compile(self.source_expressions[0])
        sql = _granted_sql(connection.ops.quote_name, len(self.group_ids), self.paged).replace("{key}", key_sql)
        return sql, (*key_params, *self.group_ids, self.permission_id)


@cache
def _granted_sql(quote, n_groups: int, paged: bool) -> str:
    grants = IncidentGroupObjectPermission._meta
    alias = quote("visible_grant")  # never one of the ORM's (T0, U0, V0…), whatever the query it is nested in
    column = {name: f"{alias}.{quote(grants.get_field(name).column)}" for name in ("content_object", "group", "permission")}
    groups = ", ".join(["%s"] * n_groups)
    # ``paged``: an OFFSET keeps PostgreSQL from turning the EXISTS into a merge semi-join (see above); unlike the
    # GROUP BY … HAVING it replaced, it lets each probe stay within the grant index (de-csirt's page 1.8 → 1.35 ms).
    return (f"EXISTS(SELECT 1 AS {quote('a')} FROM {quote(grants.db_table)} {alias} WHERE ({column['content_object']} = "
            f"({{key}}) AND {column['group']} IN ({groups}) AND {column['permission']} = %s) LIMIT 1"
            f"{' OFFSET 0' if paged else ''})")


def incident_visible_to(user, incident_id) -> Incident:
    """The incident, or 404 whether it does not exist or is not the user's to see."""
    try:
        return incidents_visible_to(user).select_related("reporting_organisation__member_state").get(pk=incident_id)
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise Http404("No such incident.") from None


def visible_incident_ids(user, ids: set[str]) -> set[str]:
    """Event subject check: which of these incidents the user may still see."""
    numeric = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk) for pk in incidents_visible_to(user).filter(pk__in=numeric).values_list("pk", flat=True)}


def _ids(ids: set[str]) -> list[int]:
    return [int(i) for i in ids if str(i).isdigit()]


def _viewing_groups(incident_ids: list[int], group_ids: set[int]) -> dict[int, set[int]]:
    """For each incident, which of these groups hold its view grant (one query)."""
    rows = IncidentGroupObjectPermission.objects.filter(
        permission__codename=VIEW, permission__content_type__app_label="incidents",
        content_object_id__in=incident_ids, group_id__in=group_ids,
    ).values_list("content_object_id", "group_id")
    granted: dict[int, set[int]] = {}
    for incident_id, group_id in rows:
        granted.setdefault(incident_id, set()).add(group_id)
    return granted


def visible_incident_ids_by_groups(groups_by_user: dict[int, set[int]], ids: set[str]) -> dict[int, set[str]]:
    """``visible_incident_ids`` for many users from their group ids: one query whatever their number."""
    granted = _viewing_groups(_ids(ids), set().union(*groups_by_user.values()))
    return subjects_per_user(groups_by_user, {str(pk): groups for pk, groups in granted.items()})


def visible_alert_ids_by_groups(groups_by_user: dict[int, set[int]], ids: set[str]) -> dict[int, set[str]]:
    """``visible_alert_ids`` for many users: an alert is seen by its organisation and by those who see its incident."""
    alerts = list(Alert.objects.filter(pk__in=_ids(ids)).values_list("pk", "incident_id", "organisation__group_id"))
    granted = _viewing_groups([incident_id for _, incident_id, _ in alerts], set().union(*groups_by_user.values()))
    grants = {str(pk): granted.get(incident_id, set()) | {org_group} for pk, incident_id, org_group in alerts}
    return subjects_per_user(groups_by_user, grants)


def change_granted(user, incident: Incident) -> bool:
    """Whether one of the user's groups holds the incident's change grant (asked by ``incidents.policy.can_edit``)."""
    return _granted(CHANGE).filter(content_object=incident, group__in=user.groups.values("id")).exists()


def audience_group_names(incident: Incident) -> list[str]:
    """Every group that may see the incident: exactly the audience of its events."""
    granted = _granted(VIEW).filter(content_object=incident).values("group_id")
    return list(Group.objects.filter(id__in=Subquery(granted)).values_list("name", flat=True))


def clock_facts(incident: Incident) -> clocks.Facts:
    """The facts the NIS2 clocks run on, read from the incident, its reports, requests and notices."""
    first = {}
    intermediate_reports = []
    for kind, submitted_at in incident.reports.order_by("submitted_at").values_list("kind", "submitted_at"):
        first.setdefault(kind, submitted_at)
        if kind == "intermediate":
            intermediate_reports.append(submitted_at)
    requests = tuple(
        clocks.IntermediateRequest(sequence=seq, requested_at=requested_at, due_at=due_at)
        for seq, requested_at, due_at in incident.deadlines.filter(clock=clocks.Clock.INTERMEDIATE)
        .order_by("sequence").values_list("sequence", "requested_at", "due_at")
    )
    response = incident.timeline.filter(kind="response").order_by("created_at").values_list("created_at", flat=True).first()
    early = [t for t in (first.get("early_warning"), first.get("notification")) if t]
    return clocks.Facts(
        aware_at=incident.aware_at,
        time_zone=reporting_time_zone(incident),
        significant=incident.carries_clocks,
        early_warning_at=min(early) if early else None,
        notification_at=first.get("notification"),
        final_report_at=first.get("final"),
        intermediate_requests=requests,
        intermediate_reports=tuple(intermediate_reports),
        progress_report_at=first.get("progress"),
        handled_at=incident.handled_at,
        initial_response_at=response,
        affected_member_states=incident.affected_member_states.count(),
        multi_member_state_since=incident.multi_member_state_since,
        others_informed_at=cross_border_informed_at(incident),
        time_scale=scale_of(incident),
    )


def clock_facts_of_new(incident: Incident) -> clocks.Facts:
    """``clock_facts`` of an incident ``report_incident`` has just written, from the objects in memory.

    Its reports are the ones the service holds (its prefetch cache): at most its early warning.
    """
    early = min((r.submitted_at for r in related(incident, "reports") if r.kind == "early_warning"), default=None)
    return clock_facts_before_write(incident, early_warning_at=early)


def clock_facts_before_write(incident: Incident, *, early_warning_at) -> clocks.Facts:
    """``clock_facts`` of a new incident, from its fields and member states in memory (the service holds them).

    Nothing has happened to it yet but, perhaps, its early warning at ``early_warning_at``: no request,
    response, notice or handling. The reporting service computes the clocks with it before writing anything.
    """
    return clocks.Facts(
        aware_at=incident.aware_at,
        time_zone=reporting_time_zone(incident),
        significant=incident.carries_clocks,
        early_warning_at=early_warning_at,
        notification_at=None,
        final_report_at=None,
        intermediate_requests=(),
        intermediate_reports=(),
        progress_report_at=None,
        handled_at=incident.handled_at,
        initial_response_at=None,
        affected_member_states=len(related(incident, "affected_member_states")),
        multi_member_state_since=incident.multi_member_state_since,
        others_informed_at=None,  # Art. 23(6): informed once ENISA is too, and no notice exists yet
        time_scale=scale_of(incident),
    )


def reporting_time_zone(incident: Incident) -> str:
    """The reporting member state's zone (data on the state); an organisation of no state reports for the EU level."""
    return time_zone_of(incident.reporting_organisation)


# --- NIS2 Art. 23(6): the other affected member states and ENISA -----------------------------------

CROSS_BORDER_RECEIVER_KINDS = ("spoc", "national_csirt")


@dataclass(frozen=True)
class CrossBorderTarget:
    """One party Art. 23(6) says to inform: another affected state (its SPOC or CSIRT), or ENISA (``member_state`` None)."""

    member_state: MemberState | None
    organisations: tuple  # who may receive it there; empty: nobody registered, it cannot be informed
    informed_at: datetime | None  # when the first of them was told

    @property
    def label(self) -> str:
        return self.member_state.name if self.member_state else "ENISA"

    @property
    def reachable(self) -> bool:
        return bool(self.organisations)


def cross_border_targets(incident: Incident) -> list[CrossBorderTarget]:
    """Every other affected member state and ENISA, with who receives it there and whether they were told."""
    own = incident.reporting_organisation.member_state_id
    # all(): a new incident's member states are in memory (``reporting._hold``).
    others = sorted((state for state in incident.affected_member_states.all() if state.pk != own),
                    key=lambda state: state.code)
    orgs = list(Organisation.objects.filter(
        Q(kind__in=CROSS_BORDER_RECEIVER_KINDS, member_state__in=others) | Q(kind="enisa"), is_active=True,
    ).select_related("member_state", "group").order_by("kind", "code"))
    told = dict(incident.cross_border_notices.values_list("organisation_id", "informed_at"))
    targets = []
    for state in [*others, None]:
        if state is None:
            here = tuple(o for o in orgs if o.kind == "enisa")
        else:
            here = tuple(o for o in orgs if o.kind != "enisa" and o.member_state_id == state.pk)
        times = [told[o.pk] for o in here if o.pk in told]
        targets.append(CrossBorderTarget(state, here, min(times) if times else None))
    return targets


def cross_border_informed_at(incident: Incident) -> datetime | None:
    """When the last of the other affected states and ENISA was told; None while one is not (Art. 23(6))."""
    if incident.affected_member_states.count() < 2:
        return None
    targets = cross_border_targets(incident)
    if any(t.informed_at is None for t in targets):
        return None
    return max(t.informed_at for t in targets)


def deadlines_of(incident: Incident, *, now=None) -> list[clocks.Deadline]:
    """The incident's deadlines with their state now, from the materialised rows."""
    now = now or timezone.now()
    return [deadline_now(d, now) for d in incident.deadlines.all()]


def deadline_now(row: Deadline, now) -> clocks.Deadline:
    """A materialised deadline row with its state at ``now``, for pages, API and lists alike."""
    return clocks.Deadline(clocks.Clock(row.clock), row.due_at, row.met_at, clocks.state_of(row.due_at, row.met_at, now),
                           row.sequence)


def overdue_incidents(queryset: QuerySet[Incident], *, now=None) -> QuerySet[Incident]:
    now = now or timezone.now()
    return queryset.filter(Exists(Deadline.objects.filter(incident=OuterRef("pk"), met_at__isnull=True, due_at__lt=now)))


AUTHORITY_KINDS = ("national_csirt", "crisis_authority", "spoc")


def reporting_authority_membership(user, incident: Incident):
    """The user's membership of the reporting member state's CSIRT or authority, if any (NIS2 Art. 23(5))."""
    ms = incident.reporting_organisation.member_state
    if ms is None:
        return None
    return (
        acting_memberships(user).filter(organisation__member_state=ms, organisation__kind__in=AUTHORITY_KINDS)
        .select_related("organisation")
        .first()
    )


def timeline_visible_to(user, incident: Incident) -> QuerySet[TimelineEntry]:
    """Entries of an incident the user sees; it must already be visible to them.

    An entry labelled more strictly than its incident (say TLP:RED on an AMBER incident)
    stays with the organisation that wrote it: the incident's wider audience does not get it.
    """
    stricter = [label for label in TLP.values if TLP.rank(label) > TLP.rank(incident.tlp)]
    own = user.groups.filter(organisation__isnull=False).values("organisation")
    return incident.timeline.exclude(Q(tlp__in=stricter) & ~Q(organisation__in=own))


def _stricter_than(incident_tlp: str) -> list[str]:
    return [label for label in TLP.values if TLP.rank(label) > TLP.rank(incident_tlp)]


def observables_visible_to(user, incident: Incident) -> QuerySet[Observable]:
    """Observables of an incident the user sees; it must already be visible to them.

    Like timeline entries, an observable labelled more strictly than its incident (TLP:RED on
    an AMBER incident) stays with the organisation that wrote it. Only those who may edit the
    incident add observables, i.e. the reporting organisation: that is the author here.
    Every path uses this: the incident page, the API list, the STIX export.
    """
    if user_in_organisation(user, incident.reporting_organisation_id):
        return incident.observables.all()
    return incident.observables.exclude(tlp__in=_stricter_than(incident.tlp))


def observable_entries_visible_to(user) -> QuerySet[Observable]:
    """``observables_visible_to`` across incidents ("who else saw this?"); visibility of the incident is not checked here."""
    stricter = [Q(tlp=label, incident__tlp__in=TLP.values[:rank]) for rank, label in enumerate(TLP.values) if rank]
    own = user.groups.filter(organisation__isnull=False).values("organisation")
    return in_current(Observable.objects.exclude(reduce(or_, stricter) & ~Q(incident__reporting_organisation__in=own)),
                      "incident__exercise")


def user_in_organisation(user, organisation_id: int) -> bool:
    return user.groups.filter(organisation__pk=organisation_id).exists()


def originator_contact(incident: Incident) -> str:
    """How an alerted organisation asks the originator: its contact address, else the reporter's."""
    org = incident.reporting_organisation
    return org.contact_email or incident.reported_by.email


def alert_disclosure(alert: Alert) -> dict:
    """What an alert says about the incident's audience, and how to ask the originator; shown everywhere alike
    (API, pages, e-mail, event payloads). Needs ``incident__reporting_organisation`` and ``incident__reported_by``."""
    incident = alert.incident
    org = incident.reporting_organisation
    contact = originator_contact(incident)
    notices = {
        Alert.Disclosure.ALERTED_ONLY: f"Alerted only ({TLP(incident.tlp).label}): the incident is not shared with "
                                       f"your organisation. Ask the originator, {org.name}, at {contact}.",
        Alert.Disclosure.AWAITING_CONSENT: f"Awaiting the originator's consent ({TLP(incident.tlp).label}): "
                                           f"{org.name} has to agree before your organisation may read it; "
                                           f"ask them at {contact}.",
        Alert.Disclosure.SHARED: "Shared: your organisation may read the incident.",
    }
    return {"disclosure": alert.disclosure, "notice": notices[Alert.Disclosure(alert.disclosure)],
            "originator": {"code": org.code, "name": org.name, "contact": contact}}


def network_consent_recipients(incident: Incident) -> list:
    """The organisations the originator's consent would share a TLP:AMBER incident with: its pending alerts'."""
    if incident.tlp != TLP.AMBER:
        return []
    alerts = incident.alerts.filter(disclosure=Alert.Disclosure.AWAITING_CONSENT).select_related("organisation__group")
    return sorted({a.organisation for a in alerts}, key=lambda o: o.code)


def active_blueprint() -> Blueprint:
    """The Blueprint in force: the active version in live work; in an exercise, the version it was planned to
    run on (a draft under test, say) when it names one, so its engine, levels and clocks follow that version."""
    blueprints = Blueprint.objects.prefetch_related("levels", "rules")
    exercise_id = current_exercise_id()
    if exercise_id is not None:
        version = Exercise.objects.filter(pk=exercise_id).values_list("blueprint_version", flat=True).first()
        chosen = blueprints.filter(version=version).first() if version is not None else None
        if chosen is not None:
            return chosen
    return blueprints.get(is_active=True)


def ipcr_modes(levels=None) -> list[dict]:
    """Every IPCR mode of the active Blueprint's levels (``{"code", "name", …}``), for the forms that accept one.

    ``levels``: the active Blueprint's levels when the caller has already read them.
    """
    if levels is None:
        levels = active_blueprint().levels.all()
    return [mode for level in levels for mode in level.modes]


def blueprint_spec(blueprint: Blueprint) -> escalation.BlueprintSpec:
    levels = [{"number": lv.number, "code": lv.code, "name": lv.name} for lv in blueprint.levels.all()]
    rules = [
        {"code": r.code, "target_level": r.target_level, "conditions": r.conditions, "automatic": r.automatic}
        for r in blueprint.rules.all()
    ]
    return escalation.spec_from_data(blueprint.version, levels, rules)


# --- What an edit would do to the crisis level ------------------------------------------------

# Networks as a sentence names them ("alert EU-CyCLONe and the CSIRTs Network").
IN_A_SENTENCE = {"CSIRTs Network": "the CSIRTs Network", "Council IPCR": "the Council (IPCR)"}
# The facts an edit sets directly (the other facts the engine reads are not edited: time, the Reserve).
EDITED_FACTS = ("cross_border_impact", "national_capacity_exceeded", "technical_cooperation_requested")


@dataclass(frozen=True)
class EscalationPreview:
    """What the Blueprint engine will do once an edit is saved: the level it moves to and who is alerted.

    ``alerted`` names the networks of every level passed, highest first (levels are cumulative:
    a jump 0 → 2 alerts the CSIRTs Network too). ``proposed_level`` is a level the engine only
    proposes, decided by ``proposal_decided_by``.
    """

    from_level: int
    to_level: int
    level_name: str
    alerted: tuple[str, ...]
    explanation: str
    proposed_level: int | None = None
    proposal_decided_by: str = ""

    @property
    def escalates(self) -> bool:
        return self.to_level > self.from_level

    @property
    def message(self) -> str:
        if self.escalates:
            alerted = _and_list(IN_A_SENTENCE.get(name, name) for name in self.alerted)
            return (f"This will escalate to level {self.to_level} ({self.level_name})"
                    + (f" and alert {alerted}." if alerted else "."))
        if self.proposed_level is not None:
            return (f"The crisis level stays at {self.from_level}; level {self.proposed_level} will be proposed to "
                    f"{self.proposal_decided_by}, who decides.")
        return f"The crisis level stays at {self.from_level} ({self.level_name})."


def _and_list(items) -> str:
    """"A", "A and B", "A, B and C"."""
    items = list(items)
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def facts_after(incident: Incident, changes: dict, *, now=None) -> dict:
    """The engine's facts as they will be once ``changes`` (field → new value, as ``update_incident`` takes them)
    are saved: member states and sectors given as rows, the rest as values."""
    facts = incident_facts(incident, now=now or timezone.now())
    severity = changes.get("severity", incident.severity)
    states = len(changes["affected_member_states"]) if "affected_member_states" in changes \
        else facts["affected_member_states"]
    facts |= {"severity": severity, "affected_member_states": states,
              "critical_member_states": states if severity == "critical" else 0}
    if "sectors" in changes:
        facts["high_criticality_sector"] = any(sector.annex == "I" for sector in changes["sectors"])
    for name in EDITED_FACTS:
        if name in changes:
            facts[name] = bool(changes[name])
    return facts


def escalation_preview(incident: Incident, changes: dict, *, now=None) -> EscalationPreview:
    """What saving ``changes`` would do to the incident's crisis level, by the same engine and rules the
    evaluation after the commit runs (a de-escalation holds: ``held``). Nothing is written.

    The caller has checked that the person sees the incident (``incident_visible_to``: 404 otherwise).
    """
    blueprint = active_blueprint()
    levels = {level.number: level for level in blueprint.levels.all()}
    decision = escalation.evaluate(facts_after(incident, changes, now=now), blueprint_spec(blueprint),
                                   held=incident.deescalation_facts)
    current = incident.crisis_level
    target = max(decision.level, current)
    alerted = []
    for number in range(target, current, -1):
        network = levels[number].get_network_display() if number in levels else ""
        if network and network not in alerted:
            alerted.append(network)
    proposed = decision.proposed_level if decision.proposed_level and decision.proposed_level > target else None
    return EscalationPreview(
        from_level=current, to_level=target, level_name=levels[target].name if target in levels else "",
        alerted=tuple(alerted), explanation=decision.explanation if target > current else "",
        proposed_level=proposed,
        proposal_decided_by=describe(levels[proposed].declare_bodies) if proposed in levels else "",
    )


def alerts_visible_to(user) -> QuerySet[Alert]:
    """Alerts addressed to the user's organisations, and those of incidents the user may see."""
    own = Q(organisation__group__in=user.groups.values("id"))
    return in_current(Alert.objects.filter(own | Q(incident__in=incidents_visible_to(user).values("pk"))),
                      "incident__exercise")


def alert_links(user, ids: set[str]) -> dict[str, str]:
    """Where each alert leads this person: its incident's alerts when they may see the incident (TLP:RED and
    AMBER awaiting consent are alerted, not shared), else the alert on their crisis board."""
    alerts = dict(Alert.objects.filter(pk__in=_ids(ids)).values_list("pk", "incident_id"))
    seen = set(incidents_visible_to(user).filter(pk__in=set(alerts.values())).values_list("pk", flat=True))
    board = reverse("incidents:board")
    return {str(pk): reverse("incidents:detail", args=[incident_id]) + "#alerts" if incident_id in seen
            else f"{board}#my-alert-{pk}" for pk, incident_id in alerts.items()}


def visible_alert_ids(user, ids: set[str]) -> set[str]:
    numeric = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk) for pk in alerts_visible_to(user).filter(pk__in=numeric).values_list("pk", flat=True)}


# --- The crisis board ---------------------------------------------------------------------------
# Each read takes ``visible`` (``incidents_visible_to(user)``, built once per request) and costs
# a fixed number of queries whatever the number of incidents. The incidents, the map, the charts
# and the events read a replica when one is configured (``replica_reads``, csoa_portal.db_router);
# the person's own alerts, which they answer from the board, and the live position stay on the primary.

ACTIVE_STATUSES = (Incident.Status.OPEN, Incident.Status.CONTAINED)
BOARD_PER_LEVEL = 25
BOARD_SUBJECTS = ("incident", "alert")  # the stream leaves network administration to the dashboard


def live_position() -> int:
    """Where a page's live stream resumes: the settled head of the event log.

    Read before the page's data, so an event committed meanwhile is replayed rather than
    missed (the page then just refreshes once more).
    """
    return stream_start()[0]


def timeline_entries_visible_to(user) -> QuerySet[TimelineEntry]:
    """``timeline_visible_to`` across incidents (for prefetching): a stricter entry stays with its organisation."""
    stricter = [Q(tlp=label, incident__tlp__in=TLP.values[:rank]) for rank, label in enumerate(TLP.values) if rank]
    own = user.groups.filter(organisation__isnull=False).values("organisation")
    return in_current(TimelineEntry.objects.exclude(reduce(or_, stricter) & ~Q(organisation__in=own)), "incident__exercise")


def _latest_situation(user) -> QuerySet[TimelineEntry]:
    """The newest situation update of the outer incident that the user may read (``timeline_entries_visible_to``):
    an entry labelled more strictly than its incident counts only for its author's organisation."""
    return (timeline_entries_visible_to(user)
            .filter(incident=OuterRef("pk"), kind=TimelineEntry.Kind.SITUATION)
            .order_by("-created_at", "-id"))


def with_latest_situation(queryset: QuerySet[Incident], user) -> QuerySet[Incident]:
    """Each incident with ``situation_<field>`` for the four assessments of its latest situation update
    the user may read (None when there is none), in the same query."""
    latest = _latest_situation(user)
    return queryset.annotate(**{f"situation_{field}": Subquery(latest.values(field)[:1])
                                for field in SITUATION_TAXONOMY})


def filter_by_latest_situation(queryset: QuerySet[Incident], user, criteria: dict[str, str]) -> QuerySet[Incident]:
    """Only incidents whose latest situation update the user may read carries each ``field: value`` of ``criteria``.

    Not "any update ever said so": the latest assessment is the current one. Fields must be of
    ``SITUATION_TAXONOMY``; the callers have checked the values against their vocabularies.
    """
    latest = _latest_situation(user)
    for field, value in criteria.items():
        if field not in SITUATION_TAXONOMY:
            raise ValueError(f"Not a situation assessment: {field}")
        queryset = queryset.filter(Exact(Subquery(latest.values(field)[:1]), value))
    return queryset


@replica_reads
def board_incidents(user, visible: QuerySet[Incident], *, per_level: int = BOARD_PER_LEVEL):
    """Active incidents, the most recently changed first, at most ``per_level`` per crisis level; and per-level totals.

    Each row carries what its card shows: member states, sectors, the newest update the user
    may read (``latest_updates``), the assessment of the newest situation update the user may
    read (``situation_<field>``, ``with_latest_situation``), every alert (``board_alerts``) and
    the times the situation-update clock runs from (as ``keep_situation_update_clocks`` computes them).
    """
    active = visible.filter(status__in=ACTIVE_STATUSES)
    totals = dict(active.order_by().values_list("crisis_level").annotate(n=Count("id")))
    newest_first = Window(RowNumber(), partition_by=[F("crisis_level")], order_by=[F("updated_at").desc(), F("id").desc()])
    ids = active.annotate(rank=newest_first).filter(rank__lte=per_level).values_list("pk", flat=True)
    last_situation = TimelineEntry.objects.filter(incident=OuterRef("pk"), kind=TimelineEntry.Kind.SITUATION)
    last_escalation = Escalation.objects.filter(incident=OuterRef("pk"))
    rows = (
        with_latest_situation(Incident.objects.filter(pk__in=list(ids)), user)
        .annotate(
            last_situation_at=Subquery(last_situation.order_by("-created_at").values("created_at")[:1]),
            last_escalation_at=Subquery(last_escalation.order_by("-created_at").values("created_at")[:1]),
        )
        .select_related("reporting_organisation__member_state")
        .prefetch_related(
            "affected_member_states",
            Prefetch("sectors", queryset=Sector.objects.select_related("parent")),
            Prefetch("timeline", to_attr="latest_updates", queryset=timeline_entries_visible_to(user)
                     .select_related("author", "organisation").order_by("-created_at", "-id")[:1]),
            Prefetch("alerts", to_attr="board_alerts",
                     queryset=Alert.objects.select_related("organisation").order_by("-level", "organisation__code")),
        )
        .order_by("-crisis_level", "-updated_at", "-id")
    )
    return list(rows), totals


@replica_reads
def board_map(visible: QuerySet[Incident]) -> dict[str, dict]:
    """Per member state code: the highest crisis level among its active incidents, and how many there are."""
    through = Incident.affected_member_states.through
    rows = (
        through.objects.filter(incident__in=visible.filter(status__in=ACTIVE_STATUSES).values("pk"))
        .values("memberstate__code")
        .annotate(level=Max("incident__crisis_level"), count=Count("incident_id"))
        .order_by()
    )
    return {r["memberstate__code"]: {"level": r["level"], "count": r["count"]} for r in rows}


@replica_reads
def board_charts(visible: QuerySet[Incident], *, since) -> tuple[dict[int, int], list[dict]]:
    """Incidents reported since ``since``: how many per current crisis level, and per NIS2 sector (sub-sectors counted in theirs)."""
    recent = visible.filter(created_at__gte=since)
    by_level = dict(recent.order_by().values_list("crisis_level").annotate(n=Count("id")))
    through = Incident.sectors.through
    by_sector = list(
        through.objects.filter(incident__in=recent.values("pk"))
        .annotate(code=Coalesce("sector__parent__code", "sector__code"), name=Coalesce("sector__parent__name", "sector__name"))
        .values("code", "name")
        .annotate(count=Count("incident_id", distinct=True))
        .order_by("-count", "name")
    )
    return by_level, by_sector


def board_alerts_of(user, visible: QuerySet[Incident], *, answered_since) -> QuerySet[Alert]:
    """The user's organisations' alerts: open ones, and those answered since ``answered_since``.

    An alert can name an incident the organisation may not see (TLP:RED is alerted, not
    shared): ``incident_visible`` says whether to show more than its reference.
    """
    return (
        own_alerts(user)
        .filter(Q(state__in=Alert.OPEN_STATES) | Q(answered_at__gte=answered_since))
        .annotate(incident_visible=Exists(visible.filter(pk=OuterRef("incident_id"))))
        .select_related("incident__reporting_organisation", "incident__reported_by", "escalation", "organisation",
                        "answered_by")
        .order_by("-level", "due_at", "id")
    )


def own_alerts(user) -> QuerySet[Alert]:
    """Alerts addressed to one of the user's organisations: the only ones they may answer."""
    return alerts_visible_to(user).filter(organisation__group__in=user.groups.values("id"))


@replica_reads
def board_events(user, *, window: int = 1000, limit: int = 15) -> list[Event]:
    """The newest events the user may see among the log's last ``window``, newest first, with their actors."""
    ids = list(Event.objects.order_by("-id").values_list("id", flat=True)[:window])
    if not ids:
        return []
    events, _ = events_visible_to(user, after=ids[-1] - 1, limit=window)
    events = [e for e in events if e.subject_type in BOARD_SUBJECTS]
    recent = events[-limit:][::-1]
    actors = User.objects.in_bulk({e.actor_id for e in recent if e.actor_id})
    for event in recent:
        event.actor_person = actors.get(event.actor_id)
    return recent


def open_level_proposals() -> QuerySet[LevelProposal]:
    """Levels proposed and not yet decided (the deciders are the policy's answer: ``policy.proposals_to_decide``)."""
    return in_current(LevelProposal.objects.filter(state=LevelProposal.State.OPEN), "incident__exercise").order_by(
        "-created_at", "-id")


# --- Tags -----------------------------------------------------------------------------------------


def tag_names(obj) -> list[str]:
    """An incident's or observable's tags as machine tags: its label first (``tlp:amber``), then the others.

    Reads ``obj.tags.all()``: prefetch ``tags`` for a list.
    """
    return [tlp_tag(obj.tlp), *(t.name for t in related(obj, "tags"))]


def controlled_tags() -> QuerySet[Tag]:
    """The tags of the controlled vocabularies, for pickers and the API (free tags are their users' own)."""
    return Tag.objects.filter(vocabulary__free=False).exclude(vocabulary__namespace="tlp").order_by("name")


# --- Tasks: an organisation's own work on an incident ------------------------------------------------


def tasks_visible_to(user) -> QuerySet[Task]:
    """Tasks of the user's organisations on incidents the user sees: every read of a task goes through here,
    so another organisation never learns one exists (404, like a missing one)."""
    if not getattr(user, "is_authenticated", False):
        return Task.objects.none()
    own = user.groups.filter(organisation__isnull=False).values("organisation")
    return Task.objects.filter(organisation__in=own, incident__in=incidents_visible_to(user).values("pk"))


def task_visible_to(user, task_id, *, incident_id=None) -> Task:
    """The task, or 404 whether it does not exist, is another organisation's or is not of this incident."""
    tasks = tasks_visible_to(user).select_related("incident", "organisation", "assignee", "created_by")
    if incident_id is not None:
        tasks = tasks.filter(incident_id=incident_id)
    try:
        return tasks.get(pk=task_id)
    except (Task.DoesNotExist, ValueError, TypeError):
        raise Http404("No such task.") from None


def open_tasks_for(user, *, now=None) -> QuerySet[Task]:
    """The user's open tasks: assigned to them, or to nobody in their organisation; overdue first, then by due
    time (none last)."""
    now = now or timezone.now()
    return (
        tasks_visible_to(user)
        .filter(Q(assignee=user) | Q(assignee__isnull=True), done_at__isnull=True)
        .annotate(late=Case(When(due_at__lt=now, then=Value(0)), default=Value(1)))
        .select_related("incident", "organisation", "assignee")
        .order_by("late", F("due_at").asc(nulls_last=True), "id")
    )


def organisation_member(organisation: Organisation, email: str) -> User | None:
    """The active person of ``organisation`` with this e-mail address (a task's assignee), else None."""
    if not isinstance(email, str) or not email.strip():
        return None
    return User.objects.filter(memberships__organisation=organisation, email__iexact=email.strip(), is_active=True,
                               is_service_account=False).first()


# --- The dashboard: a person's work, counted -----------------------------------------------------

DASHBOARD_ITEMS = 5  # items listed per kind of work; the counts cover them all
SHARES_RECEIVED_DAYS = 30


@dataclass(frozen=True)
class Work:
    """Items of one kind of work: the first few to list, and how many there are."""

    items: list
    count: int


def _work(queryset, limit: int = DASHBOARD_ITEMS) -> Work:
    items = list(queryset[:limit])
    return Work(items, len(items) if len(items) < limit else queryset.count())


def open_clocks_of(user, *, now=None) -> dict[str, Work]:
    """The open NIS2 clocks of incidents the person's organisations reported: overdue, and due within
    ``clocks.DUE_SOON``, soonest first, each row with its incident."""
    now = now or timezone.now()
    own = Deadline.objects.filter(met_at__isnull=True,
                                  incident__reporting_organisation__group__in=user.groups.values("id"))
    own = own.select_related("incident").order_by("due_at", "id")
    return {"overdue": _work(own.filter(due_at__lt=now)),
            "due_soon": _work(own.filter(due_at__gte=now, due_at__lte=now + clocks.DUE_SOON))}


def shares_received(user, *, now=None) -> Work:
    """Incidents shared with one of the person's groups (organisation, member state, community, the person)
    in the last ``SHARES_RECEIVED_DAYS`` days by another organisation, newest first; still visible to them."""
    since = (now or timezone.now()) - timedelta(days=SHARES_RECEIVED_DAYS)
    groups = user.groups.values("id")
    received = Share.objects.filter(incident=OuterRef("pk"), group__in=groups, shared_at__gte=since)
    incidents = (incidents_visible_to(user).filter(Exists(received))
                 .exclude(reporting_organisation__group__in=groups)
                 .annotate(shared_at=Subquery(received.order_by("-shared_at").values("shared_at")[:1]))
                 .select_related("reporting_organisation").order_by("-shared_at", "-id"))
    return _work(incidents)


def alerts_waiting(user) -> Work:
    """Open alerts addressed to the person's organisations, the soonest due first, each with ``incident_visible``."""
    alerts = (own_alerts(user).filter(state__in=Alert.OPEN_STATES)
              .annotate(incident_visible=Exists(incidents_visible_to(user).filter(pk=OuterRef("incident_id"))))
              .select_related("incident", "organisation").order_by(F("due_at").asc(nulls_last=True), "id"))
    return _work(alerts)
