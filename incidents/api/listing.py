"""The incident list over the API, rendered from plain rows: the shape of ``IncidentListSerializer``.

A page of 50 incidents through model instances, four prefetches and a nested serializer per
row cost ten times the hand-written SQL (bench/incidents_list.py). Here the page is one
``values()`` query over the visible, filtered incidents; one more brings the codes of their
member states, sectors and tags, one more their open deadlines; the dicts are built directly.
``IncidentListSerializer`` stays the list's declared shape (OpenAPI schema, the detail's base):
tests/incidents/test_api_listing.py proves both render the same bytes for the same incidents.
"""

from datetime import timezone as dt_timezone

from django.db import connection
from django.db.models import QuerySet
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

# Each many-to-many of the item: (its key in the item, the relation, the column shown). A relation's
# rows come in its target's Meta.ordering, as a prefetch gives them: that column here.
NAMES = (("affected_member_states", Incident.affected_member_states, "code"),
         ("sectors", Incident.sectors, "code"),
         ("tags", Incident.tags, "name"))

# DRF's own rendering of a date-time (ISO 8601, UTC as "Z"), as the serializer's fields do it.
_DATE_TIME = serializers.DateTimeField(default_timezone=UTC)


def rows(queryset: QuerySet[Incident]) -> QuerySet:
    """The visible, filtered incidents as dicts of the list's columns (paginated by the caller)."""
    return queryset.values(*COLUMNS)


def _names(ids: list[int]) -> dict[str, dict[int, list[str]]]:
    """For each many-to-many of the item, incident id → its codes in the relation's order: one query.

    Plain SQL over the three join tables (names from the models' meta): the ORM spent more time
    compiling three querysets than the database spent answering them (bench/incidents_list.py).
    """
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(ids))
    branches, params = [], []
    for key, relation, column in NAMES:
        field, target = relation.field, relation.field.related_model._meta
        assert target.ordering == [column], f"{target.object_name} is listed by {column}"
        branches.append(
            f"SELECT %s, j.{quote(field.m2m_column_name())}, t.{quote(column)} "
            f"FROM {quote(relation.through._meta.db_table)} j JOIN {quote(target.db_table)} t "
            f"ON t.{quote(target.pk.column)} = j.{quote(field.m2m_reverse_name())} "
            f"WHERE j.{quote(field.m2m_column_name())} IN ({placeholders})")
        params += [key, *ids]
    found: dict[str, dict[int, list[str]]] = {key: {} for key, _, _ in NAMES}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(branches) + " ORDER BY 1, 3", params)
        for key, incident_id, name in cursor.fetchall():
            found[key].setdefault(incident_id, []).append(name)
    return found


def _next_deadlines(ids: list[int], now) -> dict[int, clocks.Deadline]:
    """incident id → its earliest deadline not yet met (``clocks.next_due``), with its state now."""
    found: dict[int, clocks.Deadline] = {}
    for row in (Deadline.objects.filter(incident_id__in=ids, met_at__isnull=True).order_by("-due_at")
                .values_list("incident_id", "clock", "sequence", "due_at", "met_at", named=True)):
        found[row.incident_id] = row  # latest first: the earliest is written last
    return {pk: deadline_now(row, now) for pk, row in found.items()}


def render(page: list[dict], *, now) -> list[dict]:
    """The list's items for a page of ``rows``: two more queries whatever the page's size."""
    ids = [row["id"] for row in page]
    if not ids:
        return []
    names = _names(ids)
    member_states, sectors, tags = (names[key] for key, _, _ in NAMES)
    next_deadlines = _next_deadlines(ids, now)
    deadline = DeadlineSerializer()
    date_time = _DATE_TIME.to_representation
    items = []
    for row in page:
        pk = row["id"]
        category = row["category__code"]
        upcoming = next_deadlines.get(pk)
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
            "overdue": bool(upcoming and upcoming.state == clocks.State.OVERDUE),
            "tags": [tlp_tag(row["tlp"]), *tags.get(pk, ())],
        })
    return items

