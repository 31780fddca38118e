"""INSERTs of new model instances with SQL built once per model, database and row count.

A report writes seven kinds of rows; ``Model.save()`` and ``bulk_create()`` compile each INSERT
anew (the compiler walks every field, for every row, every time): about a millisecond of a
report's CPU (issue 16). Here the statement is built once from the model's metadata and only the
values are prepared per row, as the ORM prepares them (``pre_save`` then ``get_db_prep_save``,
so ``auto_now`` fields and JSON adapt as they would). What this skips besides the compiling is
what the hot paths do not use: ``pre_save``/``post_save`` signals (none is connected to these
models), ``save()`` overrides (none), fields with database defaults or generated columns (a
model with one is refused).
"""

from typing import NamedTuple

from django.db import connections, models, router

from csoa_portal import prepared


class _Statement(NamedTuple):
    sql: str
    fields: list  # the written fields, in the order of the values of each row
    returning: list  # the fields the database answers (the generated primary key)
    kept: bool  # built once and kept: prepared on a persistent connection (csoa_portal.prepared)
    plain: list  # per field, the value types it writes as they are (``_PLAIN``), or None


# Fields whose ``pre_save`` reads the attribute and whose ``get_db_prep_save`` hands back a value of
# these exact types unchanged (``to_python`` of a str, ``int()`` of an int, a foreign key's integer
# key): the value is written as it is, without the two calls per field and row (most of an INSERT's
# Python; issue 16). Exact classes only, as a subclass may prepare differently; any other value
# (a lazy string, a bool for an integer) takes the ORM's way.
_TEXT, _INT = frozenset({str, type(None)}), frozenset({int, type(None)})
_PLAIN = {
    models.CharField: _TEXT, models.TextField: _TEXT, models.SlugField: _TEXT, models.EmailField: _TEXT,
    models.BooleanField: frozenset({bool, type(None)}),
    models.IntegerField: _INT, models.SmallIntegerField: _INT, models.BigIntegerField: _INT,
    models.PositiveIntegerField: _INT, models.PositiveSmallIntegerField: _INT, models.PositiveBigIntegerField: _INT,
}


def _plain_types(field) -> frozenset | None:
    if type(field) is models.ForeignKey:
        return _INT if type(field.target_field) in (models.AutoField, models.BigAutoField) else None
    return _PLAIN.get(type(field))


_STATEMENTS: dict[tuple, _Statement] = {}
_ABSENT = object()
CACHED_ROWS = 16  # larger statements are rare (a sealer's backlog): built each time, not kept


def _statement(model: type[models.Model], alias: str, rows: int, with_pk: bool, conflict: tuple = ()) -> _Statement:
    key = (model, alias, rows, with_pk, conflict)
    statement = _STATEMENTS.get(key)
    if statement is None:
        meta, connection = model._meta, connections[alias]
        quote = connection.ops.quote_name
        if any(f.has_db_default() or f.generated for f in meta.concrete_fields):
            raise TypeError(f"{meta.label} has fields the database fills: save it through the ORM")
        fields = [f for f in meta.concrete_fields if with_pk or f is not meta.pk]
        returning = [] if with_pk and not conflict else [meta.pk]  # a skipped row answers nothing
        placeholders = f"({', '.join(['%s'] * len(fields))})"
        sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
               f"VALUES {', '.join([placeholders] * rows)}")
        if conflict:
            sql += f" ON CONFLICT ({', '.join(quote(meta.get_field(name).column) for name in conflict)}) DO NOTHING"
        if returning:
            sql += f" RETURNING {', '.join(quote(f.column) for f in returning)}"
        statement = _Statement(sql, fields, returning, rows <= CACHED_ROWS, [_plain_types(f) for f in fields])
        if statement.kept:
            _STATEMENTS[key] = statement
    return statement


def insert(*objs: models.Model) -> None:
    """INSERT new instances of one model in one statement; sets their generated keys, as ``save()`` would.

    All with a primary key already (a UUID, say) or all without one.
    """
    if not objs:
        return
    model = type(objs[0])
    if any(type(obj) is not model for obj in objs):
        raise TypeError("insert() takes instances of one model")
    with_pk = objs[0].pk is not None
    if any((obj.pk is not None) != with_pk for obj in objs):
        raise TypeError("insert() takes instances that all have a primary key, or none")
    alias = router.db_for_write(model, instance=objs[0])
    connection = connections[alias]
    if not with_pk and not connection.features.can_return_rows_from_bulk_insert:  # an old SQLite
        model.objects.using(alias).bulk_create(objs)
        return
    fields = _statement(model, alias, 1, with_pk).fields
    size = connection.ops.bulk_batch_size(fields, objs)  # the database's limit of parameters per statement
    for start in range(0, len(objs), size):
        _insert_batch(objs[start:start + size], alias, connection, with_pk)


