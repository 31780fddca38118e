"""Who may see which Reserve request, engagement and provider: the one definition every read path uses.

A request is visible through a guardian ``view_assistancerequest`` grant to one of the
user's groups, checked as one EXISTS over the direct foreign-key table (like incidents).
Grants: the requesting organisation (from the draft on), its SPOC (once routed), the
contracting authority, ENISA triage and the Commission (once it reaches the contracting
authority), and each engaged provider (once engaged).

An engagement is visible to its provider, and to whoever sees the request through a
grant that is not a provider's: a provider never sees another provider's engagement.

This module also builds the pure modules' inputs from rows: ``priority.PriorityCase``
for the triage queue, ``matching.Need``/``Candidate`` for ranking providers.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from incidents.models import Incident, Sector
from incidents.selectors import incidents_visible_to
from incidents.vocabulary import Severity
from liaison.exercise_time import real_duration, scales_of
from liaison.exercises import current_exercise_id, in_current
from liaison.events import subjects_per_user
from liaison.models import MemberState, Organisation
from liaison.roles import OrganisationKind
from reserve import matching, policy, priority
from reserve.models import (
    AfterActionReport,
    AssistanceRequest,
    AssistanceRequestGroupObjectPermission,
    Engagement,
    ProviderCapacity,
    ProviderProfile,
    ReserveDeadline,
)
from reserve.vocabulary import ENGAGEABLE_CERTIFICATION
from reserve.workflow import (
    BOOKING,
    EngagementStatus,
    RequestStatus,
)

VIEW = "view_assistancerequest"

# --- Who may request, and through whom (CSoA Art. 14(3), 15(3)) -----------------------------

# Member states' CSIRTs and cyber crisis management authorities; their SPOC may file itself.
NATIONAL_REQUESTER_KINDS = frozenset({
    OrganisationKind.NATIONAL_CSIRT, OrganisationKind.CRISIS_AUTHORITY, OrganisationKind.SPOC,
})


def request_refusal(organisation: Organisation) -> str | None:
    """Why this organisation may not request Reserve support, or None if it may (Art. 14(3))."""
    ms = organisation.member_state
    if not organisation.is_active:
        return f"{organisation.code} is not active in the portal."
    if organisation.kind == OrganisationKind.CERT_EU:
        return None  # Art. 14(3)(b): for the EU institutions, bodies, offices and agencies
    if organisation.kind in NATIONAL_REQUESTER_KINDS and ms is not None:
        if ms.kind == MemberState.Kind.EU_MEMBER:
            return None  # Art. 14(3)(a)
        if ms.kind == MemberState.Kind.DEP_ASSOCIATED:
            if ms.reserve_eligible:
                return None  # Art. 14(3)(c), Art. 19: competent authorities of DEP-associated third countries
            return (
                f"{ms.name} ({ms.code}) is a third country associated to the Digital Europe Programme, but its "
                "association agreement is not recorded as providing for Reserve support, so its authorities may not "
                "request it (CSoA Art. 14(3)(c) and Art. 19): ENISA records the eligibility on the country."
            )
    kind = OrganisationKind(organisation.kind).label if organisation.kind in OrganisationKind.values else organisation.kind
    return (
        f"{organisation.code} ({kind}) may not request Reserve support: requests come from member states' CSIRTs "
        "and cyber crisis management authorities (through their single point of contact), CERT-EU, or competent "
        "authorities of DEP-associated third countries (CSoA Art. 14(3))."
    )


def spoc_for(organisation: Organisation) -> Organisation | None:
    """The NIS2 single point of contact of the organisation's state, if one is registered."""
    if organisation.member_state_id is None:
        return None
    return (
        Organisation.objects.filter(kind=OrganisationKind.SPOC, member_state_id=organisation.member_state_id,
                                    is_active=True)
        .select_related("group", "member_state").order_by("code").first()
    )


@dataclass(frozen=True)
class Routing:
    """Where a submitted request goes first: a SPOC (``spoc`` set) or straight to the contracting authority."""

    spoc: Organisation | None
    refusal: str | None = None


