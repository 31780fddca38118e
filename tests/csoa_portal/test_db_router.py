"""A read replica for the list API, the event feed and the board, through csoa_portal.db_router.

The replica here is a test mirror of ``default`` (Django's ``TEST: {"MIRROR": "default"}``):
a second connection, under the alias ``replica``, to the same test database. Which alias a
query went to is what the tests look at (each alias's queries captured apart); the tests are
transactional, so the mirror sees what ``default`` committed, as a replica would.
"""

import copy
import json
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from csoa_portal import db_router
from incidents import services
from liaison import selectors as liaison_selectors
from liaison.models import Event

# The alias must exist before the test database is set up (at collection), as settings.py adds it
# when DATABASE_REPLICA_URL is set. Nothing routes to it unless a test installs the router.
if db_router.REPLICA not in connections.settings:
    mirror = copy.deepcopy(connections.settings["default"])
    mirror["TEST"] = {**mirror.get("TEST", {}), "MIRROR": "default"}
    connections.settings[db_router.REPLICA] = mirror

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", db_router.REPLICA])

ROUTER = "csoa_portal.db_router.ReplicaRouter"


@pytest.fixture
def replica(settings):
    """The router and the pin middleware installed, as settings.py does with DATABASE_REPLICA_URL."""
    settings.DATABASE_ROUTERS = [ROUTER]
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                      "csoa_portal.db_router.ReplicaPinMiddleware")
    settings.MIDDLEWARE = middleware
    settings.DATABASE_REPLICA_PIN_SECONDS = 5
    from django.core.cache import cache

    cache.clear()
    db_router.forget_writes()  # writes of the set-up (outside any request) pin nothing
    yield
    cache.clear()


class Captured:
    """The queries of each alias while the block runs."""

    def __enter__(self):
        self._contexts = {alias: CaptureQueriesContext(connections[alias]) for alias in ("default", db_router.REPLICA)}
        for context in self._contexts.values():
            context.__enter__()
        return self

    def __exit__(self, *exc):
        for context in self._contexts.values():
            context.__exit__(*exc)

    def sql(self, alias) -> list[str]:
        return [q["sql"] for q in self._contexts[alias].captured_queries]

    def reads_of(self, alias, table) -> list[str]:
        return [s for s in self.sql(alias) if s.lstrip().upper().startswith("SELECT") and f'"{table}"' in s]

    def writes_of(self, alias) -> list[str]:
        return [s for s in self.sql(alias) if s.lstrip().split(" ", 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}]


def _report(network, title):
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    title=title, aware_at=timezone.now() - timedelta(hours=1), tlp="amber")


def _api(token):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_the_incident_list_reads_the_replica_and_answers_the_same_bytes(network, token_for, settings):
    _report(network, "Grid outage")
    client = _api(token_for(network["orgs"]["de-csirt"], "read"))
    plain = client.get("/api/v1/incidents/")
    settings.DATABASE_ROUTERS = [ROUTER]
    db_router.forget_writes()
    with Captured() as captured:
        routed = client.get("/api/v1/incidents/")
    assert routed.status_code == 200 and routed.content == plain.content
    assert captured.reads_of(db_router.REPLICA, "incidents_incident")  # the page
    assert any("incidents_deadline" in s for s in captured.sql(db_router.REPLICA))  # its related rows (raw SQL)
    assert not captured.reads_of("default", "incidents_incident")
    assert not captured.writes_of(db_router.REPLICA)


def test_without_the_router_nothing_reads_the_replica(network, token_for):
    _report(network, "Grid outage")
    client = _api(token_for(network["orgs"]["de-csirt"], "read"))
    with Captured() as captured:
        assert client.get("/api/v1/incidents/").status_code == 200
        assert client.get("/api/v1/events/").status_code == 200
    assert captured.sql(db_router.REPLICA) == []


