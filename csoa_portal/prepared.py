"""PostgreSQL prepared statements for the SQL the portal builds once (``inserts``, ``rows``, the token lookup).

PostgreSQL plans each statement it receives as text. For the API token lookup (four tables and
a membership check, on every API request) planning cost 1.2 ms of the database's CPU against
0.2 ms of executing it; for the one-row reads and INSERTs of a report, planning was about half
(issue 16). A statement prepared once per connection (``PREPARE``, then ``EXECUTE`` with the
values) is planned once, or with a plan PostgreSQL keeps.

Only where a connection outlives a request (``CONN_MAX_AGE``, the WSGI workers of production):
with a connection per request, preparing would add a round trip per statement. Never behind
PgBouncer's transaction pooling (``DATABASE_TRANSACTION_POOLING``), where the next transaction
may run on a server session that never saw the ``PREPARE``; and not with psycopg 3, which
prepares on its own. ``DATABASE_PREPARED_STATEMENTS`` turns it off (or on) explicitly.

A prepared statement belongs to the session, not to a transaction: a rollback keeps it, and
a new connection (after a cut, or ``CONN_MAX_AGE``) starts with none, which is noticed by the
identity of the driver's connection object. Whether to prepare is decided once per driver
connection too (settings do not change under a running process; ``decide_again`` is for tests that do).
"""

from django.conf import settings

_ATTR = "_csoa_prepared"  # on Django's connection: (driver connection, enabled, {sql: statement name})


def enabled(connection) -> bool:
    """Whether statements are prepared on this Django connection (its settings decide)."""
    wanted = getattr(settings, "DATABASE_PREPARED_STATEMENTS", None)
    if connection.vendor != "postgresql" or wanted is False:
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if is_psycopg3 or connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        return False
    return wanted is True or connection.settings_dict.get("CONN_MAX_AGE") != 0


def _names(connection) -> dict[str, str] | None:
    """The statements prepared on the connection's current session; None where none are prepared."""
    raw = connection.connection
    held = getattr(connection, _ATTR, None)
    if held is None or held[0] is not raw:  # a new session: nothing prepared on it yet
        held = (raw, enabled(connection), {})
        setattr(connection, _ATTR, held)
    return held[2] if held[1] else None


def decide_again(connection) -> None:
    """Ask ``enabled`` again now (after a test changed the settings it reads); what is prepared stays known."""
    held = getattr(connection, _ATTR, None)
    if held is not None:
        setattr(connection, _ATTR, (held[0], enabled(connection), held[2]))


def _numbered(sql: str) -> str | None:
    """``sql`` with ``$1 … $n`` for its ``%s`` placeholders; None if it holds any other ``%``."""
    parts = sql.split("%s")
    if any("%" in part for part in parts):
        return None
    return "".join(part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, start=1))


def execute(cursor, sql: str, params=()) -> None:
    """``cursor.execute(sql, params)``, through a statement prepared on first use where ``enabled``.

    ``sql`` must be one of a bounded set built once per process (never a string holding values):
    each distinct text is prepared once per connection and kept for the connection's life.
    """
    names = _names(cursor.db)
    if names is None:
        cursor.execute(sql, params)
        return
    name = names.get(sql)
    if name is None:
        numbered = _numbered(sql)
        if numbered is None:
            cursor.execute(sql, params)
            return
        name = f"csoa_{len(names) + 1}"
        cursor.execute(f"PREPARE {name} AS {numbered}")
        names[sql] = name
    if params:
        cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)
    else:
        cursor.execute(f"EXECUTE {name}")