def routing_for(organisation: Organisation) -> Routing:
    """Art. 15(3): a member state's request through its SPOC; CERT-EU directly; a third country through its own.

    A member state must have its SPOC registered (NIS2 Art. 8(3) makes one mandatory); a
    third country's request goes through the single point of contact it designated (CSoA
    Art. 19(9)), never straight to the contracting authority: without one registered it cannot
    be submitted. A SPOC that requests itself is its own route.
    """
    if organisation.kind in (OrganisationKind.CERT_EU, OrganisationKind.SPOC):
        return Routing(None)
    spoc = spoc_for(organisation)
    if spoc is not None:
        return Routing(spoc)
    ms = organisation.member_state
    if ms is not None and ms.kind == MemberState.Kind.EU_MEMBER:
        return Routing(None, refusal=(
            f"{ms.code} has no NIS2 single point of contact registered in the portal, and a member state's request "
            "goes through it (CSoA Art. 15(3)): ask ENISA to register it."
        ))
    if ms is not None and ms.kind == MemberState.Kind.DEP_ASSOCIATED:
        return Routing(None, refusal=(
            f"{ms.name} ({ms.code}) has no single point of contact registered in the portal, and a third country's "
            "request goes through the single point of contact it designated (CSoA Art. 19(9)), never straight to "
            f"the contracting authority: ask ENISA to register {ms.name}'s single point of contact (an organisation "
            f"of kind \"{OrganisationKind.SPOC.label}\" in {ms.code}), then submit again."
        ))
    return Routing(None)


# --- The contracting authority (who holds which role on a request: reserve.policy) --------------

def contracting_authority() -> Organisation | None:
    return Organisation.objects.filter(code=settings.RESERVE_CONTRACTING_AUTHORITY).select_related("group").first()


# --- Visibility -----------------------------------------------------------------------------

def _view_permission_id() -> int | None:
    return Permission.objects.filter(codename=VIEW, content_type__app_label="reserve").values_list("id", flat=True).first()


def requests_visible_to(user) -> QuerySet[AssistanceRequest]:
    """EXISTS over the direct-FK grant table with the permission and the user's group ids resolved first."""
    if not getattr(user, "is_authenticated", False):
        return AssistanceRequest.objects.none()
    group_ids = list(user.groups.values_list("id", flat=True))
    granted = AssistanceRequestGroupObjectPermission.objects.filter(
        content_object=OuterRef("pk"), permission_id=_view_permission_id(), group_id__in=group_ids
    )
    return in_current(AssistanceRequest.objects.filter(Exists(granted)))


def request_visible_to(user, request_id) -> AssistanceRequest:
    """The request, or 404 whether it does not exist or is not the user's to see."""
    try:
        return (
            requests_visible_to(user)
            .select_related("requester_organisation__member_state", "spoc_organisation", "sector", "created_by",
                            "exercise")
            .get(pk=request_id)
        )
    except (AssistanceRequest.DoesNotExist, ValueError, TypeError):
        raise Http404("No such request.") from None


def visible_request_ids(user, ids: set[str]) -> set[str]:
    """Event subject check: which of these requests the user may still see."""
    numeric = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk) for pk in requests_visible_to(user).filter(pk__in=numeric).values_list("pk", flat=True)}


def visible_request_ids_by_groups(groups_by_user: dict[int, set[int]], ids: set[str]) -> dict[int, set[str]]:
    """``visible_request_ids`` for many users from their group ids, in one query (the live stream's re-check)."""
    rows = AssistanceRequestGroupObjectPermission.objects.filter(
        permission_id=_view_permission_id(), content_object_id__in=[int(i) for i in ids if str(i).isdigit()],
        group_id__in=set().union(*groups_by_user.values()),
    ).values_list("content_object_id", "group_id")
    grants: dict[str, set[int]] = {}
    for request_id, group_id in rows:
        grants.setdefault(str(request_id), set()).add(group_id)
    return subjects_per_user(groups_by_user, grants)


def engagements_visible_to(user) -> QuerySet[Engagement]:
    """Own engagements for provider staff; for others, the engagements of requests they see not as a provider."""
    if not getattr(user, "is_authenticated", False):
        return Engagement.objects.none()
    groups = list(user.groups.values_list("id", "organisation__kind"))
    group_ids = [gid for gid, _ in groups]
    non_provider = [gid for gid, kind in groups if kind != OrganisationKind.RESERVE_PROVIDER]
    granted = AssistanceRequestGroupObjectPermission.objects.filter(
        content_object=OuterRef("request_id"), permission_id=_view_permission_id(), group_id__in=non_provider
    )
    return in_current(Engagement.objects.filter(Q(provider__group_id__in=group_ids) | Exists(granted)), "request__exercise")