def test_a_report_never_touches_the_replica_and_its_author_reads_it_back_at_once(network, token_for, replica):
    client = _api(token_for(network["orgs"]["de-csirt"], "read,write"))
    body = {"title": "Ransomware", "aware_at": (timezone.now() - timedelta(hours=1)).isoformat(), "tlp": "amber"}
    with Captured() as posting:
        created = client.post("/api/v1/incidents/", json.dumps(body), content_type="application/json")
    assert created.status_code == 201
    assert posting.sql(db_router.REPLICA) == []  # the write, and every read inside its transaction: the primary
    # Read-your-write: right after its write, the same principal's list reads the primary (the replica may lag).
    with Captured() as listing:
        page = client.get("/api/v1/incidents/")
    assert [i["id"] for i in page.json()["results"]][:1] == [created.json()["id"]]
    assert listing.sql(db_router.REPLICA) == []
    assert listing.reads_of("default", "incidents_incident")


def test_another_reader_is_not_pinned_by_someone_elses_write(network, token_for, replica):
    writer = _api(token_for(network["orgs"]["de-csirt"], "read,write"))
    reader = _api(token_for(network["orgs"]["fr-csirt"], "read"))  # another principal (tokens act as their organisation)
    body = {"title": "Ransomware", "aware_at": (timezone.now() - timedelta(hours=1)).isoformat(), "tlp": "amber"}
    assert writer.post("/api/v1/incidents/", json.dumps(body), content_type="application/json").status_code == 201
    with Captured() as captured:
        assert reader.get("/api/v1/incidents/").status_code == 200
    assert captured.reads_of(db_router.REPLICA, "incidents_incident")


def test_the_event_feed_reads_events_on_the_replica_and_settles_its_prefix_on_the_primary(network, token_for, replica):
    incident = _report(network, "Grid outage")
    client = _api(token_for(network["orgs"]["de-csirt"], "read"))
    with Captured() as captured:
        feed = client.get("/api/v1/events/", {"after": 0})
    assert feed.status_code == 200
    kinds = [e["kind"] for e in feed.json()["results"]]
    assert "incident.created" in kinds
    assert feed.json()["next_after"] == Event.objects.order_by("-id").values_list("id", flat=True).first()
    assert captured.reads_of(db_router.REPLICA, "liaison_eventaudience")  # who may see them: the replica
    assert captured.reads_of("default", "liaison_event")  # the settled prefix: the primary
    assert not captured.reads_of("default", "liaison_eventaudience")
    assert not captured.writes_of(db_router.REPLICA)
    assert incident.reference in feed.content.decode()


def test_a_replica_behind_the_primary_holds_the_feed_back_before_the_events_it_lacks(network, replica):
    _report(network, "Grid outage")
    ids = list(Event.objects.order_by("id").values_list("id", flat=True))
    committed_on_the_primary_only = ids[-1] + 1000  # settled there, not yet replayed here
    db_router.forget_writes()  # the report above was this thread's write (outside a request)
    with db_router.reading_replica():
        assert db_router.reads_replica()
        reached = liaison_selectors._replicated_prefix(0, [*ids, committed_on_the_primary_only])
    assert reached == ids[-1]  # not past it: the next read comes back for it
    assert liaison_selectors._replicated_prefix(0, [*ids, committed_on_the_primary_only]) == committed_on_the_primary_only


def test_the_board_reads_its_incidents_map_and_charts_on_the_replica(network, login, replica):
    _report(network, "Grid outage")
    client = login(network["people"]["de_analyst"])
    db_router.forget_writes()
    with Captured() as captured:
        board = client.get("/incidents/board/")
    assert board.status_code == 200
    assert captured.reads_of(db_router.REPLICA, "incidents_incident")
    assert captured.reads_of(db_router.REPLICA, "incidents_incident_affected_member_states")  # the map
    assert not captured.writes_of(db_router.REPLICA)


def test_reads_inside_a_transaction_stay_on_the_primary(network, replica):
    from django.db import transaction

    from incidents.models import Incident

    with db_router.reading_replica():
        assert db_router.read_alias() == db_router.REPLICA
        with transaction.atomic():
            assert Incident.objects.all().db == "default"
        with db_router.reading_primary():
            assert Incident.objects.all().db == "default"
    assert Incident.objects.all().db == "default"
