"""Channel-layer calls from synchronous code: one loop per process for Redis, async_to_sync otherwise."""

import asyncio
import threading

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings

from liaison import layer_loop

needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="full mode: a Redis channel layer")


@needs_redis
def test_sends_from_synchronous_code_reach_the_group_on_one_loop_kept_for_the_process():
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)

    async def join():
        channel = await layer.new_channel()
        await layer.group_add("layer-loop-test", channel)
        return channel, asyncio.get_running_loop(), threading.current_thread()

    channel, first_loop, thread = layer_loop.call(layer, join)

    async def send():
        await layer.group_send("layer-loop-test", {"type": "event.new", "id": 7})
        return asyncio.get_running_loop()

    assert layer_loop.call(layer, send) is first_loop
    assert layer_loop.call(layer, lambda: layer.receive(channel)) == {"type": "event.new", "id": 7}
    assert thread is not threading.current_thread() and thread.name == "channel-layer-loop"


@needs_redis
def test_a_call_that_fails_raises_in_the_caller_and_the_next_call_works():
    layer = get_channel_layer()

    async def fail():
        raise ConnectionError("Redis went away")

    with pytest.raises(ConnectionError, match="went away"):
        layer_loop.call(layer, fail)

    async def ok():
        return "sent"

    assert layer_loop.call(layer, ok) == "sent"


def test_the_in_memory_layer_is_called_through_async_to_sync_on_a_loop_of_the_call():
    layer = InMemoryChannelLayer()

    async def roundtrip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "event.new", "id": 1})
        return await layer.receive(channel), threading.current_thread()

    message, thread = layer_loop.call(layer, roundtrip)
    assert message == {"type": "event.new", "id": 1}
    assert thread.name != "channel-layer-loop"


@needs_redis
def test_releasing_a_layer_closes_its_connections_on_the_loop_and_it_can_send_again():
    layer = get_channel_layer()

    async def send():
        await layer.group_send("layer-loop-release", {"type": "event.new", "id": 1})

    layer_loop.call(layer, send)
    assert layer_loop._loop in layer._layers  # connections of its own on the process's loop
    layer_loop.release(layer)
    assert layer_loop._loop not in layer._layers
    layer_loop.call(layer, send)  # opens new ones on demand
    layer_loop.release(layer)