def engagement_visible_to(user, engagement_id) -> Engagement:
    try:
        return (
            engagements_visible_to(user)
            .select_related("provider__member_state", "request__requester_organisation", "offered_by", "responded_by")
            .get(pk=engagement_id)
        )
    except (Engagement.DoesNotExist, ValueError, TypeError):
        raise Http404("No such engagement.") from None


def visible_engagement_ids(user, ids: set[str]) -> set[str]:
    numeric = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk) for pk in engagements_visible_to(user).filter(pk__in=numeric).values_list("pk", flat=True)}


def engagements_of(user, request: AssistanceRequest) -> QuerySet[Engagement]:
    """The request's engagements the user may see (a provider: only its own), with what a list shows."""
    return (
        engagements_visible_to(user).filter(request=request)
        .select_related("provider__member_state", "offered_by", "responded_by")
        .annotate(logged_days=Sum("work_logs__person_days", default=Decimal("0")))
        .order_by("offered_at", "id")
    )


def report_visible_to(user, request: AssistanceRequest) -> AfterActionReport | None:
    """The after-action report: for the requester, its SPOC, the contracting authority, ENISA and the Commission.

    Not for providers: it is the user's account to the contracting authority (CSoA Art. 16).
    """
    if not _sees_as_non_provider(user, request):
        return None
    return AfterActionReport.objects.filter(request=request).select_related("submitted_by").first()


def _sees_as_non_provider(user, request: AssistanceRequest) -> bool:
    non_provider = user.groups.exclude(organisation__kind=OrganisationKind.RESERVE_PROVIDER).values("id")
    return AssistanceRequestGroupObjectPermission.objects.filter(
        content_object=request, permission_id=_view_permission_id(), group_id__in=non_provider
    ).exists()


def audience_group_names(request: AssistanceRequest, *, providers: bool = False) -> list[str]:
    """Groups granted the request: the audience of its events (providers only when asked for)."""
    granted = AssistanceRequestGroupObjectPermission.objects.filter(
        content_object=request, permission_id=_view_permission_id()).values("group_id")
    groups = Group.objects.filter(id__in=Subquery(granted))
    if not providers:
        groups = groups.exclude(organisation__kind=OrganisationKind.RESERVE_PROVIDER)
    return sorted(groups.values_list("name", flat=True))


def engagement_audience_names(engagement: Engagement) -> list[str]:
    """An engagement's events: its provider, and the request's audience without any provider."""
    return sorted({engagement.provider.group.name, *audience_group_names(engagement.request)})


def provider_profiles_visible_to(user) -> QuerySet[ProviderProfile]:
    """The registry: the contracting authority, ENISA and the Commission see every provider; a provider itself."""
    if not getattr(user, "is_authenticated", False):
        return ProviderProfile.objects.none()
    base = ProviderProfile.objects.select_related("organisation__member_state").prefetch_related(
        "sectors", "member_states", "capacities")
    if policy.capabilities(user).registry_view:
        return base
    return base.filter(organisation__group__in=user.groups.values("id"))


def deadlines_of(request: AssistanceRequest) -> QuerySet[ReserveDeadline]:
    return request.deadlines.filter(engagement__isnull=True).order_by("due_at")


# --- Priority (the triage queue) ---------------------------------------------------------------

OPEN_FOR_TRIAGE = (RequestStatus.SUBMITTED, RequestStatus.INFO_REQUESTED, RequestStatus.ASSESSED)


def priority_case(request: AssistanceRequest) -> priority.PriorityCase:
    """The CSoA Art. 16 facts of a request (and what is shown beside them), from the request and its incidents."""
    incidents = list(request.incidents.all())
    severities = [i.severity for i in incidents]
    severity = max(severities, key=Severity.rank) if severities else Severity.LOW
    states = {ms.code for i in incidents for ms in i.affected_member_states.all()}
    if request.requester_organisation.member_state_id:
        states.add(request.requester_organisation.member_state.code)
    return priority.PriorityCase(
        severity=severity,
        entity_type=request.entity_type or "other",
        impact=request.impact_level or "limited",
        member_states_affected=len(states),
        spill_over_risk=request.spill_over_risk or "low",
        measures_taken=request.measures_level or "partial",
        crisis_level=max((i.crisis_level for i in incidents), default=0),
        urgency=request.urgency or "routine",
    )


