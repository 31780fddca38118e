"""Cut the portal's own PostgreSQL connection at a chosen stage of one request: deterministic fault injection.

A portal server started with ``FAULT_CUTS=1`` (``tests/fault/asgi.py``) reads the stage from
the request's ``X-Fault-Cut`` header and, when the request reaches it, terminates the
backend serving it with ``pg_terminate_backend`` from a second connection, waiting until
it is gone. Each stage is cut once per request:

- ``in-transaction``: when the service records its Event, after the change itself was
  written, before the commit; the Event's INSERT fails;
- ``at-commit``: just before the COMMIT is sent; the COMMIT fails and nothing is committed;
- ``commit-unacknowledged``: just after the COMMIT succeeded, failing it as a lost
  acknowledgement would (the server committed, the portal cannot know);
- ``after-commit``: just after the COMMIT succeeded; what runs after the commit
  (publishing the Events, queueing tasks) finds the connection gone.

Test-only: nothing here is imported by the portal itself.
"""

from __future__ import annotations

import contextvars
import functools
import logging

import psycopg2

ENV = "FAULT_CUTS"
HEADER = "X-Fault-Cut"
STAGES = ("in-transaction", "at-commit", "commit-unacknowledged", "after-commit")

logger = logging.getLogger("tests.fault.cuts")
# The request's stage, shared by reference with the thread that runs the view: {"stage": ..., "done": bool}.
_plan: contextvars.ContextVar[dict | None] = contextvars.ContextVar("fault_cut_plan", default=None)


def _due(stage: str) -> bool:
    plan = _plan.get()
    if plan is None or plan["done"] or plan["stage"] != stage:
        return False
    plan["done"] = True
    return True


def _terminate_own_backend(wrapper) -> None:
    """End the backend of this Django connection from a second connection, and wait until it has ended."""
    pid = wrapper.connection.get_backend_pid()
    params = wrapper.get_connection_params()
    cutter = psycopg2.connect(**{k: v for k, v in params.items() if k != "cursor_factory"})
    try:
        cutter.autocommit = True
        with cutter.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])  # waits up to 5 s for it to end
            assert cursor.fetchone()[0], f"backend {pid} did not end"
    finally:
        cutter.close()
    logger.warning("fault injection: terminated backend %s", pid)


class _CutHeader:
    """ASGI wrapper: the request's ``X-Fault-Cut`` header becomes the plan of everything that serves it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        stage = dict(scope["headers"]).get(HEADER.lower().encode(), b"").decode()
        if stage and stage not in STAGES:
            raise ValueError(f"unknown {HEADER} {stage!r}; use one of {STAGES}")
        token = _plan.set({"stage": stage, "done": False} if stage else None)
        try:
            return await self.app(scope, receive, send)
        finally:
            _plan.reset(token)


def install(application):
    """Patch this server process (the commit, the Event recording) and wrap its ASGI application."""
    from django.db import connections

    from liaison import events

    DatabaseWrapper = type(connections["default"])  # the backend in use (csoa_portal.postgres: its own COMMIT)

    commit = DatabaseWrapper._commit

    @functools.wraps(commit)
    def _commit(self):
        if _due("at-commit"):
            _terminate_own_backend(self)
            return commit(self)  # fails: the backend is gone
        if _due("commit-unacknowledged"):
            commit(self)
            _terminate_own_backend(self)
            with self.wrap_database_errors:
                raise psycopg2.OperationalError("server closed the connection unexpectedly (fault injection)")
        if _due("after-commit"):
            commit(self)
            _terminate_own_backend(self)
            return None
        return commit(self)

    record_events = events.record_events

    @functools.wraps(record_events)
    def _record_events(items):
        if _due("in-transaction"):
            from django.db import connection

            _terminate_own_backend(connection)
        return record_events(items)

    DatabaseWrapper._commit = _commit
    events.record_events = _record_events
    return _CutHeader(application)