def insert_unless_taken(obj: models.Model, *, unique: tuple[str, ...]) -> bool:
    """INSERT one new instance unless a row with the same ``unique`` fields exists; whether it was written.

    ``INSERT … ON CONFLICT (unique) DO NOTHING``: losing a race to a concurrent insert raises
    nothing, so no savepoint is needed around it (``unique`` must name a unique constraint).
    """
    alias = router.db_for_write(type(obj), instance=obj)
    return bool(_insert_batch([obj], alias, connections[alias], obj.pk is not None, tuple(unique)))


def insert_with_links(obj: models.Model, *, link: type[models.Model], to: str, other: str, ids) -> None:
    """INSERT a new instance (no primary key yet) and one ``link`` row per id of ``ids``, joining it to them.

    Each ``link`` row has ``to`` = the new row and ``other`` = an id (an event and its audience's groups, a new
    incident and its member states).
    On PostgreSQL one statement writes all of it (a data-modifying ``WITH``): a round trip and a
    statement fewer on every write that records an event (issue 16). Elsewhere, two INSERTs.
    """
    alias = router.db_for_write(type(obj), instance=obj)
    connection = connections[alias]
    if obj.pk is not None or connection.vendor != "postgresql":
        insert(obj)
        insert_links(link=link, to=to, to_id=obj.pk, other=other, ids=ids)
        return
    statement = _linked_statement(type(obj), alias, link, to, other)
    _run(statement, [obj], alias, connection, extra=[list(ids)])


def insert_links(*, link: type[models.Model], to: str, to_id, other: str, ids) -> None:
    """INSERT one ``link`` row per id of ``ids`` joining the row ``to_id`` to it (``to`` = to_id, ``other`` = id)."""
    insert(*[link(**{f"{to}_id": to_id, f"{other}_id": other_id}) for other_id in ids])


def _linked_statement(model, alias: str, link, to: str, other: str) -> _Statement:
    key = (model, alias, "links", link, to, other)
    statement = _STATEMENTS.get(key)
    if statement is None:
        connection = connections[alias]
        quote = connection.ops.quote_name
        parent, pk = _statement(model, alias, 1, False), quote(model._meta.pk.column)
        to_field, other_field = link._meta.get_field(to), link._meta.get_field(other)
        sql = (f"WITH new AS ({parent.sql}), linked AS (INSERT INTO {quote(link._meta.db_table)} "
               f"({quote(to_field.column)}, {quote(other_field.column)}) SELECT new.{pk}, other "
               f"FROM new, unnest(%s::{other_field.db_type(connection)}[]) AS other) SELECT {pk} FROM new")
        statement = _STATEMENTS[key] = parent._replace(sql=sql)
    return statement


def _insert_batch(objs, alias, connection, with_pk, conflict: tuple = ()) -> int:
    """INSERT ``objs`` in one statement; how many rows were written (all unless ``conflict`` skipped some)."""
    return _run(_statement(type(objs[0]), alias, len(objs), with_pk, conflict), objs, alias, connection,
                conflict=bool(conflict))


def _run(statement: _Statement, objs, alias, connection, *, conflict: bool = False, extra=()) -> int:
    """Execute ``statement`` with ``objs``' values (then ``extra``'s); set what it returns; the rows written."""
    params = []
    for obj in objs:
        values = obj.__dict__
        for field, plain in zip(statement.fields, statement.plain):
            if plain is not None and type(value := values.get(field.attname, _ABSENT)) in plain:
                params.append(value)
            else:
                params.append(field.get_db_prep_save(field.pre_save(obj, add=True), connection))
    params.extend(extra)
    with connection.cursor() as cursor:
        if statement.kept:
            prepared.execute(cursor, statement.sql, params)
        else:
            cursor.execute(statement.sql, params)
        returned = cursor.fetchall() if statement.returning else []
    if conflict and not returned:
        return 0
    for obj, row in zip(objs, returned, strict=True) if statement.returning else ():
        for field, value in zip(statement.returning, row, strict=True):
            for converter in field.get_db_converters(connection):
                value = converter(value, field, connection)
            setattr(obj, field.attname, value)
    for obj in objs:
        obj._state.adding, obj._state.db = False, alias
    return len(objs)
