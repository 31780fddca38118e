"""Rows a fixture wrote through the services, recorded once and copied into later tests.

Building the test network through the services (8 organisations, 8 people, their groups,
audit entries and events: about 360 queries, half a second) is what most tests start with.
The rows it leaves are the same every time on the same database state, so the first test
to build it records what changed in every table, and the next ones insert those rows again
(one INSERT per table) inside their own transaction. The record is only valid on the state
it was taken from: the committed rows, which change only when a transactional test flushes
the database (followed by ``post_migrate``, which bumps ``generation``), so a flush means the
next test builds and records again. A recording also names the recordings the test had replayed
before it (``reserve`` on top of ``network``): rows built on another base are never replayed. A
transactional test always builds through the services, so its after-commit work (events
published, audit entries sealed) happens as in production.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models.signals import post_migrate

# At most this many parameters in one INSERT (SQLite's historical limit is 999).
MAX_PARAMETERS = 900

generation = 0
# What the running test has put in the database through replayers so far: their recordings (or, for a
# build that was not recorded, a marker no recording matches). Reset before each test (tests/conftest.py).
trace: list = []


def begin_test() -> None:
    trace.clear()


def _new_committed_state(**kwargs) -> None:
    global generation
    generation += 1


post_migrate.connect(_new_committed_state, dispatch_uid="tests.snapshots.new_committed_state")


@dataclass
class TableChange:
    model: type
    fields: list
    inserted: list[tuple]
    updated: list[tuple]


@dataclass(eq=False)
class Recording:
    base: tuple  # (generation, the recordings replayed before it in its test)
    changes: list[TableChange]


def _models() -> list[type]:
    return [m for m in apps.get_models(include_auto_created=True) if m._meta.managed and not m._meta.proxy]


def _rows(model) -> dict:
    fields = model._meta.concrete_fields
    pk_index = fields.index(model._meta.pk)
    values = model._base_manager.using(connection.alias).values_list(*(f.attname for f in fields))
    return {row[pk_index]: row for row in values}


def _read_all() -> dict[type, dict]:
    return {model: _rows(model) for model in _models()}


def _difference(before: dict[type, dict], after: dict[type, dict]) -> list[TableChange]:
    changes = []
    for model, rows in after.items():
        old = before[model]
        inserted = [row for pk, row in rows.items() if pk not in old]
        updated = [row for pk, row in rows.items() if pk in old and old[pk] != row]
        if set(old) - set(rows):
            raise RuntimeError(f"building deleted rows of {model._meta.label}: it cannot be replayed")
        if inserted or updated:
            changes.append(TableChange(model, list(model._meta.concrete_fields), inserted, updated))
    return changes


def _insert(change: TableChange) -> None:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in change.fields)
    placeholder = "(" + ", ".join(["%s"] * len(change.fields)) + ")"
    per_statement = max(1, MAX_PARAMETERS // len(change.fields))
    with connection.cursor() as cursor:
        for start in range(0, len(change.inserted), per_statement):
            rows = change.inserted[start : start + per_statement]
            params = [f.get_db_prep_save(v, connection) for row in rows for f, v in zip(change.fields, row)]
            cursor.execute(
                f"INSERT INTO {quote(change.model._meta.db_table)} ({columns}) VALUES {', '.join([placeholder] * len(rows))}",
                params,
            )


def _update(change: TableChange) -> None:
    pk_index = change.fields.index(change.model._meta.pk)
    for row in change.updated:
        values = {f.attname: v for f, v in zip(change.fields, row) if not f.primary_key}
        change.model._base_manager.using(connection.alias).filter(pk=row[pk_index]).update(**values)


class Replayer:
    """``replayer(build, fetch)``: the first call per committed state builds and records; later ones replay."""

    def __init__(self):
        self.recording: Recording | None = None

    def __call__(self, build: Callable[[], object], fetch: Callable[[], object]):
        base = (generation, tuple(trace))
        if not connection.in_atomic_block:  # a transactional test: through the services, as in production
            trace.append(object())
            return build()
        if self.recording is not None and self.recording.base == base:
            try:
                with transaction.atomic():
                    for change in self.recording.changes:
                        _insert(change)
                        _update(change)
            except IntegrityError:
                # The test wrote something the recording collides with: built as the first time, not recorded.
                trace.append(object())
                return build()
            trace.append(self.recording)
            return fetch()
        before = _read_all()
        result = build()
        self.recording = Recording(base, _difference(before, _read_all()))
        trace.append(self.recording)
        return result
