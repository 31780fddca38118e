"""Who may see which incident: the one definition every read path uses.

Visibility is a guardian ``view_incident`` grant to one of the user's groups
(organisation, member state, community or personal group), checked as a subquery on
the direct foreign-key permission table, never as a list of ids.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from incidents import clocks, escalation
from incidents.models import (
    Alert,
    Blueprint,
    Deadline,
    Incident,
    IncidentGroupObjectPermission,
    TimelineEntry,
)
from incidents.vocabulary import TLP

VIEW = "view_incident"
CHANGE = "change_incident"


def _granted(codename: str) -> QuerySet[IncidentGroupObjectPermission]:
    return IncidentGroupObjectPermission.objects.filter(
        permission__codename=codename, permission__content_type__app_label="incidents"
    )


def incidents_visible_to(user) -> QuerySet[Incident]:
    """EXISTS over the direct-FK grant table, with the permission id and the user's few group ids
    resolved first: PostgreSQL then walks incidents newest first and stops at a page, instead of
    collecting every visible id (bench/incidents_list.py: 116 ms → 0.5 ms for ENISA at 100,000).
    """
    if not getattr(user, "is_authenticated", False):
        return Incident.objects.none()
    view_id = (
        Permission.objects.filter(codename=VIEW, content_type__app_label="incidents").values_list("id", flat=True).first()
    )
    group_ids = list(user.groups.values_list("id", flat=True))
    granted = IncidentGroupObjectPermission.objects.filter(
        content_object=OuterRef("pk"), permission_id=view_id, group_id__in=group_ids
    )
    return Incident.objects.filter(Exists(granted))


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


def is_originator(user, incident: Incident) -> bool:
    return user.groups.filter(pk=incident.reporting_organisation.group_id).exists()


def can_edit(user, incident: Incident) -> bool:
    granted = _granted(CHANGE).filter(content_object=incident, group__in=user.groups.values("id"))
    return granted.exists()


def audience_group_names(incident: Incident) -> list[str]:
    """Every group that may see the incident: exactly the audience of its events."""
    granted = _granted(VIEW).filter(content_object=incident).values("group_id")
    return list(Group.objects.filter(id__in=Subquery(granted)).values_list("name", flat=True))


def clock_facts(incident: Incident) -> clocks.Facts:
    """The facts the NIS2 clocks run on, read from the incident and its reports."""
    first = {}
    for kind, submitted_at in incident.reports.order_by("submitted_at").values_list("kind", "submitted_at"):
        first.setdefault(kind, submitted_at)
    requested = incident.deadlines.filter(clock=clocks.Clock.INTERMEDIATE).values_list("due_at", flat=True).first()
    response = incident.timeline.filter(kind="response").order_by("created_at").values_list("created_at", flat=True).first()
    early = [t for t in (first.get("early_warning"), first.get("notification")) if t]
    ms = incident.reporting_organisation.member_state
    return clocks.Facts(
        aware_at=incident.aware_at,
        member_state_code=ms.code if ms else "EU",
        early_warning_at=min(early) if early else None,
        notification_at=first.get("notification"),
        final_report_at=first.get("final"),
        intermediate_requested_due=requested,
        intermediate_at=first.get("intermediate") if requested else None,
        initial_response_at=response,
        affected_member_states=incident.affected_member_states.count(),
        multi_member_state_since=incident.multi_member_state_since,
        others_informed_at=incident.others_informed_at,
    )


def deadlines_of(incident: Incident, *, now=None) -> list[clocks.Deadline]:
    """The incident's deadlines with their state now, from the materialised rows."""
    now = now or timezone.now()
    return [deadline_now(d, now) for d in incident.deadlines.all()]


def deadline_now(row: Deadline, now) -> clocks.Deadline:
    """A materialised deadline row with its state at ``now``, for pages, API and lists alike."""
    return clocks.Deadline(clocks.Clock(row.clock), row.due_at, row.met_at, clocks.state_of(row.due_at, row.met_at, now))


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
        user.memberships.filter(organisation__member_state=ms, organisation__kind__in=AUTHORITY_KINDS)
        .select_related("organisation")
        .first()
    )


def is_reporting_authority(user, incident: Incident) -> bool:
    return reporting_authority_membership(user, incident) is not None


def timeline_visible_to(user, incident: Incident) -> QuerySet[TimelineEntry]:
    """Entries of an incident the user sees; it must already be visible to them.

    An entry labelled more strictly than its incident (say TLP:RED on an AMBER incident)
    stays with the organisation that wrote it: the incident's wider audience does not get it.
    """
    stricter = [label for label in TLP.values if TLP.rank(label) > TLP.rank(incident.tlp)]
    own = user.groups.filter(organisation__isnull=False).values("organisation")
    return incident.timeline.exclude(Q(tlp__in=stricter) & ~Q(organisation__in=own))


def active_blueprint() -> Blueprint:
    return Blueprint.objects.prefetch_related("levels", "rules").get(is_active=True)


def blueprint_spec(blueprint: Blueprint) -> escalation.BlueprintSpec:
    levels = [{"number": lv.number, "code": lv.code, "name": lv.name} for lv in blueprint.levels.all()]
    rules = [
        {"code": r.code, "target_level": r.target_level, "conditions": r.conditions, "automatic": r.automatic}
        for r in blueprint.rules.all()
    ]
    return escalation.spec_from_data(blueprint.version, levels, rules)


def alerts_visible_to(user) -> QuerySet[Alert]:
    """Alerts addressed to the user's organisations, and those of incidents the user may see."""
    own = Q(organisation__group__in=user.groups.values("id"))
    return Alert.objects.filter(own | Q(incident__in=incidents_visible_to(user).values("pk")))


def visible_alert_ids(user, ids: set[str]) -> set[str]:
    numeric = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk) for pk in alerts_visible_to(user).filter(pk__in=numeric).values_list("pk", flat=True)}
