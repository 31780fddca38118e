"""The event feed: in id order, only what the caller may see, resumable with ``after``."""

import pytest
from django.db import transaction

from liaison.events import Audience, record_event
from liaison.models import Event
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
        "subject_id": "1",
        "actor": analyst.email,
        "payload": {"n": 1},
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
    for actor in (people["de_analyst"], people["de_admin"], None) * 5:
        _record_for(de, actor=actor)

    # token lookup + last-used update + events + actors: never one per event.
    with django_assert_max_num_queries(5):
        response = de_client.get(FEED, {"limit": 1000})
    assert len(response.json()["results"]) >= 15


def test_events_need_a_read_scope(network, token_for, bearer):
    client = bearer(token_for(network["orgs"]["de-csirt"], "write"))

    assert_error(client.get(FEED), 403, says="'read' scope")
