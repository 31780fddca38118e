"""Browser-test fixtures: a live ASGI server on the test database and Debian's Chromium.

- ``live_server_url``: the real ``csoa_portal.asgi.application`` under uvicorn (``asgi_server``
  is the server itself, for a test that stops it);
- ``browser`` (one per test module) and ``page`` (one fresh context per test); ``new_page()``
  opens more, one context per person, for tests with several people at once;
- ``browser_problems``: any console error or page error fails the test unless allowed;
- ``screenshot``: saves ``tests/artifacts/<test>[-label].png``; a failing test gets one too.

Helpers (``login_in_browser``, ``current_code``, ``outside_browser_thread``) live in
``tests/e2e/browser.py``. While the browser runs, the test thread carries Playwright's
event loop: data written there (fixtures included) is committed and seen by the server,
but its events cannot be published on commit (``liaison.events`` logs "publishing event
N failed; the sweeper will retry" with "You cannot use AsyncToSync in the same thread as
an async event loop"). That is harmless for set-up data; a test that needs an event
pushed live to a page makes the write through ``outside_browser_thread``.
"""

import os

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    BrowserProblems,
    LiveServer,
    artifact_path,
    served_application,
)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture
def live_server_url(asgi_server):
    """Base URL of the portal served over ASGI (``asgi_server``)."""
    return asgi_server.url


@pytest.fixture
def asgi_server(transactional_db, django_db_serialized_rollback, settings):
    """The portal served over ASGI (a ``LiveServer``: ``.url``, ``.port``, ``.stop()``).

    ``transactional_db`` so the server thread sees what the test writes (committed, not
    hidden in the test's transaction). Transactional tests end with a flush that also
    wipes the data migrations' rows (member states, vocabularies); serialized rollback
    reloads them at the start of each browser test, so every one starts from the
    migrated database.
    """
    if "127.0.0.1" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    server = LiveServer(served_application()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright; never a downloaded browser.

    Playwright's sync API runs its event loop in this thread (switching greenlets),
    so Django sees a running loop and refuses ORM calls from tests and fixtures as
    "async-unsafe". No coroutine shares our database connection here: the loop only
    carries messages to the browser, and the ORM calls happen between them in plain
    sync code. So DJANGO_ALLOW_ASYNC_UNSAFE is set, only while the browser runs (this
    module's tests), never for the rest of the suite.
    """
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package to run browser tests."
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            yield chromium
            chromium.close()


@pytest.fixture
def browser_problems():
    return BrowserProblems()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so ``page`` can screenshot failures."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def new_page(browser, browser_problems, request):
    """``new_page()`` opens a page in a fresh browser context (its own cookies): one per person."""
    pages = []

    def open_page():
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        context.set_default_timeout(10_000)
        page = context.new_page()
        browser_problems.attach(page)
        pages.append(page)
        return page

    yield open_page
    failed = getattr(request.node, "rep_call", None)
    for number, page in enumerate(pages, start=1):
        if failed is not None and failed.failed:
            label = "failed" if len(pages) == 1 else f"failed-{number}"
            page.screenshot(path=artifact_path(request.node.name, label), full_page=True)
        page.context.close()
    problems = browser_problems.unexpected()
    if problems:
        pytest.fail("The browser reported errors:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def screenshot(request):
    """``screenshot(page, "label")`` saves a full-page PNG named after the test."""

    def take(page, label: str = ""):
        path = artifact_path(request.node.name, label)
        page.screenshot(path=path, full_page=True)
        return path

    return take
