"""The live stream when the channel layer forgets the process's groups (a Redis restarted empty or flushed).

Nothing tells a process that Redis lost its memberships when its own connection survived (a
flush, a failover to an empty node, a restart between two reads): hints then go nowhere. The
Notifier checks every ``GROUP_CHECK`` seconds that a message to a group of its own comes
back, and if not joins every group again and has each connection read what it missed.
The safety pull is pushed out of reach here, so only hints and that repair can deliver.
Same harness as test_consumers.py (in-memory layer in embedded mode, channels_redis against
the real Redis in full mode; only this test's own group keys are removed there).
"""

import asyncio
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer

from liaison import consumers
from tests.liaison.test_consumers import caught_up, events, open_stream, record, silent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.timeout(60)]

BOUND = 3.0  # seconds from the loss to live delivery again, at worst (docs/scaling.md; GROUP_CHECK + GROUP_CHECK_WAIT)
HINT = 3.0  # seconds for an event to arrive by its hint (CI runs two suites side by side)
SLACK = 4.0  # a busy machine (CI runs two suites side by side)


@pytest.fixture(autouse=True)
def no_safety_pull(monkeypatch):
    """Connections would otherwise find the events on their own 12-18 s timers (and group re-reads)."""
    monkeypatch.setattr(consumers, "SAFETY_INTERVAL", 600.0)
    monkeypatch.setattr(consumers, "GROUP_WATCH", 600.0)


async def forget_groups(notifier) -> None:
    """What a Redis restarted empty does to this process's memberships, its connection left alone."""
    layer = notifier.layer
    names = [name for name in [getattr(notifier, "check_group", None), *notifier.group_counts] if name]
    if isinstance(layer, InMemoryChannelLayer):
        for name in names:
            layer.groups.pop(name, None)
    else:  # channels_redis: the group keys of this test's process only (the shared Redis keeps the rest)
        for name in names:
            await layer.connection(layer.consistent_hash(name)).delete(layer._group_key(name))


def notifier_of_this_loop() -> consumers.Notifier:
    return consumers._shared_for_loop()[2]


async def test_event_written_after_the_groups_were_lost_reaches_the_open_connection_within_the_bound(
        network, token_for):
    orgs = network["orgs"]
    stream = await open_stream(token=await database_sync_to_async(token_for)(orgs["de-csirt"], "read"))
    await caught_up(stream)
    notifier = notifier_of_this_loop()

    await forget_groups(notifier)
    lost = asyncio.get_running_loop().time()
    written = await record(orgs["de-csirt"])  # its hint goes to a group nobody is in any more

    assert [e["id"] for e in await events(stream, 1, timeout=BOUND + SLACK)] == [written.id]
    assert asyncio.get_running_loop().time() - lost <= BOUND + SLACK
    assert notifier.rejoins == 1
    live = await record(orgs["de-csirt"])  # and hints arrive again: at once, not at the next check
    assert [e["id"] for e in await events(stream, 1, timeout=HINT)] == [live.id]
    assert await silent(stream)
    await stream.disconnect()


async def test_while_the_groups_are_held_the_check_finds_them_and_joins_nothing_again(network, token_for):
    stream = await open_stream(token=await database_sync_to_async(token_for)(network["orgs"]["de-csirt"], "read"))
    await caught_up(stream)
    notifier = notifier_of_this_loop()

    assert await notifier.groups_held()
    await asyncio.sleep(BOUND)  # a periodic check ran meanwhile
    assert notifier.rejoins == 0
    await forget_groups(notifier)
    assert not await notifier.groups_held()
    await stream.disconnect()


async def test_connection_opened_while_the_layer_is_down_is_served_and_joined_once_it_is_back(network, token_for):
    orgs = network["orgs"]
    de = await open_stream(token=await database_sync_to_async(token_for)(orgs["de-csirt"], "read"))
    await caught_up(de)
    notifier = notifier_of_this_loop()
    pt_token = await database_sync_to_async(token_for)(orgs["pt-csirt"], "read")

    with mock.patch.object(type(notifier.layer), "group_add", side_effect=ConnectionError("redis down")):
        pt = await open_stream(token=pt_token)  # accepted: the outage delays its hints, it refuses nobody
        await caught_up(pt)
    written = await record(orgs["pt-csirt"])

    assert [e["id"] for e in await events(pt, 1, timeout=BOUND + SLACK)] == [written.id]
    assert notifier.rejoins == 1
    assert await silent(de)
    for stream in (de, pt):
        await stream.disconnect()


async def test_a_failed_rejoin_is_tried_again_at_the_next_check(network, token_for):
    orgs = network["orgs"]
    stream = await open_stream(token=await database_sync_to_async(token_for)(orgs["de-csirt"], "read"))
    await caught_up(stream)
    notifier = notifier_of_this_loop()
    group_add = type(notifier.layer).group_add
    calls = 0

    async def down_for_the_first_rejoin(self, group, channel):
        nonlocal calls
        calls += 1
        if calls == 2:  # the rejoin gets its check group back, then fails: the others stay lost
            raise ConnectionError("redis down")
        return await group_add(self, group, channel)

    await forget_groups(notifier)
    with mock.patch.object(type(notifier.layer), "group_add", down_for_the_first_rejoin):
        written = await record(orgs["de-csirt"])
        assert [e["id"] for e in await events(stream, 1, timeout=2 * BOUND + SLACK)] == [written.id]
    assert notifier.rejoins == 1 and calls > 2
    await stream.disconnect()
