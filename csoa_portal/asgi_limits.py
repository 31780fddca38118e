"""A per-process bound on concurrent writes, queued in arrival order.

Django runs each ASGI request's sync code in a thread of its own (``ThreadSensitiveContext``),
so 32 concurrent POSTs to one worker are 32 threads sharing one GIL: each gets a thirty-second
share of the interpreter while holding its transaction's row locks open, and some requests
waited over ten seconds (bench/api_create.py, when writers also queued on the audit chain's
head row). Admitting a few writes at a time and queuing the rest first come, first served
keeps the admitted ones running. Reads, long-polls and websockets are not affected. (Production
serves the API from gunicorn's WSGI threads; this bounds the ASGI server of embedded mode and
of the websocket process.)
"""

import asyncio
import weakref

from django.conf import settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class WriteConcurrencyLimit:
    """ASGI middleware: at most ``settings.WRITE_CONCURRENCY`` state-changing HTTP requests at once."""

    def __init__(self, app):
        self.app = app
        self._gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _gate(self) -> asyncio.Semaphore | None:
        limit = getattr(settings, "WRITE_CONCURRENCY", 0)
        if not limit:
            return None
        loop = asyncio.get_running_loop()  # asyncio primitives belong to one loop (tests run several)
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(limit)
        return gate

    async def __call__(self, scope, receive, send):
        gate = self._gate() if scope["type"] == "http" and scope.get("method") not in SAFE_METHODS else None
        if gate is None:
            return await self.app(scope, receive, send)
        async with gate:
            return await self.app(scope, receive, send)
