"""The incident list over the API, rendered from plain rows: the shape of ``IncidentListSerializer``.

A page of 50 incidents through model instances, four prefetches and a nested serializer per
row cost ten times the hand-written SQL (bench/incidents_list.py). Here the page is one
``values()`` query over the visible, filtered incidents, and one more brings the codes of their
member states, sectors and tags and their open deadlines; the dicts are built directly.
``IncidentListSerializer`` stays the list's declared shape (OpenAPI schema, the detail's base):
tests/incidents/test_api_listing.py proves both render the same bytes for the same incidents.
"""

from datetime import datetime, timezone as dt_timezone
from typing import NamedTuple

from django.db.models import QuerySet
from django.utils import timezone

from csoa_portal.db_router import read_connection
from incidents import clocks
from incidents.models import Deadline, Incident
from incidents.models.incidents import reference_for
from incidents.selectors import deadline_now
from incidents.tags import tlp_tag
from liaison.api.exercises import exercise_names, ref

UTC = dt_timezone.utc

# The incident's own columns, and the codes of its two foreign keys (joined in the page's query).
COLUMNS = ("id", "title", "status", "tlp", "severity", "crisis_level", "reporting_organisation__code",
           "category__code", "aware_at", "created_at", "updated_at", "version", "exercise_id")

# Each many-to-many of the item: (its key in the item, the relation, the column shown). A relation's
# rows come in its target's Meta.ordering, as a prefetch gives them: that column, sorted here
# (tests/incidents/test_api_listing.py checks the models still order by it).
NAMES = (("affected_member_states", Incident.affected_member_states, "code"),
         ("sectors", Incident.sectors, "code"),
         ("tags", Incident.tags, "name"))


class _Due(NamedTuple):
    """An open deadline row, as ``selectors.deadline_now`` reads it."""

    clock: str
    sequence: int
    due_at: datetime
    met_at: None = None



def iso(moment: datetime) -> str:
    """A stored date-time as ``serializers.DateTimeField(default_timezone=UTC)`` renders it: ISO 8601 in UTC,
    "Z" for "+00:00" (DRF's field, per value, was a fifth of the list's Python time)."""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def rows(queryset: QuerySet[Incident]) -> QuerySet:
    """The visible, filtered incidents as dicts of the list's columns (paginated by the caller)."""
    return queryset.values(*COLUMNS)


def _related(ids: list[int], now) -> tuple[dict[str, dict[int, list[str]]], dict[int, clocks.Deadline]]:
    """The page's codes of member states, sectors and tags (incident id → codes, in each relation's order),
    and its next deadlines (incident id → the earliest one not yet met, ``clocks.next_due``): one query.

    Plain SQL over the deadlines and the three join tables (names from the models' meta): the ORM
    spent more time building and compiling four querysets than the database answering them
    (bench/incidents_list.py). The deadlines come first, so PostgreSQL types the other branches'
    empty columns from theirs.
    """
    connection = read_connection()  # the replica's when the list reads one (csoa_portal.db_router)
    quote = connection.ops.quote_name
    placeholders = ", ".join(["%s"] * len(ids))
    deadline = Deadline._meta
    column = {name: quote(deadline.get_field(name).column) for name in ("incident", "clock", "sequence", "due_at", "met_at")}
    branches = [f"SELECT %s, {column['incident']}, {column['clock']}, {column['sequence']}, {column['due_at']} "
                f"FROM {quote(deadline.db_table)} WHERE {column['incident']} IN ({placeholders}) "
                f"AND {column['met_at']} IS NULL"]
    params = ["", *ids]
    for key, relation, shown in NAMES:
        field, target = relation.field, relation.field.related_model._meta
        branches.append(
            f"SELECT %s, j.{quote(field.m2m_column_name())}, t.{quote(shown)}, NULL, NULL "
            f"FROM {quote(relation.through._meta.db_table)} j JOIN {quote(target.db_table)} t "
            f"ON t.{quote(target.pk.column)} = j.{quote(field.m2m_reverse_name())} "
            f"WHERE j.{quote(field.m2m_column_name())} IN ({placeholders})")
        params += [key, *ids]
    names: dict[str, dict[int, list[str]]] = {key: {} for key, _, _ in NAMES}
    upcoming: dict[int, clocks.Deadline] = {}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(branches) + " ORDER BY 1, 5, 3", params)
        for key, incident_id, name, sequence, due_at in cursor.fetchall():
            if key:
                names[key].setdefault(incident_id, []).append(name)
            elif incident_id not in upcoming:  # soonest first: the first one is the next
                if timezone.is_naive(due_at):  # SQLite hands back UTC without its zone
                    due_at = due_at.replace(tzinfo=UTC)
                upcoming[incident_id] = deadline_now(_Due(name, sequence, due_at), now)
    return names, upcoming


def deadline_item(deadline: clocks.Deadline) -> dict:
    """``DeadlineSerializer``'s fields of a deadline."""
    met_at = deadline.met_at
    return {"clock": str(deadline.clock), "sequence": int(deadline.sequence), "label": str(deadline.label),
            "due_at": iso(deadline.due_at), "met_at": None if met_at is None else iso(met_at),
            "state": str(deadline.state)}


def render(page: list[dict], *, now) -> list[dict]:
    """The list's items for a page of ``rows``: one more query whatever the page's size (and one for the name of
    the exercise, when the page is an exercise's)."""
    ids = [row["id"] for row in page]
    if not ids:
        return []
    names, next_deadlines = _related(ids, now)
    member_states, sectors, tags = (names[key] for key, _, _ in NAMES)
    exercises = exercise_names(row["exercise_id"] for row in page)
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
            "aware_at": iso(row["aware_at"]),
            "created_at": iso(row["created_at"]),
            "updated_at": iso(row["updated_at"]),
            "version": int(row["version"]),
            "next_deadline": deadline_item(upcoming) if upcoming else None,
            "overdue": bool(upcoming and upcoming.state == clocks.State.OVERDUE),
            "tags": [tlp_tag(row["tlp"]), *tags.get(pk, ())],
            "exercise": ref(row["exercise_id"], exercises.get(row["exercise_id"])),
        })
    return items

