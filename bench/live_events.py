"""Benchmark: commit of an incident update → its arrival at every websocket client that may see it.

    .venv/bin/python bench/live_events.py --size small|full [--updates N] [--steps 100,250,…]

Full mode only. The server runs as in production, in one process: ``uvicorn
csoa_portal.asgi:application --no-proxy-headers --ws-max-size 4096 --ws-per-message-deflate false``
(the websocket limits run_portal also sets) with ``DJANGO_ENV=production``,
on a random loopback port, with PostgreSQL (``BENCH_DATABASE_NAME``, default csoa_bench_live)
and channels_redis on a Redis database of its own (``BENCH_REDIS_URL``, default
redis://127.0.0.1:6379/11, flushed before and after).

The demo network is loaded; de-csirt reports a TLP:AMBER incident and shares it with the other
26 EU national CSIRTs and ENISA. Each organisation gets a read token. For each step N (small:
50, 100; full: 100, 250, 500, 1,000, 2,000) N websocket clients connect with those tokens, in
turn: 95 % of them belong to the 28 organisations that may see the incident, 5 % to three
crisis authorities that may not. Then this process commits ``update_incident`` through the
service, one update at a time (``--updates``, default 20 small / 30 full, after 2 warm-ups),
and measures, for every client that may see the incident, the time from the commit (an
on_commit hook registered before the service's own) to the arrival of the event frame at the
client. A client that may not see it must receive nothing (the run fails otherwise), and every
client that may must receive it (a miss fails the run).

Baseline, in the same step with the clients connected: a bare Redis pub/sub round trip
(PUBLISH → message at a subscriber, on the same Redis). The report gives p50/p99 per N and the
largest N whose p99 stays under one second.

The clients run on an asyncio loop in a thread of this process (the ``websockets`` library),
so commit and arrival times come from the same clock. Note: token clients act as their
organisation's service account, so N clients are 31 distinct users; the per-user re-check
of each event runs once per distinct user and batch.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_NAME", "csoa_bench_live")
import common  # noqa: E402

SIZES = {"small": {"steps": [50, 100], "updates": 20}, "full": {"steps": [100, 250, 500, 1000, 2000], "updates": 30}}
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
CHANNELS_PREFIX = "bench-live"
INVISIBLE_EVERY = 20  # one client in 20 belongs to an organisation that may not see the incident
INVISIBLE_ORGS = ["fr-authority", "pt-authority", "it-authority"]
ARRIVAL_TIMEOUT = 30.0
GIVE_UP_P99 = 5.0  # seconds: larger steps are not tried once a step's p99 passes this
BASELINE_SAMPLES = 200


# --- The server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log_path: Path, *, redis_url: str = REDIS_URL,
                 channels_prefix: str = CHANNELS_PREFIX) -> subprocess.Popen:
    env = common.production_env(redis_url=redis_url, channels_prefix=channels_prefix)
    uvicorn = str(Path(sys.executable).with_name("uvicorn"))
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [uvicorn, "csoa_portal.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--no-proxy-headers", "--ws-max-size", "4096", "--ws-per-message-deflate", "false",
             "--log-level", "warning"],
            cwd=common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def wait_ready(server: subprocess.Popen, port: int, log_path: Path) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 90
    request = urllib.request.Request(f"http://127.0.0.1:{port}/readyz", headers={"X-Forwarded-Proto": "https"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if json.loads(response.read()).get("mode") == "full":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server did not become ready:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def server_cpu_seconds(server: subprocess.Popen) -> float:
    fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def flush_redis(url: str = REDIS_URL) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


# --- The clients --------------------------------------------------------------------------------


class Clients:
    """N websocket clients on an asyncio loop in a thread; each records when each event id arrived."""

    def __init__(self, port: int):
        self.url = f"ws://127.0.0.1:{port}/ws/events/"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bench-clients", daemon=True)
        self.thread.start()
        self.sockets = []
        self.readers = []
        self.arrivals: list[dict[int, float]] = []
        self.closed_early = 0

    def run(self, coroutine, timeout=None):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _open(self, token: str, index: int):
        import websockets

        socket_ = await websockets.connect(self.url, additional_headers={"Authorization": f"Bearer {token}"},
                                           open_timeout=120, max_size=2**20)
        while json.loads(await socket_.recv())["type"] != "caught_up":
            pass
        self.sockets[index] = socket_
        self.readers[index] = asyncio.ensure_future(self._read(socket_, self.arrivals[index]))

    async def _read(self, socket_, arrivals: dict[int, float]):
        import websockets

        try:
            async for raw in socket_:
                now = time.perf_counter()
                message = json.loads(raw)
                if message["type"] == "event":
                    arrivals[message["event"]["id"]] = now
        except websockets.ConnectionClosed:
            pass
        self.closed_early += 1

    async def _open_all(self, tokens: list[str], parallel: int):
        self.sockets = [None] * len(tokens)
        self.readers = [None] * len(tokens)
        self.arrivals = [{} for _ in tokens]
        self.closed_early = 0
        limit = asyncio.Semaphore(parallel)

        async def one(index, token):
            async with limit:
                await self._open(token, index)

        await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens)))

    def open_all(self, tokens: list[str], parallel: int = 50) -> None:
        self.run(self._open_all(tokens, parallel))

    async def _close_all(self):
        readers = [r for r in self.readers if r is not None]
        await asyncio.gather(*(s.close() for s in self.sockets if s is not None), return_exceptions=True)
        await asyncio.gather(*readers, return_exceptions=True)

    def close_all(self) -> None:
        self.run(self._close_all(), timeout=120)
        self.sockets, self.readers = [], []

    async def _pubsub_round_trips(self, n: int) -> list[float]:
        import redis.asyncio as aredis

        publisher, subscriber = aredis.Redis.from_url(REDIS_URL), aredis.Redis.from_url(REDIS_URL)
        pubsub = subscriber.pubsub()
        await pubsub.subscribe("bench-live-baseline")
        await pubsub.get_message(timeout=1)  # the subscribe confirmation
        samples = []
        try:
            for i in range(n + 5):
                start = time.perf_counter()
                await publisher.publish("bench-live-baseline", str(i))
                while await pubsub.get_message(ignore_subscribe_messages=True, timeout=5) is None:
                    pass
                if i >= 5:
                    samples.append(time.perf_counter() - start)
        finally:
            await pubsub.aclose()
            await publisher.aclose()
            await subscriber.aclose()
        return samples

    def pubsub_round_trips(self, n: int) -> list[float]:
        return self.run(self._pubsub_round_trips(n), timeout=120)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


# --- The benchmark ------------------------------------------------------------------------------


def prepare():
    """The demo network, one shared incident, and a read token per organisation (visible, invisible)."""
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from incidents import services
    from liaison.models import MemberState, Organisation, User
    from liaison.services import issue_api_token

    common.progress("loading the demo network")
    call_command("load_demo", stdout=open(os.devnull, "w"))
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE incidents_incident RESTART IDENTITY CASCADE")
        cursor.execute("TRUNCATE liaison_event RESTART IDENTITY CASCADE")
    de = Organisation.objects.get(code="de-csirt")
    analyst = User.objects.get(email="analyst@de-csirt.demo")
    csirts = list(Organisation.objects.filter(kind="national_csirt", member_state__kind=MemberState.Kind.EU_MEMBER)
                  .exclude(pk=de.pk).order_by("code"))
    enisa = Organisation.objects.get(code="enisa")
    incident = services.report_incident(
        actor=analyst, organisation=de, title="Live benchmark", aware_at=timezone.now() - timedelta(hours=1),
        tlp="amber", severity="high",
    )
    services.share_incident(actor=analyst, incident=incident, organisations=[*csirts, enisa])
    visible = [de, *csirts, enisa]
    invisible = list(Organisation.objects.filter(code__in=INVISIBLE_ORGS).order_by("code"))

    def token(org):
        return issue_api_token(actor=None, organisation=org, name="live benchmark", scopes="read", days=1)[1]

    return analyst, incident, [token(o) for o in visible], [token(o) for o in invisible]


def client_tokens(n: int, visible: list[str], invisible: list[str]) -> tuple[list[str], list[bool]]:
    tokens, may_see = [], []
    for i in range(n):
        if i % INVISIBLE_EVERY == INVISIBLE_EVERY - 1:
            tokens.append(invisible[i % len(invisible)])
            may_see.append(False)
        else:
            tokens.append(visible[i % len(visible)])
            may_see.append(True)
    return tokens, may_see


def commit_update(analyst, incident, k: int) -> tuple[float, int]:
    """One update through the service; returns the commit time and the id of its event."""
    from django.db import transaction

    from incidents import services
    from liaison.models import Event

    committed = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(time.perf_counter()))  # before the service's hooks
        services.update_incident(actor=analyst, incident=incident, description=f"Situation {k}")
    event_id = (Event.objects.filter(kind="incident.updated", subject_type="incident", subject_id=str(incident.pk))
                .order_by("-id").values_list("id", flat=True).first())
    return committed[0], event_id


def postgres_round_trips(n: int) -> list[float]:
    """Context for the figures on a shared machine: one PostgreSQL round trip from this process."""
    from django.db import connection

    with connection.cursor() as cursor:
        def select_1():
            cursor.execute("SELECT 1")
            cursor.fetchone()

        return common.timed(select_1, repeat=n)


def measure_step(clients: Clients, may_see: list[bool], analyst, incident, updates: int) -> dict:
    watchers = [i for i, ok in enumerate(may_see) if ok]
    outsiders = [i for i, ok in enumerate(may_see) if not ok]
    samples, missed, leaked = [], 0, 0
    for k in range(updates + 2):
        committed_at, event_id = commit_update(analyst, incident, k)
        deadline = time.monotonic() + ARRIVAL_TIMEOUT
        while True:
            waiting = [i for i in watchers if event_id not in clients.arrivals[i]]
            if not waiting or time.monotonic() > deadline:
                break
            time.sleep(0.005)
        missed += len(waiting)
        time.sleep(0.2)  # let stray frames to outsiders arrive before counting them
        leaked += sum(1 for i in outsiders if event_id in clients.arrivals[i])
        if k >= 2:  # two warm-ups
            samples += [clients.arrivals[i][event_id] - committed_at for i in watchers if i not in waiting]
    return {"samples": samples, "missed": missed, "leaked": leaked, "watchers": len(watchers),
            "outsiders": len(outsiders)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--updates", type=int, default=None, help="measured updates per step")
    parser.add_argument("--steps", default=None, help="comma-separated client counts, e.g. 100,500,1000")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")] if args.steps else SIZES[args.size]["steps"]
    updates = args.updates or SIZES[args.size]["updates"]

    os.environ["REDIS_URL"] = REDIS_URL
    os.environ["CHANNELS_PREFIX"] = CHANNELS_PREFIX  # this process publishes where the server listens
    common.setup_django()
    from django.conf import settings

    assert settings.PORTAL_MODE == "full", "the benchmark needs the full mode (Redis)"
    flush_redis()
    analyst, incident, visible, invisible = prepare()

    port = free_port()
    log_path = Path(tempfile.mkdtemp(prefix="bench-live-")) / "server.log"
    common.progress(f"starting the server (one uvicorn process) on port {port}")
    server = start_server(port, log_path)
    clients = None
    rows, steps_done = [], []
    try:
        wait_ready(server, port, log_path)
        clients = Clients(port)
        for n in steps:
            tokens, may_see = client_tokens(n, visible, invisible)
            common.progress(f"N={n}: connecting {n} websocket clients")
            started = time.perf_counter()
            clients.open_all(tokens)
            connect_seconds = time.perf_counter() - started
            common.progress(f"N={n}: {BASELINE_SAMPLES} bare Redis pub/sub round trips")
            baseline = clients.pubsub_round_trips(BASELINE_SAMPLES)
            pg = postgres_round_trips(BASELINE_SAMPLES)
            common.progress(f"N={n}: {updates} incident updates, each awaited at every client that may see it")
            cpu_before = server_cpu_seconds(server)
            result = measure_step(clients, may_see, analyst, incident, updates)
            cpu = server_cpu_seconds(server) - cpu_before
            closed_early = clients.closed_early
            clients.close_all()
            if result["leaked"] or result["missed"] or closed_early:
                raise SystemExit(f"N={n}: {result['leaked']} deliveries to clients that may not see the incident, "
                                 f"{result['missed']} missed, {closed_early} connections closed by the server")
            row = common.summary(f"N={n}: commit → event at each of {result['watchers']} allowed clients",
                                 result["samples"], baseline)
            row.update(clients=n, allowed=result["watchers"], not_allowed=result["outsiders"],
                       connect_seconds=round(connect_seconds, 1), server_cpu_seconds=round(cpu, 1),
                       postgres_select_1_p50_ms=round(statistics.median(pg) * 1000, 3))
            rows.append(row)
            steps_done.append(n)
            common.progress(f"N={n}: p50 {row['p50']} ms, p99 {row['p99']} ms (pub/sub p50 {row['baseline_p50']} ms, "
                            f"PostgreSQL SELECT 1 p50 {row['postgres_select_1_p50_ms']} ms); "
                            f"server CPU {cpu:.1f} s for the updates")
            if row["p99"] / 1000 > GIVE_UP_P99:
                common.progress(f"p99 above {GIVE_UP_P99:g} s: larger steps are not tried")
                break
    finally:
        if clients is not None:
            try:
                if clients.sockets:
                    clients.close_all()
            finally:
                clients.stop()
        stop_server(server)
        flush_redis()

    held = [r["clients"] for r in rows if r["p99"] < 1000]
    largest = max(held) if held else None
    title = (f"Live events over websockets ({args.size}; one uvicorn process, channels_redis; "
             "baseline: bare Redis pub/sub round trip in the same step)")
    common.print_table(title, rows)
    for r in rows:
        print(f"  N={r['clients']}: connected in {r['connect_seconds']} s; server CPU {r['server_cpu_seconds']} s "
              f"over the updates; PostgreSQL SELECT 1 p50 {r['postgres_select_1_p50_ms']} ms")
    print(f"\nLargest N tried whose p99 stays under 1 s: {largest if largest else 'none'} "
          f"(tried {', '.join(map(str, steps_done))}; {updates} updates per step; "
          f"{len(visible)} organisations may see the incident, {len(invisible)} may not).")
    path = common.write_results(f"live_events_{args.size}", {"title": title, "rows": rows,
                                                              "largest_n_p99_under_1s": largest})
    print(f"written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
