"""Reading model rows with SQL built once per model and database, for the reads every API write makes.

The ORM compiles its query on each call: for a one-row read by an indexed column that cost
several times the database's answer (the token, the ``Idempotency-Key`` record, each code of a
report, the audit chain's head; issue 16). Here the SQL is built once per process from the
models' own metadata, and a row becomes an instance as the ORM would make it: the fields'
database converters applied, then ``Model.from_db``. The companion of ``csoa_portal.inserts``.
"""

from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Model

from csoa_portal import prepared
from csoa_portal.inserts import CACHED_ROWS


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


# Built once per process; a race between threads only builds one twice.
_SELECTS: dict[tuple, _Select] = {}
_COMPILED: dict[tuple, tuple[str, tuple]] = {}
_COLUMNS: dict[tuple, Columns] = {}
_UPDATES: dict[tuple, tuple[str, tuple, tuple]] = {}


def _select(model: type[Model], using: str, names: tuple[str, ...]) -> _Select:
    key = (model, using, names)
    select = _SELECTS.get(key)
    if select is None:
        quote = connections[using].ops.quote_name
        meta = model._meta
        fields = tuple(meta.get_field(name) for name in names)
        cols = columns(model, using=using)
        where = " AND ".join(f"{quote(f.column)} = %s" for f in fields)
        select = _SELECTS[key] = _Select(f"SELECT {cols.sql} FROM {quote(meta.db_table)} WHERE {where}",
                                         cols, fields)
    return select


def fetch(model: type[Model], *, using: str, **equal) -> list[Model]:
    """The rows of ``model`` whose fields equal ``equal`` (``name=value``, at least one), as instances.

    Values go through the fields' own database preparation, as in a filter. A value the driver
    cannot send (a NUL byte) raises ``ValueError``.
    """
    if not equal:
        raise TypeError("fetch() needs at least one field to compare")
    select = _select(model, using, tuple(equal))
    connection = connections[using]
    params = [field.get_db_prep_value(value, connection) for field, value in zip(select.fields, equal.values())]
    with connection.cursor() as cursor:
        prepared.execute(cursor, select.sql, params)
        found = cursor.fetchall()
    return [select.columns.instance(row, using=using) for row in found]


def compiled(key, build, *, using: str) -> tuple[str, tuple]:
    """The SQL and parameters of the queryset ``build()`` returns, compiled once per ``key`` and database.

    For querysets whose SQL and parameters never change (no value of a request in them): ``key``
    names one such queryset, e.g. ``("pending entries", batch_size)``.
    """
    statement = _COMPILED.get((key, using))
    if statement is None:
        sql, params = build().query.get_compiler(using).as_sql()
        statement = _COMPILED[(key, using)] = (sql, tuple(params))
    return statement


def fetch_compiled(key, build, *, using: str) -> list[Model]:
    """``compiled``'s queryset read as instances of its model (a queryset of whole rows, in field order)."""
    sql, params = compiled(key, build, using=using)
    cols = _COLUMNS.get((key, using))
    if cols is None:
        cols = _COLUMNS[(key, using)] = columns(build().model, using=using)
    with connections[using].cursor() as cursor:
        prepared.execute(cursor, sql, params)
        found = cursor.fetchall()
    return [cols.instance(row, using=using) for row in found]


def _update(model: type[Model], using: str, names: tuple[str, ...], where: tuple[str, ...]):
    key = (model, using, names, where)
    statement = _UPDATES.get(key)
    if statement is None:
        quote = connections[using].ops.quote_name
        meta = model._meta
        set_fields = tuple(meta.get_field(name) for name in names)
        where_fields = tuple(meta.get_field(name) for name in where)
        sql = (f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in set_fields)} "
               f"WHERE {' AND '.join(f'{quote(f.column)} = %s' for f in where_fields)}")
        statement = _UPDATES[key] = (sql, set_fields, where_fields)
    return statement


