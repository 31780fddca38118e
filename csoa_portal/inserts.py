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


class Links(NamedTuple):
    """Link rows of a new row: one ``link`` per id of ``ids``, ``to`` = the new row and ``other`` = the id."""

    link: type[models.Model]
    to: str
    other: str
    ids: list


class Children(NamedTuple):
    """New instances of one model whose foreign key ``fk`` is the new row (an incident's grants, its clocks)."""

    fk: str
    objs: list


def insert_with_related(obj: models.Model, *, links=(), children=()) -> None:
    """INSERT a new instance (no primary key yet), its ``Links`` rows and its ``Children``, joined to it.

    On PostgreSQL one statement writes all of it (a data-modifying ``WITH``): a round trip and a
    statement fewer per kind of row on every report and every write that records an event (issue 16).
    Elsewhere, an INSERT each. The children get their keys and their foreign key, as ``save()`` sets them.
    """
    children = [child for child in children if child.objs]
    alias = router.db_for_write(type(obj), instance=obj)
    connection = connections[alias]
    if obj.pk is not None or connection.vendor != "postgresql":
        insert(obj)
        for linked in links:
            insert_links(link=linked.link, to=linked.to, to_id=obj.pk, other=linked.other, ids=linked.ids)
        for child in children:
            for each in child.objs:
                setattr(each, child.fk, obj)
            insert(*child.objs)
        return
    shape = (tuple((linked.link, linked.to, linked.other) for linked in links),
             tuple((type(child.objs[0]), child.fk, len(child.objs)) for child in children))
    statement, parts = _related_statement(type(obj), alias, *shape)
    params = _values(statement, obj, connection)
    params.extend(list(linked.ids) for linked in links)
    for part, child in zip(parts, children, strict=True):
        if any(type(each) is not part.model for each in child.objs):
            raise TypeError("Children take instances of one model")
        for each in child.objs:
            params.extend(_values(part.statement, each, connection))
    with connection.cursor() as cursor:
        if statement.kept:
            prepared.execute(cursor, statement.sql, params)
        else:
            cursor.execute(statement.sql, params)
        found = cursor.fetchone()
    _set_returned(obj, statement.returning, found[:1], connection)
    obj._state.adding, obj._state.db = False, alias
    for part, child, keys in zip(parts, children, found[1:], strict=True):
        if len(keys) != len(child.objs):
            raise RuntimeError(f"{part.model._meta.label}: {len(keys)} rows written for {len(child.objs)}")
        for each, key in zip(child.objs, keys):
            setattr(each, child.fk, obj)  # its key and its cached instance, as save() leaves them
            _set_returned(each, [part.model._meta.pk], (key,), connection)
            each._state.adding, each._state.db = False, alias


def insert_with_links(obj: models.Model, *, link: type[models.Model], to: str, other: str, ids) -> None:
    """``insert_with_related`` with one kind of link rows (an event and its audience's groups)."""
    insert_with_related(obj, links=[Links(link, to, other, ids)])


def insert_links(*, link: type[models.Model], to: str, to_id, other: str, ids) -> None:
    """INSERT one ``link`` row per id of ``ids`` joining the row ``to_id`` to it (``to`` = to_id, ``other`` = id)."""
    insert(*[link(**{f"{to}_id": to_id, f"{other}_id": other_id}) for other_id in ids])


class _Part(NamedTuple):
    model: type[models.Model]
    statement: _Statement  # its written fields (neither key nor foreign key), for their values


def _related_statement(model, alias: str, link_shapes: tuple, child_shapes: tuple) -> tuple[_Statement, list[_Part]]:
    key = (model, alias, "related", link_shapes, child_shapes)
    found = _STATEMENTS.get(key)
    if found is None:
        connection = connections[alias]
        quote = connection.ops.quote_name
        parent, pk = _statement(model, alias, 1, False), quote(model._meta.pk.column)
        ctes, answers, parts = [f"new AS ({parent.sql})"], [f"new.{pk}"], []
        for index, (link, to, other) in enumerate(link_shapes):
            to_field, other_field = link._meta.get_field(to), link._meta.get_field(other)
            ctes.append(f"l{index} AS (INSERT INTO {quote(link._meta.db_table)} "
                        f"({quote(to_field.column)}, {quote(other_field.column)}) SELECT new.{pk}, other "
                        f"FROM new, unnest(%s::{other_field.db_type(connection)}[]) AS other)")
        for index, (child, fk, rows) in enumerate(child_shapes):
            meta, fk_field = child._meta, child._meta.get_field(fk)
            own = _statement(child, alias, 1, False)
            fields = [f for f in own.fields if f is not fk_field]
            cast = f"({', '.join(f'CAST(%s AS {f.db_type(connection)})' for f in fields)})"
            names = [f"v{n}" for n in range(len(fields))]
            child_pk = quote(meta.pk.column)
            ctes.append(f"c{index} AS (INSERT INTO {quote(meta.db_table)} "
                        f"({', '.join(quote(f.column) for f in [fk_field, *fields])}) "
                        f"SELECT new.{pk}, {', '.join(f'v.{n}' for n in names)} "
                        f"FROM new, (VALUES {', '.join([cast] * rows)}) AS v ({', '.join(names)}) RETURNING {child_pk})")
            # A sequence numbers one statement's rows in the order written: the keys in the children's order.
            answers.append(f"ARRAY(SELECT {child_pk} FROM c{index} ORDER BY {child_pk})")
            parts.append(_Part(child, own._replace(fields=fields, plain=[_plain_types(f) for f in fields])))
        sql = f"WITH {', '.join(ctes)} SELECT {', '.join(answers)} FROM new"
        kept = all(rows <= CACHED_ROWS for _, _, rows in child_shapes)
        found = (parent._replace(sql=sql, kept=kept), parts)
        if kept:
            _STATEMENTS[key] = found
    return found


def _insert_batch(objs, alias, connection, with_pk, conflict: tuple = ()) -> int:
    """INSERT ``objs`` in one statement; how many rows were written (all unless ``conflict`` skipped some)."""
    return _run(_statement(type(objs[0]), alias, len(objs), with_pk, conflict), objs, alias, connection,
                conflict=bool(conflict))


def _values(statement: _Statement, obj, connection) -> list:
    """``obj``'s values of the statement's fields, prepared as ``save()`` prepares them."""
    params, values = [], obj.__dict__
    for field, plain in zip(statement.fields, statement.plain):
        if plain is not None and type(value := values.get(field.attname, _ABSENT)) in plain:
            params.append(value)
        else:
            params.append(field.get_db_prep_save(field.pre_save(obj, add=True), connection))
    return params


def _set_returned(obj, fields, row, connection) -> None:
    for field, value in zip(fields, row, strict=True):
        for converter in field.get_db_converters(connection):
            value = converter(value, field, connection)
        setattr(obj, field.attname, value)


def _run(statement: _Statement, objs, alias, connection, *, conflict: bool = False) -> int:
    """Execute ``statement`` with ``objs``' values; set what it returns; the rows written."""
    params = []
    for obj in objs:
        params.extend(_values(statement, obj, connection))
    with connection.cursor() as cursor:
        if statement.kept:
            prepared.execute(cursor, statement.sql, params)
        else:
            cursor.execute(statement.sql, params)
        returned = cursor.fetchall() if statement.returning else []
    if conflict and not returned:
        return 0
    for obj, row in zip(objs, returned, strict=True) if statement.returning else ():
        _set_returned(obj, statement.returning, row, connection)
    for obj in objs:
        obj._state.adding, obj._state.db = False, alias
    return len(objs)