def priority_of(request: AssistanceRequest) -> priority.Priority:
    return priority.score(priority_case(request))


def _with_priority_inputs(queryset: QuerySet[AssistanceRequest]) -> QuerySet[AssistanceRequest]:
    return queryset.select_related("requester_organisation__member_state", "sector").prefetch_related(
        Prefetch("incidents", queryset=Incident.objects.prefetch_related("affected_member_states")))


def triage_queue(user, *, status: str | None = None, urgency: str | None = None,
                 member_state: str | None = None) -> list[AssistanceRequest]:
    """Open requests at the contracting authority, highest priority first (ties: crisis level, urgency, oldest).

    Each row carries ``priority`` (score and factors computed now from the linked incidents,
    so a severity change shows at once) and ``response_deadline`` (the 48-hour clock row).
    """
    queryset = requests_visible_to(user).filter(status__in=OPEN_FOR_TRIAGE)
    if status:
        queryset = queryset.filter(status=status)
    if urgency:
        queryset = queryset.filter(urgency=urgency)
    if member_state:
        queryset = queryset.filter(requester_organisation__member_state__code=member_state.upper())
    rows = list(_with_priority_inputs(queryset).prefetch_related(
        Prefetch("deadlines", to_attr="open_clocks",
                 queryset=ReserveDeadline.objects.filter(engagement__isnull=True, clock="response"))))
    for row in rows:
        row.priority = priority_of(row)
        row.response_deadline = row.open_clocks[0] if row.open_clocks else None
    # Equal scores: the crisis level, then the declared urgency (no points, reserve.priority), then oldest first.
    rows.sort(key=lambda r: (*r.priority.order_key(), r.submitted_at or r.created_at, r.pk))
    return rows


# --- Matching --------------------------------------------------------------------------------

def need_for(request: AssistanceRequest, *, services=None, person_days=None, window_start=None,
             window_end=None) -> matching.Need:
    """What the request asks for, optionally narrowed to one engagement's share of it."""
    ms = request.requester_organisation.member_state
    return matching.Need(
        services=frozenset(services if services is not None else request.services),
        sector=request.sector.code if request.sector_id else "",
        languages=frozenset(request.languages or ()),
        member_state=ms.code if ms else "EU",
        window_start=window_start or request.window_start,
        window_end=window_end or request.window_end,
        person_days=person_days if person_days is not None else request.person_days,
        affected_entity=request.affected_entity,
        requester_org=request.requester_organisation.code,
        clearance=request.security_clearance,
        sector_names=_sector_names(request.sector),
    )


def _sector_names(sector) -> dict[str, str]:
    """The requested sector's family by name (the sector, its parent and sub-sectors), for the ranking's reasons."""
    if sector is None:
        return {}
    root = sector.code.split(".")[0]
    family = Sector.objects.select_related("parent").filter(Q(code=root) | Q(code__startswith=f"{root}."))
    return {s.code: str(s) for s in family}


def booked_person_days(provider_org_id: int, capacity: ProviderCapacity, *, exclude_engagement=None) -> int:
    """Person-days of the provider's engagements (offered, accepted, completed) whose window starts in the period."""
    engagements = in_current(Engagement.objects, "request__exercise").filter(
        provider_id=provider_org_id, status__in=BOOKING,
        window_start__gte=capacity.period_start, window_start__lte=capacity.period_end,
    )
    if exclude_engagement is not None:
        engagements = engagements.exclude(pk=exclude_engagement.pk)
    return engagements.aggregate(n=Coalesce(Sum("person_days"), 0))["n"]


def capacity_for(profile: ProviderProfile, day: date) -> ProviderCapacity | None:
    """The committed period containing ``day`` (an engagement books the period its window starts in)."""
    return next((c for c in profile.capacities.all() if c.period_start <= day <= c.period_end), None)


def free_person_days(profile: ProviderProfile, window_start: date) -> int:
    capacity = capacity_for(profile, window_start)
    if capacity is None:
        return 0
    return max(0, capacity.person_days - booked_person_days(profile.organisation_id, capacity))


