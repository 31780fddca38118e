"""At most WRITE_CONCURRENCY writes run at once per process, the rest in arrival order; reads never wait."""

import asyncio

import pytest

from csoa_portal.asgi_limits import WriteConcurrencyLimit


class SlowApp:
    """An ASGI app whose requests finish only when the test releases them."""

    def __init__(self):
        self.running: list[str] = []
        self.started: list[str] = []
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, scope, receive, send):
        name = scope["path"]
        self.started.append(name)
        self.running.append(name)
        await self.release.setdefault(name, asyncio.Event()).wait()
        self.running.remove(name)


def _http(method, path):
    return {"type": "http", "method": method, "path": path}


async def _settle():
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_writes_beyond_the_limit_wait_their_turn_in_arrival_order(settings):
    settings.WRITE_CONCURRENCY = 2
    app = SlowApp()
    limited = WriteConcurrencyLimit(app)
    tasks = [asyncio.ensure_future(limited(_http("POST", f"/w{i}"), None, None)) for i in range(4)]
    tasks.append(asyncio.ensure_future(limited(_http("GET", "/read"), None, None)))
    tasks.append(asyncio.ensure_future(limited({"type": "websocket", "path": "/ws"}, None, None)))
    await _settle()
    assert sorted(app.running) == ["/read", "/w0", "/w1", "/ws"]  # reads and websockets are not held back
    app.release.setdefault("/w1", asyncio.Event()).set()
    await _settle()
    assert "/w2" in app.running and "/w3" not in app.running
    for name in ("/w0", "/w2", "/w3", "/read", "/ws"):
        app.release.setdefault(name, asyncio.Event()).set()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    assert [n for n in app.started if n[:2] == "/w" and n != "/ws"] == ["/w0", "/w1", "/w2", "/w3"]


@pytest.mark.asyncio
async def test_a_failed_write_frees_its_place(settings):
    settings.WRITE_CONCURRENCY = 1

    async def failing(scope, receive, send):
        raise RuntimeError("boom")

    limited = WriteConcurrencyLimit(failing)
    with pytest.raises(RuntimeError):
        await limited(_http("PATCH", "/x"), None, None)
    with pytest.raises(RuntimeError):  # not stuck waiting for the first one's place
        await asyncio.wait_for(limited(_http("PATCH", "/x"), None, None), 1)


@pytest.mark.asyncio
async def test_zero_means_no_limit(settings):
    settings.WRITE_CONCURRENCY = 0
    app = SlowApp()
    limited = WriteConcurrencyLimit(app)
    tasks = [asyncio.ensure_future(limited(_http("POST", f"/w{i}"), None, None)) for i in range(10)]
    await _settle()
    assert len(app.running) == 10
    for event in app.release.values():
        event.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
