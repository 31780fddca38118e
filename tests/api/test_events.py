"""The event feed: in id order, only what the caller may see, resumable with ``after``, long-polled with ``wait``."""

import os
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from liaison.events import Audience, record_event
from liaison.models import Event
from liaison.selectors import settled_prefix
from tests.api.support import assert_error

FEED = "/api/v1/events/"


def _record_for(*organisations, kind="test.happened", actor=None) -> Event:
    with transaction.atomic():
        return record_event(
            kind=kind,
            subject_type="test",
            subject_id="1",
            actor=actor,
            payload={"n": 1},
            audience=Audience(organisations=list(organisations)),
        )


def _feed_all(client, *, after=0, limit=100) -> list[dict]:
    """Poll the way a SOC tool does, until ``next_after`` stops moving."""
    seen = []
    while True:
        body = client.get(FEED, {"after": after, "limit": limit}).json()
        seen += body["results"]
        if body["next_after"] == after:
            return seen
        after = body["next_after"]


def test_event_for_de_csirt_reaches_de_token_and_not_pt_token(network, token_for, bearer):
    orgs = network["orgs"]
    event = _record_for(orgs["de-csirt"])
    de = bearer(token_for(orgs["de-csirt"], "read"))
    pt = bearer(token_for(orgs["pt-csirt"], "read"))

    assert event.id in [e["id"] for e in _feed_all(de)]
    assert event.id not in [e["id"] for e in _feed_all(pt)]


def test_event_fields_are_iso_utc_with_actor_email(network, de_client):
    analyst = network["people"]["de_analyst"]
    event = _record_for(network["orgs"]["de-csirt"], actor=analyst)

    shown = next(e for e in _feed_all(de_client) if e["id"] == event.id)

    assert shown == {
        "id": event.id,
        "kind": "test.happened",
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "subject_type": "test",
        "subject_id": 1,  # an integer, like every other id of the API
        "actor": analyst.email,
        "payload": {"n": 1},
        "exercise": None,  # live work
    }
    assert shown["created_at"].endswith("Z")


def test_system_events_have_a_null_actor(network, de_client):
    event = _record_for(network["orgs"]["de-csirt"])

    assert next(e for e in _feed_all(de_client) if e["id"] == event.id)["actor"] is None


def test_events_come_in_id_order_and_after_resumes_without_gaps_or_repeats(network, de_client):
    orgs = network["orgs"]
    for _ in range(3):
        _record_for(orgs["de-csirt"])
        _record_for(orgs["pt-csirt"])  # invisible to de-csirt: skipped, never returned later

    everything = de_client.get(FEED, {"limit": 1000}).json()["results"]
    one_by_one = _feed_all(de_client, limit=1)
    two_by_two = _feed_all(de_client, limit=2)

    ids = [e["id"] for e in everything]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert [e["id"] for e in one_by_one] == ids
    assert [e["id"] for e in two_by_two] == ids


def test_feed_resumes_after_the_last_event_seen(network, de_client):
    de = network["orgs"]["de-csirt"]
    body = de_client.get(FEED, {"limit": 1000}).json()
    newer = [_record_for(de).id, _record_for(de).id]

    resumed = de_client.get(FEED, {"after": body["next_after"]}).json()

    assert [e["id"] for e in resumed["results"]] == newer
    assert resumed["next_after"] == newer[-1]


