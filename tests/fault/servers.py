"""Server processes a fault test may break: a Redis of its own and the portal under uvicorn.

The machine's Redis (6379) and PostgreSQL (5432) are shared with other people and are never
restarted: a test that kills Redis starts its own ``redis-server`` on a free loopback port,
and a test that cuts database connections cuts only those of the portal process it started
(tagged with their own ``application_name``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.fault.workers import ROOT, wait_for

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
# PostgreSQL backends of a portal server started by a test, so that the test can cut exactly those.
SERVER_APPLICATION_NAME = "csoa-fault-server"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(popen: subprocess.Popen | None, *, timeout: float = 10) -> None:
    """SIGTERM the process group, SIGKILL if it lingers; never raises for a process already gone."""
    if popen is None or popen.poll() is not None:
        return
    try:
        os.killpg(popen.pid, signal.SIGTERM)
        popen.wait(timeout=timeout)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        try:
            os.killpg(popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        popen.wait(timeout=10)


class RedisServer:
    """A throwaway ``redis-server`` without persistence: a restart loses every key, as a crash would."""

    def __init__(self, directory: Path, port: int | None = None):
        self.port = port or free_port()
        self.directory = directory
        self.popen: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, timeout: float = 10) -> RedisServer:
        self.starts += 1
        log = (self.directory / f"redis-{self.starts}.log").open("wb")
        self.popen = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.directory)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        wait_for(self.ping, timeout=timeout, what=f"redis-server on port {self.port}")
        return self

    def ping(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def empty(self) -> None:
        """FLUSHALL: every key lost as in a restart, but the clients' connections stay up (nothing tells them)."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)
        try:
            client.flushall()
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: a crash, with every queued task and channel-layer group lost."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        _stop(self.popen)


class PortalServer:
    """``uvicorn tests.fault.asgi:application`` in a subprocess: the portal's web process, as deployed.

    ``env`` is the full environment (``workers.process_env``): the test database, a Redis, a
    broker keyspace. Its log (Django's warnings included) is kept for the test's failure report.
    """

    def __init__(self, *, env: dict[str, str], directory: Path, name: str = "portal"):
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = directory / f"{name}.log"
        self.name = name
        self.popen: subprocess.Popen | None = None

    def start(self, *, timeout: float = 30) -> PortalServer:
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "tests.fault.asgi:application", "--host", "127.0.0.1",
                 "--port", str(self.port), "--lifespan", "off", "--no-access-log", "--log-level", "info",
                 "--timeout-graceful-shutdown", "2"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_for(self._healthy, timeout=timeout, what=f"the portal server on port {self.port}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- {self.name} log ---\n{self.log()[-4000:]}") from None
        return self

    def _healthy(self) -> bool:
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.popen.returncode}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
            return False

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        _stop(self.popen)
