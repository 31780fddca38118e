"""Read replicas for the read-heavy paths: the incident list API, the event feed, the crisis board.

Optional. ``DATABASE_REPLICA_URL`` (settings) adds the database alias ``replica`` (a streaming
replica of the primary, or a pooler in front of replicas), installs ``ReplicaRouter`` and
``ReplicaPinMiddleware``. Without it none of this is installed and every query goes to
``default``, as before (embedded mode never has one).

Reads go to the replica only inside ``reading_replica()`` (or a function decorated with
``replica_reads``), which those paths enter; everything else — writes, services, the sweep,
Celery tasks, the websocket consumer, the pages — stays on ``default``. Even inside:

- a read in a transaction on ``default`` (every API write runs in one; a service's
  ``transaction.atomic``) reads ``default``: it must see its own uncommitted rows;
- once a request has written (a write inside a transaction), the rest of that request
  reads ``default``;
- read-your-write across requests: after a request that wrote, its user's reads stay on
  ``default`` for ``DATABASE_REPLICA_PIN_SECONDS`` (``ReplicaPinMiddleware`` notes the
  write in the cache, ``reading_replica(user)`` checks it): a SOC tool that POSTs a report and
  then lists incidents finds it on the first page, whatever the replica's lag;
- ``reading_primary()`` inside a replica block reads ``default`` (the event feed's settled
  prefix is computed on the primary: see liaison.selectors.events_visible_to).

Raw SQL on the read path takes its connection from ``read_connection()``, not ``connection``.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.core.signals import request_finished, request_started
from django.db import DEFAULT_DB_ALIAS, connections, router

REPLICA = "replica"
PIN_KEY = "db-replica-pin:{}"

_reading = ContextVar("csoa_reading_replica", default=False)
_wrote = ContextVar("csoa_request_wrote", default=False)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def _pinned(user) -> bool:
    """Whether ``user`` wrote within the pin time (their reads then stay on the primary)."""
    pk = getattr(user, "pk", None)
    if pk is None:
        return False
    from django.core.cache import cache

    return bool(cache.get(PIN_KEY.format(pk)))


@contextmanager
def reading_replica(user=None):
    """Reads inside go to the replica (when one is configured; see the module for the exceptions).

    ``user``: the person or API principal the reads are for; if they wrote a moment ago, the
    reads stay on the primary (read-your-write).
    """
    token = _reading.set(replica_configured() and not _pinned(user))
    try:
        yield
    finally:
        _reading.reset(token)


@contextmanager
def reading_primary():
    """Reads inside go to ``default``, even within ``reading_replica()``."""
    token = _reading.set(False)
    try:
        yield
    finally:
        _reading.reset(token)


def replica_reads(function):
    """Run ``function`` inside ``reading_replica()`` (its queries; a lazy queryset it returns is evaluated later).

    When its first argument (or ``user=``) is a user, the reads are theirs (read-your-write pin).
    """

    @wraps(function)
    def wrapper(*args, **kwargs):
        user = kwargs.get("user", args[0] if args else None)
        with reading_replica(user if hasattr(user, "is_authenticated") else None):
            return function(*args, **kwargs)

    return wrapper


def read_alias() -> str:
    """The alias a read here goes to: ``replica`` inside ``reading_replica()`` unless an exception applies."""
    if _reading.get() and not _wrote.get() and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return REPLICA
    return DEFAULT_DB_ALIAS


def reads_replica() -> bool:
    return read_alias() == REPLICA


def read_connection():
    """The connection for raw SQL on a read path (the one the router gives the ORM's reads here)."""
    return connections[router.db_for_read(None) or DEFAULT_DB_ALIAS]


def wrote_in_this_request() -> bool:
    return _wrote.get()


class ReplicaRouter:
    """Reads: the replica inside ``reading_replica()``, else ``default``; writes and migrations: ``default``.

    Both answers are explicit: without one, Django would follow an instance's own database,
    and an object read from the replica would be saved there.
    """

    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:  # a service's write (not the token's bookkeeping)
            _wrote.set(True)
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica holds the primary's rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db == REPLICA:
            return False  # it replicates the primary's schema
        return None


class ReplicaPinMiddleware:
    """After a request that wrote, its user's replica reads stay on ``default`` for the pin time."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)  # the API principal too: DRF sets it on the request
        if _wrote.get() and getattr(user, "is_authenticated", False):
            from django.conf import settings
            from django.core.cache import cache

            try:
                cache.set(PIN_KEY.format(user.pk), 1, timeout=getattr(settings, "DATABASE_REPLICA_PIN_SECONDS", 5))
            except Exception:  # noqa: BLE001 - a cache outage must not fail a committed write's answer
                pass
        return response


def forget_writes(**kwargs) -> None:
    """A request's writes pin only that request: start and end each with a clean slate."""
    _wrote.set(False)


request_started.connect(forget_writes, dispatch_uid="csoa_portal.db_router.request_started")
request_finished.connect(forget_writes, dispatch_uid="csoa_portal.db_router.request_finished")
