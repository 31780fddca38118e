"""Clients of the event stream as real tools and browsers use them, for the fault tests.

- ``StreamClient``: one ``/ws/events/`` connection (``websockets`` library) that keeps the last
  id it got and, whenever the connection drops or fails, reconnects with ``after=<last id>``
  after a short pause, as ``static/js/live.js`` does. It authenticates with a bearer token
  (SOC tooling) or a session cookie plus ``Origin`` (standing in for a browser).
- ``StreamClients``: runs many of them on one event loop in a background thread.
- ``FeedPoller``: SOC tooling polling ``GET /api/v1/events/?after=`` in a thread.

Each records everything it received, in arrival order, so a test can check "in order, once,
none missing" against the log.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import requests
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

RECONNECT_PAUSE = 0.25  # seconds between attempts; live.js backs off further, a test need not


class StreamClient:
    def __init__(self, label: str, base_ws_url: str, *, after: int, token: str | None = None,
                 session_cookie: tuple[str, str] | None = None, origin: str | None = None):
        self.label = label
        self.base_ws_url = base_ws_url
        self.resume = after
        self.headers: dict[str, str] = {}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        if session_cookie:
            self.headers["Cookie"] = f"{session_cookie[0]}={session_cookie[1]}"
        self.origin = origin
        self.events: list[dict] = []
        self.connections = 0
        self.drops: list[str] = []  # why each connection ended or failed
        self.errors: list[dict] = []  # error frames from the server
        self.caught_up = False  # a caught_up frame came: the connection is live
        self._socket = None

    @property
    def ids(self) -> list[int]:
        return [event["id"] for event in self.events]

    async def follow(self) -> None:
        while True:
            try:
                async with connect(f"{self.base_ws_url}/ws/events/?after={self.resume}", additional_headers=self.headers,
                                   origin=self.origin, open_timeout=5, close_timeout=1, ping_interval=None,
                                   proxy=None) as ws:
                    self.connections += 1
                    self._socket = ws
                    async for raw in ws:
                        self._receive(json.loads(raw))
                    self.drops.append(f"closed {ws.close_code} {ws.close_reason}".strip())
            except (OSError, TimeoutError, WebSocketException) as exc:
                self.drops.append(f"{exc.__class__.__name__}: {exc}")
            finally:
                self._socket = None
            await asyncio.sleep(RECONNECT_PAUSE)

    async def drop(self) -> None:
        """The client's end of the connection goes away (a page reload, a network blip): it reconnects."""
        if self._socket is not None:
            await self._socket.close()

    def _receive(self, message: dict) -> None:
        if message.get("type") == "event":
            self.events.append(message["event"])
            self.resume = max(self.resume, message["event"]["id"])
        elif message.get("type") == "caught_up":
            self.resume = max(self.resume, message["after"])  # the protocol's resume point
            self.caught_up = True
        elif message.get("type") == "error":
            self.errors.append(message)


class StreamClients(threading.Thread):
    """Follows every client concurrently on one event loop, until ``stop()``."""

    def __init__(self, clients: list[StreamClient]):
        super().__init__(name="fault-stream-clients", daemon=True)
        self.clients = clients
        self.loop = asyncio.new_event_loop()
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())
        self.loop.close()

    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        self._ready.set()
        tasks = [asyncio.create_task(client.follow()) for client in self.clients]
        await self._stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def start(self) -> StreamClients:
        super().start()
        self._ready.wait(timeout=5)
        return self

    def drop(self, client: StreamClient) -> None:
        asyncio.run_coroutine_threadsafe(client.drop(), self.loop).result(timeout=5)

    def stop(self) -> None:
        if self._stopping is not None and self.is_alive():
            self.loop.call_soon_threadsafe(self._stopping.set)
        self.join(timeout=10)


class FeedPoller(threading.Thread):
    """SOC tooling on the REST feed: ``GET /api/v1/events/?after=<next_after>`` every ``interval`` seconds."""

    def __init__(self, label: str, base_url: str, *, token: str, after: int, interval: float = 0.25):
        super().__init__(name=f"fault-poller-{label}", daemon=True)
        self.label = label
        self.url = f"{base_url}/api/v1/events/"
        self.after = after
        self.interval = interval
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.events: list[dict] = []
        self.polls = 0
        self.failures: list[str] = []
        self._stopping = threading.Event()

    @property
    def ids(self) -> list[int]:
        return [event["id"] for event in self.events]

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                response = self.session.get(self.url, params={"after": self.after, "limit": 200}, timeout=10)
            except requests.RequestException as exc:
                self.failures.append(f"{exc.__class__.__name__}: {exc}")
            else:
                self.polls += 1
                if response.status_code == 200:
                    body = response.json()
                    self.events.extend(body["results"])
                    self.after = body["next_after"]
                    if body["results"]:
                        continue  # there may be more right away
                else:
                    self.failures.append(f"{response.status_code}: {response.text[:300]}")
            self._stopping.wait(self.interval)

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=15)
        self.session.close()


def settle(check, *, timeout: float, interval: float = 0.3):
    """Poll ``check()`` (returns a list of problems) until it returns none; the last problems otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        problems = check()
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(interval)