def test_feed_with_nothing_new_keeps_next_after(network, de_client):
    last = _record_for(network["orgs"]["de-csirt"]).id

    assert de_client.get(FEED, {"after": last}).json() == {"results": [], "next_after": last}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"after": "-1"}, "after"),
        ({"after": "abc"}, "after"),
        ({"after": "1.5"}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_bad_after_or_limit_gets_400_naming_the_parameter(de_client, params, field):
    assert_error(de_client.get(FEED, params), 400, code="invalid", fields=[field], says=field)


def test_feed_queries_do_not_grow_with_events(network, de_client, django_assert_max_num_queries):
    de = network["orgs"]["de-csirt"]
    people = network["people"]
    start = _record_for(de).id  # ids other tests used before it are not this test's business
    for actor in (people["de_analyst"], people["de_admin"], None) * 5:
        _record_for(de, actor=actor)

    # token lookup + last-used update + settled ids + events + actors: never one per event.
    with django_assert_max_num_queries(5):
        response = de_client.get(FEED, {"after": start, "limit": 1000})
    assert len(response.json()["results"]) >= 15


def test_events_need_a_read_scope(network, token_for, bearer):
    client = bearer(token_for(network["orgs"]["de-csirt"], "write"))

    assert_error(client.get(FEED), 403, says="'read' scope")


# --- long-poll ---------------------------------------------------------------------------------


@pytest.mark.parametrize("wait", ["-1", "31", "soon", "1.5"])
def test_bad_wait_gets_400_naming_it(de_client, wait):
    assert_error(de_client.get(FEED, {"wait": wait}), 400, code="invalid", fields=["wait"], says="wait")


def test_long_poll_answers_at_once_when_there_are_events(network, de_client):
    event = _record_for(network["orgs"]["de-csirt"])

    started = time.monotonic()
    body = de_client.get(FEED, {"after": event.id - 1, "wait": 30}).json()

    assert [e["id"] for e in body["results"]] == [event.id]
    assert time.monotonic() - started < 5


def test_long_poll_with_nothing_new_answers_empty_once_the_wait_is_over(network, de_client):
    last = _record_for(network["orgs"]["de-csirt"]).id

    started = time.monotonic()
    body = de_client.get(FEED, {"after": last, "wait": 1}).json()

    assert body == {"results": [], "next_after": last}
    assert time.monotonic() - started >= 1


def _write_soon(delay: float, *organisations) -> dict:
    """Commit an event from another connection after ``delay`` seconds, as another request would."""
    written = {}

    def write():
        try:
            written["id"] = _record_for(*organisations).id
        finally:
            connection.close()

    timer = threading.Timer(delay, write)
    timer.start()
    written["timer"] = timer
    return written


@pytest.mark.django_db(transaction=True)
def test_long_poll_answers_with_an_event_committed_while_it_waits(network, token_for, bearer):
    de_csirt = network["orgs"]["de-csirt"]
    client = bearer(token_for(de_csirt, "read"))
    last = _record_for(de_csirt).id
    written = _write_soon(0.3, de_csirt)

    started = time.monotonic()
    body = client.get(FEED, {"after": last, "wait": 20}).json()
    written["timer"].join()

    assert [e["id"] for e in body["results"]] == [written["id"]]
    assert body["next_after"] == written["id"]
    assert time.monotonic() - started < 10


@pytest.mark.django_db(transaction=True)
def test_long_poll_of_another_member_state_is_not_answered_with_de_events(network, token_for, bearer):
    orgs = network["orgs"]
    pt = bearer(token_for(orgs["pt-csirt"], "read"))
    last = _record_for(orgs["de-csirt"]).id
    written = _write_soon(0.3, orgs["de-csirt"])

    started = time.monotonic()
    body = pt.get(FEED, {"after": last, "wait": 2}).json()
    written["timer"].join()

    assert body["results"] == []
    assert body["next_after"] == written["id"]  # skipped, never returned later
    assert time.monotonic() - started >= 2


# --- transactions that commit out of id order ---------------------------------------------------


def test_settled_prefix_waits_at_a_young_hole_and_crosses_an_old_or_settled_one():
    now = timezone.now()
    old, young = now - timedelta(minutes=1), now

    assert settled_prefix([(1, old), (2, young), (3, young)], 0, now=now) == (3, False)
    assert settled_prefix([(1, old), (2, old), (4, young)], 0, now=now) == (2, True)
    assert settled_prefix([(1, old), (4, old), (5, young)], 0, now=now) == (5, False)
    assert settled_prefix([(4, young), (5, young)], 2, settled_below=4, now=now) == (5, False)
    assert settled_prefix([], 7, now=now) == (7, False)


needs_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL: concurrent writers commit out of id order",
)


@pytest.mark.full
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_feed_never_moves_past_an_event_whose_transaction_is_still_open(network, token_for, bearer):
    from tests.liaison.test_consumers_ordering import HeldTransaction

    de_csirt = network["orgs"]["de-csirt"]
    client = bearer(token_for(de_csirt, "read"))
    before = _record_for(de_csirt).id

    with HeldTransaction(lambda: _record_for(de_csirt)) as slow:
        fast = _record_for(de_csirt).id
        assert slow.event_id < fast
        assert client.get(FEED, {"after": before}).json() == {"results": [], "next_after": before}
        slow.release()

    body = client.get(FEED, {"after": before}).json()
    assert [e["id"] for e in body["results"]] == [slow.event_id, fast]


@pytest.mark.full
@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_long_poll_waits_for_the_late_commit_and_returns_both_in_order(network, token_for, bearer):
    from tests.liaison.test_consumers_ordering import HeldTransaction

    de_csirt = network["orgs"]["de-csirt"]
    client = bearer(token_for(de_csirt, "read"))
    before = _record_for(de_csirt).id

    with HeldTransaction(lambda: _record_for(de_csirt)) as slow:
        fast = _record_for(de_csirt).id
        threading.Timer(0.5, slow.release).start()
        body = client.get(FEED, {"after": before, "wait": 20}).json()

    assert [e["id"] for e in body["results"]] == [slow.event_id, fast]