def _certified_dates(profile: ProviderProfile) -> tuple[date | None, date | None]:
    if profile.certification_status not in ENGAGEABLE_CERTIFICATION:
        return None, None
    return profile.certified_from, profile.certified_until


def candidates_for(window_start: date, profiles=None) -> list[matching.Candidate]:
    """Every registered provider as a matching candidate, free capacity computed for the window.

    Six flat queries of plain values whatever the number of providers: ranking runs on each
    triage page view and each engagement offer (bench/reserve_ranking.py compares it with one
    hand-written statement).
    """
    if profiles is None:
        profiles = ProviderProfile.objects.all()
    rows = list(profiles.order_by("pk").values_list(
        "pk", "organisation_id", "organisation__code", "organisation__name", "organisation__is_active", "is_active",
        "services", "languages", "certification_status", "certified_from", "certified_until",
        "conflicts_of_interest", "response_hours", "security_clearances",
    ))
    ids = [row[0] for row in rows]
    org_ids = [row[1] for row in rows]
    sectors: dict[int, set[str]] = {}
    for profile_id, code in ProviderProfile.sectors.through.objects.filter(
            providerprofile_id__in=ids).values_list("providerprofile_id", "sector__code"):
        sectors.setdefault(profile_id, set()).add(code)
    states: dict[int, set[str]] = {}
    for profile_id, code in ProviderProfile.member_states.through.objects.filter(
            providerprofile_id__in=ids).values_list("providerprofile_id", "memberstate__code"):
        states.setdefault(profile_id, set()).add(code)
    capacity: dict[int, tuple[date, date, int]] = {}  # the first committed period containing the day, as capacity_for
    for profile_id, start, end, days in (
        ProviderCapacity.objects.filter(provider_id__in=ids, period_start__lte=window_start, period_end__gte=window_start)
        .order_by("provider_id", "period_start").values_list("provider_id", "period_start", "period_end", "person_days")
    ):
        capacity.setdefault(profile_id, (start, end, days))
    booked = _booked_in_periods(dict(zip(ids, org_ids, strict=True)), capacity)
    past = dict(
        in_current(Engagement.objects, "request__exercise")
        .filter(provider_id__in=org_ids, status__in=[EngagementStatus.ACCEPTED, EngagementStatus.COMPLETED])
        .values_list("provider_id").annotate(n=Count("id")).order_by()
    )
    candidates = []
    for (pk, org_id, code, name, org_active, active, services, languages, standing, certified_from, certified_until,
         conflicts, response_hours, clearances) in rows:
        engageable = standing in ENGAGEABLE_CERTIFICATION
        committed = capacity.get(pk)
        candidates.append(matching.Candidate(
            provider=code, name=name, services=frozenset(services), sectors=frozenset(sectors.get(pk, ())),
            languages=frozenset(languages), member_states=frozenset(states.get(pk, ())),
            certified_from=certified_from if engageable else None,
            certified_until=certified_until if engageable else None,
            free_person_days=max(0, committed[2] - booked.get(pk, 0)) if committed else 0,
            conflicts=frozenset(str(c).strip().lower() for c in conflicts),
            response_hours=response_hours, past_engagements=past.get(org_id, 0), active=active and org_active,
            certification_status="" if engageable else standing,
            clearances=frozenset(str(c) for c in clearances or ()),
        ))
    return candidates


def _booked_in_periods(orgs: dict[int, int], periods: dict[int, tuple[date, date, int]]) -> dict[int, int]:
    """Booked person-days of each profile's period ``{profile id: (start, end, committed)}``, in one query."""
    if not periods:
        return {}
    lo, hi = min(start for start, _, _ in periods.values()), max(end for _, end, _ in periods.values())
    rows = (
        in_current(Engagement.objects, "request__exercise").filter(provider_id__in={orgs[pk] for pk in periods}, status__in=BOOKING,
                                  window_start__gte=lo, window_start__lte=hi)
        .values_list("provider_id", "window_start").annotate(n=Sum("person_days")).order_by()
    )
    by_org: dict[int, list[tuple[date, int]]] = {}
    for org_id, start, n in rows:
        by_org.setdefault(org_id, []).append((start, n))
    return {
        pk: sum(n for day, n in by_org.get(orgs[pk], []) if start <= day <= end)
        for pk, (start, end, _) in periods.items()
    }


