"""The Fanout: one pass per event serves the sockets idle at the tail, with the same guarantees.

Many sockets of a few users get each event once, in order, after one re-check per user;
a client slow to take its frames (sends that have to wait) still gets every frame, in
order and once, while the others go on. Same harness as test_consumers.py (in-memory layer
in embedded mode, channels_redis in full mode).
"""

import asyncio
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from csoa_portal.asgi import application
from liaison import consumers, selectors
from tests.liaison.test_consumers import _record, caught_up, events, open_stream, record, silent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.timeout(60)]

sync = database_sync_to_async


async def test_many_sockets_of_a_few_users_get_each_event_once_in_order_after_one_recheck_per_user(
    network, token_for
):
    orgs = network["orgs"]
    de_token, pt_token, fr_token = [await sync(token_for)(orgs[code], "read") for code in
                                    ("de-csirt", "pt-csirt", "fr-csirt")]
    de = [await open_stream(token=de_token) for _ in range(4)]
    pt = [await open_stream(token=pt_token) for _ in range(3)]
    fr = await open_stream(token=fr_token)
    for stream in [*de, *pt, fr]:
        await caught_up(stream)

    checked = []

    def spy(requests):
        checked.append([(user.pk, credential) for user, credential, _ in requests])
        return stream_visibility(requests)

    stream_visibility = selectors.stream_visibility
    with mock.patch.object(selectors, "stream_visibility", side_effect=spy):
        to_de = await record(orgs["de-csirt"])
        to_both = await record(orgs["de-csirt"], orgs["pt-csirt"])
        to_pt = await record(orgs["pt-csirt"])

        for stream in de:
            assert [e["id"] for e in await events(stream, 2)] == [to_de.id, to_both.id]
        for stream in pt:
            assert [e["id"] for e in await events(stream, 2)] == [to_both.id, to_pt.id]
        for stream in [*de, *pt, fr]:
            assert await silent(stream, timeout=0.2)

    assert checked, "the events were sent without a re-check"
    for requests in checked:  # however many sockets a user has, one check per call
        assert len(requests) == len(set(requests)), requests
    assert sum(len(requests) for requests in checked) <= 2 * 3  # per event: DE's user, PT's user at most
    for stream in [*de, *pt, fr]:
        await stream.disconnect()


async def test_client_slow_to_take_frames_gets_each_in_order_once_and_others_go_on(network, de_token_pair):
    slow_token, other_token = de_token_pair
    dawdle = asyncio.Event()

    async def transport_that_dawdles(scope, receive, send):
        """Once ``dawdle`` is set, each frame is taken only after a moment: the sends have to wait."""

        async def dawdling_send(message):
            if message["type"] == "websocket.send" and dawdle.is_set():
                await asyncio.sleep(0.02)
            await send(message)

        return await application(scope, receive, dawdling_send)

    slow = await open_stream(token=slow_token, app=transport_that_dawdles)
    other = await open_stream(token=other_token)
    await caught_up(slow)
    await caught_up(other)
    dawdle.set()

    de = network["orgs"]["de-csirt"]
    written = await record_together(de, 4)  # one pass: the first frame has to wait, three more come after it
    written.append((await record(de)).id)  # while those are still going out

    assert [e["id"] for e in await events(other, 5)] == written
    assert [e["id"] for e in await events(slow, 5)] == written
    assert await silent(slow)
    assert await silent(other, timeout=0.1)
    await ping_is_answered(slow)
    await slow.disconnect()
    await other.disconnect()


@database_sync_to_async
def record_together(organisation, count: int) -> list[int]:
    with transaction.atomic():
        return [_record(organisation).id for _ in range(count)]


async def ping_is_answered(stream):
    await stream.send_json_to({"type": "ping"})
    assert await stream.receive_json_from(timeout=10) == {"type": "pong"}


@pytest.fixture
def de_token_pair(network, token_for):
    return token_for(network["orgs"]["de-csirt"], "read"), token_for(network["orgs"]["de-csirt"], "read")


# --- the hand-started send, continued in a task ---------------------------------------------


async def test_send_continued_in_a_task_gets_its_wake_up_result_and_cancellation():
    loop = asyncio.get_running_loop()
    woken, ended = loop.create_future(), []

    async def send():
        try:
            return await woken
        finally:
            ended.append(True)

    coroutine = send()
    waiting = coroutine.send(None)  # started by hand: it waits on ``woken``
    task = asyncio.ensure_future(_await(consumers._Resumed(coroutine, waiting)))
    await asyncio.sleep(0)
    woken.set_result("sent")
    assert await task == "sent" and ended == [True]

    woken, ended = loop.create_future(), []
    coroutine = send()
    waiting = coroutine.send(None)

    async def with_timeout():
        async with asyncio.timeout(0.05):
            await consumers._Resumed(coroutine, waiting)

    with pytest.raises(TimeoutError):
        await with_timeout()
    assert ended == [True] and woken.cancelled()  # the cancellation went into the send, which cleaned up


async def _await(awaitable):
    return await awaitable
