"""The incident list over the API, rendered from plain rows: the shape of ``IncidentListSerializer``.

A page of 50 incidents through model instances, four prefetches and a nested serializer per
row cost ten times the hand-written SQL (bench/incidents_list.py). Here the page is one
``values()`` query over the visible, filtered incidents, and each relation one flat query for
the page's ids; the dicts are built directly. ``IncidentListSerializer`` stays the list's
declared shape (OpenAPI schema, detail endpoint's base); tests/incidents/test_api_listing.py
proves both render the same JSON for the same incidents.
"""

from datetime import timezone as dt_timezone

from django.db.models import Model, QuerySet
from django.utils import timezone
from rest_framework import serializers

from incidents import clocks
from incidents.api.serializers import DeadlineSerializer
from incidents.models import Deadline, Incident
from incidents.models.incidents import reference_for
from incidents.selectors import deadline_now
from incidents.tags import tlp_tag

UTC = dt_timezone.utc

# The incident's own columns, and the codes of its two foreign keys (joined in the page's query).
COLUMNS = ("id", "title", "status", "tlp", "severity", "crisis_level", "reporting_organisation__code",
           "category__code", "aware_at", "created_at", "updated_at", "version")

# DRF's own rendering of a date-time (ISO 8601, UTC as "Z"), as the serializer's fields do it.
_DATE_TIME = serializers.DateTimeField(default_timezone=UTC)


def rows(queryset: QuerySet[Incident]) -> QuerySet:
    """The visible, filtered incidents as dicts of the list's columns (paginated by the caller)."""
    return queryset.values(*COLUMNS)


def _ordered_by_target(through: type[Model], target: str, model: type[Model]) -> list[str]:
    """The through table's rows in the order a prefetch of the relation gives them (the target's Meta.ordering)."""
    return [f"-{target}__{field[1:]}" if field.startswith("-") else f"{target}__{field}" for field in model._meta.ordering]


def _names(relation, column: str, ids: list[int]) -> dict[int, list[str]]:
    """incident id → one column of a many-to-many relation's rows, in the relation's own order: one query."""
    through = relation.through
    target = relation.field.m2m_reverse_field_name()
    model = relation.field.related_model
    found: dict[int, list[str]] = {}
    for incident_id, name in (
        through.objects.filter(incident_id__in=ids)
        .order_by(*_ordered_by_target(through, target, model))
        .values_list("incident_id", f"{target}__{column}")
    ):
        found.setdefault(incident_id, []).append(name)
    return found


def _deadlines(ids: list[int], now) -> dict[int, list[clocks.Deadline]]:
    """incident id → its deadlines with their state now, soonest first (as the list's prefetch orders them)."""
    found: dict[int, list[clocks.Deadline]] = {}
    for row in (Deadline.objects.filter(incident_id__in=ids).order_by("due_at")
                .values_list("incident_id", "clock", "sequence", "due_at", "met_at", named=True)):
        found.setdefault(row.incident_id, []).append(deadline_now(row, now))
    return found


def render(page: list[dict], *, now=None) -> list[dict]:
    """The list's items for a page of ``rows``: four more queries whatever the page's size."""
    now = now or timezone.now()
    ids = [row["id"] for row in page]
    if not ids:
        return []
    member_states = _names(Incident.affected_member_states, "code", ids)
    sectors = _names(Incident.sectors, "code", ids)
    tags = _names(Incident.tags, "name", ids)
    deadlines = _deadlines(ids, now)
    deadline = DeadlineSerializer()
    date_time = _DATE_TIME.to_representation
    items = []
    for row in page:
        pk = row["id"]
        own = deadlines.get(pk, ())
        upcoming = clocks.next_due(own)
        category = row["category__code"]
        items.append({
            "id": pk,
            "reference": reference_for(pk, row["created_at"]),
            "title": str(row["title"]),
            "status": str(row["status"]),
            "tlp": str(row["tlp"]),
            "severity": str(row["severity"]),
            "crisis_level": int(row["crisis_level"]),
            "reporting_organisation": str(row["reporting_organisation__code"]),
            "affected_member_states": member_states.get(pk, []),
            "sectors": sectors.get(pk, []),
            "category": None if category is None else str(category),
            "aware_at": date_time(row["aware_at"]),
            "created_at": date_time(row["created_at"]),
            "updated_at": date_time(row["updated_at"]),
            "version": int(row["version"]),
            "next_deadline": deadline.to_representation(upcoming) if upcoming else None,
            "overdue": bool(clocks.overdue(own)),
            "tags": [tlp_tag(row["tlp"]), *tags.get(pk, ())],
        })
    return items