def ranking_for(request: AssistanceRequest) -> matching.Ranking:
    """Providers ranked for the request, with every exclusion and its reason."""
    if request.window_start is None or not request.services or not request.person_days:
        return matching.Ranking((), ())
    return matching.rank(need_for(request), candidates_for(request.window_start))


def tried_providers(request: AssistanceRequest) -> set[str]:
    """Providers already engaged on the request, whatever came of it: the next proposal skips them."""
    return set(request.engagements.values_list("provider__code", flat=True))


# --- Dashboard (ENISA and the Commission) ------------------------------------------------------

def requests_by_status(user) -> dict[str, int]:
    rows = requests_visible_to(user).order_by().values_list("status").annotate(n=Count("id"))
    return {status: n for status, n in rows}


@dataclass(frozen=True)
class DecisionTimes:
    decided: int
    median: timedelta | None
    within_clock: int  # answered within RESERVE_RESPONSE_HOURS
    clock: timedelta


def decision_times(user) -> DecisionTimes:
    """How long answers took, from reaching the contracting authority to the decision, against the legal clock.

    Counting and the median run in SQL (the median as the middle row(s) by duration). The requests read are
    those of the current exercise (or live work), so the clock is that exercise's (``liaison.exercise_time``).
    """
    current = current_exercise_id()
    clock = real_duration(timedelta(hours=settings.RESERVE_RESPONSE_HOURS), scale=scales_of({current})[current])
    took = ExpressionWrapper(F("decided_at") - F("submitted_at"), output_field=DurationField())
    decided = requests_visible_to(user).filter(decided_at__isnull=False, submitted_at__isnull=False).annotate(took=took)
    counts = decided.aggregate(n=Count("id"), ok=Count("id", filter=Q(decided_at__lte=F("submitted_at") + clock)))
    n = counts["n"]
    if not n:
        return DecisionTimes(0, None, 0, clock)
    middle = list(decided.order_by("took").values_list("took", flat=True)[(n - 1) // 2: n // 2 + 1])
    median = sum(middle, timedelta()) / len(middle)
    return DecisionTimes(n, median, counts["ok"], clock)


def capacity_overview(*, on: date | None = None) -> list[dict]:
    """Per provider: the committed person-days of the period containing ``on`` and how many are booked."""
    on = on or timezone.localdate()
    period = ProviderCapacity.objects.filter(provider=OuterRef("pk"), period_start__lte=on, period_end__gte=on)
    booked = (
        in_current(Engagement.objects, "request__exercise").filter(provider_id=OuterRef("organisation_id"), status__in=BOOKING,
                                  window_start__gte=OuterRef("period_start"), window_start__lte=OuterRef("period_end"))
        .order_by().values("provider_id").annotate(n=Sum("person_days")).values("n")
    )
    rows = (
        ProviderProfile.objects.annotate(
            period_start=Subquery(period.values("period_start")[:1]),
            period_end=Subquery(period.values("period_end")[:1]),
            committed=Subquery(period.values("person_days")[:1], output_field=IntegerField()),
        )
        .annotate(booked=Coalesce(Subquery(booked, output_field=IntegerField()), 0))
        .values("organisation__code", "organisation__name", "period_start", "period_end", "committed", "booked")
        .order_by("organisation__code")
    )
    return [
        {"provider": r["organisation__code"], "name": r["organisation__name"], "period_start": r["period_start"],
         "period_end": r["period_end"], "committed": r["committed"] or 0, "booked": r["booked"] or 0}
        for r in rows
    ]


def requests_per_member_state(user) -> list[dict]:
    """Submitted requests per requesting state (EU for CERT-EU), most first."""
    rows = (
        requests_visible_to(user).exclude(status=RequestStatus.DRAFT)
        .values(code=F("requester_organisation__member_state__code")).annotate(n=Count("id")).order_by("-n", "code")
    )
    return [{"member_state": r["code"] or "EU", "requests": r["n"]} for r in rows]


__all__ = [
    "VIEW", "Routing", "DecisionTimes", "audience_group_names", "booked_person_days", "candidates_for",
    "capacity_for", "capacity_overview", "contracting_authority", "deadlines_of", "decision_times",
    "engagement_audience_names", "engagement_visible_to",
    "engagements_of", "engagements_visible_to", "free_person_days", "need_for", "priority_case",
    "priority_of", "provider_profiles_visible_to", "ranking_for", "report_visible_to",
    "request_refusal", "request_visible_to", "requests_by_status", "requests_per_member_state",
    "requests_visible_to", "routing_for", "spoc_for", "tried_providers", "triage_queue",
    "visible_engagement_ids", "visible_request_ids",
]


# --- Blueprint facts (incidents.facts registry) ------------------------------------------------

REQUESTED = (RequestStatus.AWAITING_SPOC, RequestStatus.SUBMITTED, RequestStatus.INFO_REQUESTED,
             RequestStatus.ASSESSED, RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.DEPLOYED,
             RequestStatus.CLOSED, RequestStatus.REPORTED)
APPROVED = (RequestStatus.APPROVED, RequestStatus.DEPLOYED, RequestStatus.CLOSED, RequestStatus.REPORTED)


def incident_reserve_facts(incident) -> dict:
    """The engine's reserve_requested / reserve_approved facts for an incident (DOMAIN.md level 2 rule)."""
    statuses = set(AssistanceRequest.objects.filter(incidents=incident, exercise_id=incident.exercise_id)
                   .values_list("status", flat=True))
    return {"reserve_requested": bool(statuses & set(REQUESTED)), "reserve_approved": bool(statuses & set(APPROVED))}


def visible_provider_ids(user, ids: set[str]) -> set[str]:
    numeric = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk) for pk in provider_profiles_visible_to(user).filter(pk__in=numeric).values_list("pk", flat=True)}


