"""Real Celery processes for the fault-injection tests, on a Redis keyspace of their own.

Two roles in one small module:

- ``celery -A tests.fault.workers worker|beat`` loads the portal's own Celery app through
  this module, which only adds the broker isolation the test asks for in the environment:
  every Redis key prefixed per test (so parallel runs, or a developer's worker on the same
  Redis, never take each other's tasks) and, when asked, a short visibility timeout so Redis
  hands back a task whose worker died now instead of in an hour.
- The test process uses :class:`Broker` and :class:`CeleryProcess` to send tasks to that
  keyspace, start and SIGKILL the processes, and read their logs.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from csoa_portal.celery import app

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
KEYPREFIX_ENV = "FAULT_BROKER_KEYPREFIX"
VISIBILITY_ENV = "FAULT_VISIBILITY_TIMEOUT"
# The Redis database the fault tests use; never the one the portal or a developer's worker uses.
FAULT_REDIS_DB = int(os.environ.get("FAULT_REDIS_DB", "5"))
# Worker backends are tagged so that a test can see them wait on a lock, and clean up after SIGKILL.
APPLICATION_NAME = "csoa-fault-worker"

T = TypeVar("T")


def transport_options(keyprefix: str, visibility_timeout: float | None = None) -> dict:
    options: dict = {"global_keyprefix": keyprefix}
    if visibility_timeout is not None:
        options["visibility_timeout"] = visibility_timeout
    return options


if os.environ.get(KEYPREFIX_ENV):  # inside a worker or beat started by a test
    from django.conf import settings as _settings

    _timeout = os.environ.get(VISIBILITY_ENV)
    app.conf.CELERY_BROKER_TRANSPORT_OPTIONS = {  # the portal's own options (visibility timeout), isolated
        **_settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        **transport_options(os.environ[KEYPREFIX_ENV], float(_timeout) if _timeout else None),
    }


def wait_for(predicate: Callable[[], T], *, timeout: float, interval: float = 0.05, what: str = "condition") -> T:
    """Poll until ``predicate`` returns something truthy; fail (never hang) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@dataclass
class Broker:
    """A per-test keyspace on the fault-test Redis database."""

    redis_url: str
    keyprefix: str = field(default_factory=lambda: f"fault-{uuid.uuid4().hex[:10]}:")

    @classmethod
    def beside(cls, redis_url: str) -> Broker:
        parts = urlsplit(redis_url)
        return cls(urlunsplit(parts._replace(path=f"/{FAULT_REDIS_DB}")))

    @contextmanager
    def sending(self):
        """Make this process's Celery app publish to the keyspace, for real (not eagerly)."""
        keys = {
            "CELERY_BROKER_URL": self.redis_url,
            "CELERY_BROKER_TRANSPORT_OPTIONS": transport_options(self.keyprefix),
            "CELERY_TASK_ALWAYS_EAGER": False,
        }
        # A key the settings never set reads None here, but its default ({} for transport
        # options) is what later tests need back: None would break every later publish.
        saved = {key: app.conf.get(key) for key in keys}
        saved = {k: ({} if v is None and k == "CELERY_BROKER_TRANSPORT_OPTIONS" else v) for k, v in saved.items()}
        app.conf.update(keys)
        _drop_connection_pools()
        try:
            yield self
        finally:
            app.conf.update(saved)
            _drop_connection_pools()

    def flush(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            keys = list(client.scan_iter(match=f"{self.keyprefix}*", count=500))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def _drop_connection_pools() -> None:
    """The app caches its broker connections; after a broker change they must be rebuilt.

    kombu also keeps process-wide producer pools keyed by connection: reset those too, or a
    later test would be handed a pool whose connections were closed here.
    """
    from kombu import pools

    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    pools.reset()


def database_url(settings_dict: dict, *, application_name: str = APPLICATION_NAME) -> str:
    """The URL of the database the test uses, for a worker that must see the same committed rows."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{settings_dict['NAME']}?application_name={application_name}"


def process_env(*, broker: Broker, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a portal process (worker, beat, web server) on the test's database and keyspace."""
    env = dict(os.environ)
    env.pop("TEST_DATABASE_NAME", None)
    env.update(
        DJANGO_ENV="test",
        DJANGO_SETTINGS_MODULE="csoa_portal.settings",
        DATABASE_URL=database_url,
        REDIS_URL=broker.redis_url,
        CHANNELS_PREFIX=broker.keyprefix.rstrip(":"),
        PYTHONUNBUFFERED="1",
        **{KEYPREFIX_ENV: broker.keyprefix},
    )
    env.update(extra)
    return env


@dataclass
class CeleryProcess:
    """One ``celery`` subprocess in its own process group, logging to a file."""

    name: str
    popen: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, pattern: str, *, timeout: float, count: int = 1) -> list[re.Match]:
        """Wait until the log holds ``count`` matches of ``pattern``; fail with the log if it never does."""

        def matches():
            if self.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.popen.returncode}:\n{self.log()[-4000:]}")
            found = list(re.finditer(pattern, self.log()))
            return found if len(found) >= count else None

        try:
            return wait_for(matches, timeout=timeout, what=f"{pattern!r} in the log of {self.name}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- {self.name} log ---\n{self.log()[-4000:]}") from None

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker and its pool children die at once, nothing is acked."""
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(timeout=10)

    def stop(self, *, timeout: float = 10) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if it does not finish in time."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                pass
        self.kill()


class CeleryProcesses:
    """Starts workers and beat against one test's database and broker keyspace; stops them all."""

    def __init__(self, *, broker: Broker, database_url: str, directory: Path):
        self.broker = broker
        self.database_url = database_url
        self.directory = directory
        self.started: list[CeleryProcess] = []

    def _env(self, **extra: str) -> dict[str, str]:
        return process_env(broker=self.broker, database_url=self.database_url, **extra)

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> CeleryProcess:
        log_path = self.directory / f"{name}.log"
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                [CELERY, "-A", "tests.fault.workers", *args], cwd=ROOT, env=env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        process = CeleryProcess(name, popen, log_path)
        self.started.append(process)
        return process

    def worker(self, name: str = "worker", *, concurrency: int = 1, pool: str = "prefork",
               visibility_timeout: float | None = None, ready_timeout: float = 30, queues: str = "celery,sweep",
               env: dict[str, str] | None = None) -> CeleryProcess:
        """A worker on both queues by default, as ``make worker`` starts it; ``queues="sweep"`` for a sweep worker."""
        extra = {VISIBILITY_ENV: str(visibility_timeout)} if visibility_timeout is not None else {}
        extra.update(env or {})
        process = self._spawn(name, [
            "worker", "--pool", pool, "--concurrency", str(concurrency), "-l", "info", "-Q", queues,
            "-n", f"{name}-{self.broker.keyprefix.rstrip(':')}@%h",
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        ], self._env(**extra))
        process.wait_for_log(r"@\S+ ready\.", timeout=ready_timeout)
        return process

    def beat(self, *, interval: float, name: str = "beat", ready_timeout: float = 30,
             env: dict[str, str] | None = None) -> CeleryProcess:
        process = self._spawn(name, [
            "beat", "-l", "info", "-s", str(self.directory / "beat-schedule"), "--max-interval", "1",
        ], self._env(SWEEP_INTERVAL_SECONDS=str(int(interval)), **(env or {})))
        process.wait_for_log(r"beat: Starting\.\.\.", timeout=ready_timeout)
        return process

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.kill()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} (exit {p.popen.returncode}) ---\n{p.log()[-6000:]}" for p in self.started)