_UPDATES_FROM_VALUES: dict[tuple, str] = {}  # larger updates (a sealer's backlog) are built each time


def _update_from_values(model: type[Model], using: str, set_fields: tuple, where_fields: tuple,
                        count: int) -> tuple[str, bool]:
    """PostgreSQL's ``UPDATE … FROM (VALUES …)`` of ``count`` rows: one statement for all of them, and
    whether it is kept (and so prepared on a persistent connection)."""
    kept = count <= CACHED_ROWS
    key = (model, using, set_fields, where_fields, count)
    sql = _UPDATES_FROM_VALUES.get(key)
    if sql is None:
        connection = connections[using]
        quote = connection.ops.quote_name
        fields = set_fields + where_fields
        row = f"({', '.join(f'CAST(%s AS {f.db_type(connection)})' for f in fields)})"
        aliases = [f"v{i}" for i in range(len(fields))]
        sql = (f"UPDATE {quote(model._meta.db_table)} AS t "
               f"SET {', '.join(f'{quote(f.column)} = v.{a}' for f, a in zip(set_fields, aliases))} "
               f"FROM (VALUES {', '.join([row] * count)}) AS v ({', '.join(aliases)}) "
               f"WHERE {' AND '.join(f't.{quote(f.column)} = v.{a}' for f, a in zip(where_fields, aliases[len(set_fields):]))}")
        if kept:
            _UPDATES_FROM_VALUES[key] = sql
    return sql, kept


def update_many(model: type[Model], *, using: str, names: tuple[str, ...], where: tuple[str, ...],
                rows: list[tuple]) -> None:
    """Per row, ``UPDATE … SET names = values WHERE where = values`` (each row: the new values, then the
    WHERE's); values go through the fields' database preparation as in a save.

    On PostgreSQL several rows are one statement (``UPDATE … FROM (VALUES …)``): the audit sealer's
    ``executemany`` was a round trip per entry it chained (issue 16). Elsewhere, ``executemany``.
    """
    sql, set_fields, where_fields = _update(model, using, names, where)
    connection = connections[using]
    fields = set_fields + where_fields
    params = [[field.get_db_prep_save(value, connection) for field, value in zip(fields, row)] for row in rows]
    with connection.cursor() as cursor:
        if len(params) == 1:
            prepared.execute(cursor, sql, params[0])
        elif connection.vendor == "postgresql":
            sql, kept = _update_from_values(model, using, set_fields, where_fields, len(params))
            flat = [value for row in params for value in row]
            if kept:
                prepared.execute(cursor, sql, flat)
            else:
                cursor.execute(sql, flat)
        else:
            cursor.executemany(sql, params)


def update(instance: Model, *names: str) -> None:
    """Store ``instance``'s ``names`` by its primary key, as ``save(update_fields=names)`` would write them."""
    model = type(instance)
    using = instance._state.db or router.db_for_write(model, instance=instance)
    update_many(model, using=using, names=names, where=(model._meta.pk.name,),
                rows=[(*(getattr(instance, instance._meta.get_field(n).attname) for n in names), instance.pk)])


def any_row(key, build, *, using: str) -> bool:
    """Whether ``compiled``'s queryset selects a row."""
    sql, params = compiled(key, build, using=using)
    with connections[using].cursor() as cursor:
        prepared.execute(cursor, sql, params)
        return cursor.fetchone() is not None


def related(obj: Model, name: str):
    """What ``getattr(obj, name).all()`` answers, without building the related manager when it is prefetched.

    Django builds a manager (its filters, its hints) on every read of a many-to-many or reverse
    foreign key; a new incident's rows are held in its prefetch cache (``reporting._hold``) and
    read half a dozen times per report, a twenty-fifth of its CPU under load (issue 16). ``name``
    is the field's name or ``related_name``, which is also its prefetch key.
    """
    held = obj.__dict__.get("_prefetched_objects_cache")
    if held is not None and name in held:
        return held[name]
    return getattr(obj, name).all()
