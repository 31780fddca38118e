"""Reading model rows with SQL built once per model and database, for the reads every API write makes.

The ORM compiles its query on each call: for a one-row read by an indexed column that cost
several times the database's answer (the token, the ``Idempotency-Key`` record, each code of a
report, the audit chain's head; issue 16). Here the SQL is built once per process from the
models' own metadata, and a row becomes an instance as the ORM would make it: the fields'
database converters applied, then ``Model.from_db``. The companion of ``csoa_portal.inserts``.
"""

from dataclasses import dataclass

from django.db import connections
from django.db.models import Model


@dataclass(frozen=True)
class Columns:
    """A model's concrete columns in a SELECT (under a table alias) and how a row of them becomes an instance."""

    model: type[Model]
    sql: str  # the column list: "t"."id", "t"."name", …
    attnames: tuple[str, ...]
    converters: tuple[tuple, ...]  # per column: (converter, expression) pairs, most often none

    def __len__(self) -> int:
        return len(self.attnames)

    def instance(self, values, *, using: str) -> Model:
        connection = connections[using]
        values = list(values)
        for index, converters in enumerate(self.converters):
            for converter, expression in converters:
                values[index] = converter(values[index], expression, connection)
        return self.model.from_db(using, self.attnames, values)


def columns(model: type[Model], *, using: str, table_alias: str | None = None) -> Columns:
    """``model``'s concrete columns, qualified by ``table_alias`` (its table's name when none)."""
    connection = connections[using]
    quote = connection.ops.quote_name
    meta = model._meta
    prefix = table_alias or quote(meta.db_table)
    fields = meta.concrete_fields
    converters = []
    for field in fields:
        expression = field.get_col(meta.db_table)
        converters.append(tuple((converter, expression) for converter in
                                (*connection.ops.get_db_converters(expression), *field.get_db_converters(connection))))
    return Columns(model=model, sql=", ".join(f"{prefix}.{quote(f.column)}" for f in fields),
                   attnames=tuple(f.attname for f in fields), converters=tuple(converters))


@dataclass(frozen=True)
class _Select:
    sql: str
    columns: Columns
    fields: tuple  # the WHERE's fields, in order, for their database preparation


_SELECTS: dict[tuple, _Select] = {}


def _select(model: type[Model], using: str, names: tuple[str, ...], suffix: str) -> _Select:
    key = (model, using, names, suffix)
    select = _SELECTS.get(key)
    if select is None:
        quote = connections[using].ops.quote_name
        meta = model._meta
        fields = tuple(meta.get_field(name) for name in names)
        cols = columns(model, using=using)
        where = " AND ".join(f"{quote(f.column)} = %s" for f in fields)
        select = _SELECTS[key] = _Select(f"SELECT {cols.sql} FROM {quote(meta.db_table)} WHERE {where}{suffix}",
                                         cols, fields)
    return select


def fetch(model: type[Model], *, using: str, suffix: str = "", **equal) -> list[Model]:
    """The rows of ``model`` whose fields equal ``equal`` (``name=value``, at least one), as instances.

    ``suffix`` ends the statement as written (``" FOR UPDATE"``): a constant, never input. Values go
    through the fields' own database preparation, as in a filter. A value the driver cannot send
    (a NUL byte) raises ``ValueError``.
    """
    if not equal:
        raise TypeError("fetch() needs at least one field to compare")
    select = _select(model, using, tuple(equal), suffix)
    connection = connections[using]
    params = [field.get_db_prep_value(value, connection) for field, value in zip(select.fields, equal.values())]
    with connection.cursor() as cursor:
        cursor.execute(select.sql, params)
        found = cursor.fetchall()
    return [select.columns.instance(row, using=using) for row in found]
