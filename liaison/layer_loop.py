"""Channel-layer calls from synchronous code, on one event loop per process.

``async_to_sync`` in a process without an event loop of its own (gunicorn's workers, Celery,
commands) makes a new loop for every call, and channels_redis opens its Redis connections per
loop: every publication of a report's events paid for a loop and a connection (1.8 ms of CPU
for three groups; 0.6 ms on a loop kept running, bench figures of issue 16). Here a daemon
thread keeps one loop running for the process, and its connections with it.

Only for channels_redis's layer: the in-memory layer (embedded mode, tests) keeps its queues on
the loop that made them, so its calls still go through ``async_to_sync`` as before.
"""

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from asgiref.sync import async_to_sync
from channels_redis.core import RedisChannelLayer

T = TypeVar("T")

# A call waits this long at most: Redis that stopped answering must not hold a request; the
# sweeper publishes what was not sent (liaison.events.publish_pending).
TIMEOUT_SECONDS = 10.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid: int | None = None


def _process_loop() -> asyncio.AbstractEventLoop:
    """The process's loop, started on first use (and again in a forked child, whose parent's thread is gone)."""
    global _loop, _thread, _pid
    with _lock:
        if _loop is None or _pid != os.getpid() or _thread is None or not _thread.is_alive():
            _loop, _pid = asyncio.new_event_loop(), os.getpid()
            _thread = threading.Thread(target=_loop.run_forever, name="channel-layer-loop", daemon=True)
            _thread.start()
        return _loop


def call(layer, function: Callable[[], Awaitable[T]]) -> T:
    """``function()`` awaited for synchronous code: on the process's loop for a Redis layer, else by async_to_sync."""
    if not isinstance(layer, RedisChannelLayer):
        return async_to_sync(function)()
    return asyncio.run_coroutine_threadsafe(function(), _process_loop()).result(timeout=TIMEOUT_SECONDS)


def release(layer) -> None:
    """Close the connections ``layer`` opened on the process's loop (a layer being discarded: tests make one each).

    channels_redis keeps one set of connections per event loop and layer; production keeps its layer for
    the life of the process and never needs this.
    """
    loop = _loop
    if not isinstance(layer, RedisChannelLayer) or loop is None or _pid != os.getpid() or not loop.is_running():
        return
    on_loop = layer._layers.pop(loop, None)
    if on_loop is not None:
        asyncio.run_coroutine_threadsafe(on_loop.flush(), loop).result(timeout=TIMEOUT_SECONDS)