# --- The dashboard: a person's Reserve work, counted ---------------------------------------------

DASHBOARD_ITEMS = 5


@dataclass(frozen=True)
class Work:
    """Items of one kind of work: the first few to list, and how many there are."""

    items: list
    count: int


def _work(queryset, limit: int = DASHBOARD_ITEMS) -> Work:
    items = list(queryset[:limit])
    return Work(items, len(items) if len(items) < limit else queryset.count())


def requests_waiting(user, status: str) -> Work:
    """Requests the person sees in ``status`` (submitted: to triage; assessed: to decide), the oldest clock first,
    each with ``response_deadline`` (the 48-hour clock row, or None)."""
    clock = ReserveDeadline.objects.filter(engagement__isnull=True, clock="response")
    queryset = (requests_visible_to(user).filter(status=status)
                .select_related("requester_organisation__member_state")
                .prefetch_related(Prefetch("deadlines", queryset=clock, to_attr="response_clocks"))
                .order_by(F("submitted_at").asc(nulls_last=True), "id"))
    work = _work(queryset)
    for row in work.items:
        row.response_deadline = row.response_clocks[0] if row.response_clocks else None
    return work


def _own_provider_engagements(user) -> QuerySet[Engagement]:
    """Engagements of the providers the person works for (their staff's view: never another provider's)."""
    return in_current(Engagement.objects, "request__exercise").filter(provider__group__in=user.groups.values("id")).select_related(
        "provider", "request__requester_organisation")


def offers_waiting(user) -> Work:
    """Engagement offers to the person's provider still waiting for its answer, the first to run out first."""
    return _work(_own_provider_engagements(user).filter(status=EngagementStatus.OFFERED).order_by("respond_by", "id"))


def deployments_of(user) -> list[Engagement]:
    """The person's provider's running deployments, each with ``incidents``: the linked incidents they may see
    (the requester shares an incident with the provider; otherwise it stays the requester's)."""
    rows = list(_own_provider_engagements(user).filter(status=EngagementStatus.ACCEPTED,
                                                       request__status=RequestStatus.DEPLOYED)
                .order_by("-responded_at", "-id")[:DASHBOARD_ITEMS])
    linked = {row.request_id: set() for row in rows}
    through = AssistanceRequest.incidents.through
    for request_id, incident_id in through.objects.filter(assistancerequest_id__in=linked).values_list(
            "assistancerequest_id", "incident_id"):
        linked[request_id].add(incident_id)
    visible = {i.pk: i for i in incidents_visible_to(user).filter(
        pk__in=set().union(*linked.values()) if linked else set())}
    for row in rows:
        row.incidents = [visible[pk] for pk in sorted(linked[row.request_id]) if pk in visible]
    return rows
