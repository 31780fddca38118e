"""Helpers for browser tests: the live ASGI server, console-error collection, TOTP codes,
screenshots and logging in through the real pages.

Fixtures wiring these together live in ``tests/e2e/conftest.py``; later browser tests
import the plain helpers from here (``from tests.e2e.browser import login_in_browser``).
"""

import asyncio
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import uvicorn
from asgiref.sync import sync_to_async
from django.db import connection, connections
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def served_application():
    """The portal's ASGI application as the browser tests serve it.

    Under SQLite the test database lives in memory with a shared cache, whose table locks
    fail at once ("database table is locked") instead of waiting. Django gives each HTTP
    request a thread and a connection of its own (``ThreadSensitiveContext``), so two pages
    loading at the same moment would collide. There, every request runs in asgiref's one
    sync thread instead, where the websocket consumer's database calls already run: one
    connection, one query at a time. PostgreSQL keeps Django's thread per request.
    """
    from csoa_portal.asgi import application, django_asgi_app

    if connection.vendor != "sqlite":
        return application

    async def one_database_thread(scope, receive, send):
        if scope["type"] == "http":
            return await django_asgi_app.handle(scope, receive, send)  # __call__ minus ThreadSensitiveContext
        return await application(scope, receive, send)

    return one_database_thread


class LiveServer:
    """The real ASGI application (HTTP and websockets) served by uvicorn in a background thread.

    It shares the test database: requests run in Django's sync thread inside this
    process, so they see the rows a ``transactional_db`` test has committed (SQLite's
    shared in-memory test database, or the PostgreSQL test database).
    """

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Port 0: the kernel picks a free one, known before start. A given port lets a test
        # bring the server back where the browser pages expect it (a restart).
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        config = uvicorn.Config(
            app,
            lifespan="off",
            ws="auto",  # websockets (uvicorn[standard]) for the live channel
            loop="asyncio",
            log_level="warning",
            timeout_graceful_shutdown=3,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="e2e-uvicorn", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()/stop() in the test thread
            self._error = exc

    async def _serve(self) -> None:
        try:
            await self._server.serve(sockets=[self._socket])
        finally:
            # Close the connections of Django's sync thread, so the test database can be
            # flushed and dropped (PostgreSQL refuses to drop a database still in use).
            await sync_to_async(connections.close_all)()

    def start(self, timeout: float = 15) -> "LiveServer":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if self._error or not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The live server did not start: {self._error!r}")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 15) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError("The live server did not stop in time.")


class BrowserProblems:
    """Console errors and uncaught page errors seen by a page; any unexpected one fails the test.

    A test that provokes an error on purpose says so with ``allow(pattern)``.
    """

    def __init__(self):
        self.seen: list[str] = []
        self._allowed: list[re.Pattern] = []

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.seen.append(f"uncaught page error: {error}"))

    def _on_console(self, message) -> None:
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            self.seen.append(f"console error: {message.text} ({where})")

    def allow(self, pattern: str) -> None:
        self._allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [p for p in self.seen if not any(a.search(p) for a in self._allowed)]


def outside_browser_thread(fn, /, *args, **kwargs):
    """Run ``fn`` in a plain worker thread and return its result (exceptions propagate).

    The test thread carries Playwright's event loop, and ``async_to_sync`` refuses to
    run beside a loop, so a service called from the test body cannot publish its
    events to the channel layer on commit there (they would wait for the sweeper).
    Call services whose events a page must receive live through this helper, e.g.
    ``outside_browser_thread(services.escalate, actor=..., incident=...)``.
    """

    def call():
        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()  # PostgreSQL cannot drop a test database still in use

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="e2e-plain") as pool:
        return pool.submit(call).result()


def artifact_path(test_name: str, label: str = "") -> Path:
    """``tests/artifacts/<test name>[-<label>].png`` (the folder is gitignored)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-")
    if label:
        stem = f"{stem}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', label)}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{stem}.png"


def current_code(user) -> str:
    """The code the person's app shows now, never one the device already accepted.

    django-otp refuses a code whose time step is not after the last one used; when
    a test logs the same person in twice within 30 seconds, take the next step's
    code (accepted within the device's tolerance) or wait for it.
    """
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    if totp.t() <= device.last_t:
        wanted = device.last_t + 1
        while wanted > totp.t() + device.tolerance:
            time.sleep(1)
            totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = (wanted - device.drift) * device.step + device.t0
    return f"{totp.token():0{device.digits}d}"


def login_in_browser(page: Page, base_url: str, user, *, password: str = PASSWORD) -> None:
    """Log in through the real login and code pages; ends on the dashboard."""
    page.goto(f"{base_url}{reverse('accounts:login')}")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(re.escape(f"{base_url}{reverse('accounts:verify')}")))
    page.get_by_label("Six-digit code").fill(current_code(user))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{base_url}{reverse('liaison:dashboard')}")
