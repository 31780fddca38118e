"""Benchmark: reports and live events while the sweep fires a backlog of overdue alarms.

    .venv/bin/python bench/sweep_load.py --size small|full [--alarms N] [--pause S] [--seconds S]

Full mode only. Before issue 16, one deadline sweep over a backlog fired 1,004 alarms in a single
13.3 s transaction: report latency went from 119 ms to 7.2 s and live-event lag from 58 ms to
7.2 s, for everyone. The goal: during a 1,000-alarm sweep, report p99 and live-event lag p99 stay
within 2× of the same run without the sweep.

The portal runs as in production, on a database (``BENCH_DATABASE_NAME``, default
csoa_bench_sweep) and a Redis database (``BENCH_REDIS_URL``, default redis://127.0.0.1:6379/12,
flushed before and after) of its own: gunicorn (pages and the API, the Dockerfile's command,
persistent connections) and one uvicorn process (the websockets), ``DJANGO_ENV=production``.

Set-up: the demo network; each of the 27 EU national CSIRTs reports one incident, and those
incidents get ``--alarms`` (full 1,000, small 200) overdue intermediate-report clocks (each
request is its own clock) that no sweep has fired yet.

Load: one client per CSIRT (27, each with its organisation's token) posts an early warning with
an ``Idempotency-Key``, as SOC tooling does, waits ``--pause`` seconds (default 0.5: 27 member
states each reporting twice a second), and again; each CSIRT also has a websocket client that
notes when every event frame arrives. Measured: report latency (request sent → answer), and the
live-event lag of the reports' events (the event's ``created_at``, written in the transaction
that commits it, → its frame at the organisation's client; one host, one clock).

Each of ``--rounds`` rounds (full 3, small 1; the backlog armed again before each):

1. Baseline: the load for ``--seconds`` (full 10, small 5) without a sweep.
2. The same load while another process with the production settings (as a sweep worker) runs
   the sweep's deadline job (``incidents.services.reminders.sweep_deadlines``) over the
   backlog: the samples taken from its start to its end.

Ratios: p50 and p99 during the sweep against the baseline's (the goal is on the p99s). The run
fails unless every report is answered 201, every alarm fires once and reaches its organisation's
client, and every report's ``incident.created`` reaches its organisation's client. The alarms'
own lag (the batch they are written in commits before they are sent) is printed beside them.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_NAME", "csoa_bench_sweep")
os.environ.setdefault("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
import api_create  # noqa: E402
import common  # noqa: E402
import live_events  # noqa: E402

SIZES = {"small": {"alarms": 200, "rounds": 1, "seconds": 5, "warmup": 2},
         "full": {"alarms": 1000, "rounds": 3, "seconds": 10, "warmup": 3}}
REDIS_URL = os.environ["BENCH_REDIS_URL"]
CHANNELS_PREFIX = "bench-sweep"
REPORT_EVENTS = {"incident.created", "report.submitted"}
DELIVERY_WAIT = 10.0  # seconds after the load for the last frames

SWEEP_CODE = """
import json, os, time
os.nice(int(os.environ.get("BENCH_SWEEP_NICE", "0")))
import django
django.setup()
from incidents.services.reminders import sweep_deadlines
started = time.monotonic()
fired = sweep_deadlines()
print(json.dumps({"fired": fired, "seconds": time.monotonic() - started}))
"""


def prepare(alarms: int) -> list[tuple[str, str]]:
    """The demo network, one incident per EU CSIRT with ``alarms`` overdue clocks between them; (token, state) each."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone as dj_timezone

    from incidents import clocks, services
    from incidents.models import Deadline
    from liaison.models import MemberState, Organisation, User
    from liaison.services import issue_api_token

    common.progress("loading the demo network")
    call_command("load_demo", stdout=open(os.devnull, "w"))
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE incidents_incident RESTART IDENTITY CASCADE")
        cursor.execute("TRUNCATE liaison_event RESTART IDENTITY CASCADE")
    csirts = list(Organisation.objects.filter(kind="national_csirt", member_state__kind=MemberState.Kind.EU_MEMBER)
                  .select_related("member_state").order_by("code"))
    now = dj_timezone.now()
    incidents = []
    for org in csirts:
        reporter = User.objects.filter(memberships__organisation=org).order_by("pk").first()
        incidents.append(services.report_incident(actor=reporter, organisation=org, title=f"Backlog {org.code}",
                                                  aware_at=now - timedelta(hours=1), tlp="amber"))
    common.progress(f"{alarms:,} overdue intermediate-report clocks on {len(incidents)} incidents")
    Deadline.objects.bulk_create([
        Deadline(incident=incidents[n % len(incidents)], clock=clocks.Clock.INTERMEDIATE, sequence=n + 1,
                 requested_at=now - timedelta(hours=2), due_at=now - timedelta(minutes=1 + n % 50))
        for n in range(alarms)])
    tokens = [(issue_api_token(actor=None, organisation=org, name="sweep benchmark", scopes="read,write",
                               days=1)[1], org.member_state.code) for org in csirts]
    connection.close()  # this process holds no connection while the servers run
    return tokens


class Watcher:
    """One organisation's websocket client: every event frame with its arrival time."""

    def __init__(self, port: int, token: str):
        self.url, self.token = f"ws://127.0.0.1:{port}/ws/events/", token
        self.frames: list[tuple[float, dict]] = []  # (arrival, wall clock seconds), event
        self.socket = self.reader = None

    async def open(self):
        import websockets

        self.socket = await websockets.connect(self.url, additional_headers={"Authorization": f"Bearer {self.token}"},
                                               open_timeout=60, max_size=2**20)
        while json.loads(await self.socket.recv())["type"] != "caught_up":
            pass
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        import websockets

        try:
            async for raw in self.socket:
                arrived = time.time()
                message = json.loads(raw)
                if message["type"] == "event":
                    self.frames.append((arrived, message["event"]))
        except websockets.ConnectionClosed:
            pass

    async def close(self):
        await self.socket.close()
        await asyncio.gather(self.reader, return_exceptions=True)


def _written(event: dict) -> float:
    """The event's ``created_at`` (ISO 8601, UTC) as seconds of the wall clock."""
    return datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).timestamp()


def _lag(arrived: float, event: dict) -> float:
    return arrived - _written(event)


async def _reporters(port: int, tokens: list[tuple[str, str]], pause: float, stop: asyncio.Event, log: list):
    """Each client reports, pauses, reports again until ``stop``; ``log`` gets (sent, latency, status, id, client)."""
    aware_at = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()

    async def client(index: int, token: str, state: str):
        conn = api_create.Connection(port, {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https",
                                            "Accept": "application/json"})
        await conn.open()
        sent = 0
        try:
            while not stop.is_set():
                body = json.dumps({"title": f"Sweep load {index}-{sent}", "aware_at": aware_at, "tlp": "amber",
                                   "severity": "medium", "affected_member_states": [state],
                                   "early_warning": {"summary": "Service disruption under investigation."}}).encode()
                started, wall = time.perf_counter(), time.time()
                status, content = await conn.request("POST", "/api/v1/incidents/", body,
                                                     {"Idempotency-Key": str(uuid.uuid4())})
                created = json.loads(content)["id"] if status == 201 else content[:300]
                log.append((wall, time.perf_counter() - started, status, created, index))
                sent += 1
                try:
                    await asyncio.wait_for(stop.wait(), pause)
                except asyncio.TimeoutError:
                    pass
        finally:
            conn.close()

    await asyncio.gather(*(client(i, token, state) for i, (token, state) in enumerate(tokens)))


def _arm(alarms: int) -> None:
    """The overdue clocks not fired yet again, for another round (the bench process's own connection)."""
    import psycopg2

    connection = psycopg2.connect(os.environ["DATABASE_URL"])
    with connection, connection.cursor() as cursor:
        cursor.execute("UPDATE incidents_deadline SET overdue_fired_at = NULL, reminded_at = NULL "
                       "WHERE clock = 'intermediate'")
        if cursor.rowcount != alarms:
            raise SystemExit(f"{cursor.rowcount} overdue clocks to arm, not {alarms}")
    connection.close()


async def _measure(api_port: int, ws_port: int, tokens, *, alarms: int, rounds: int, seconds: float, warmup: float,
                   pause: float, sweep_env: dict) -> dict:
    watchers = [Watcher(ws_port, token) for token, _ in tokens]
    await asyncio.gather(*(w.open() for w in watchers))
    log: list = []
    stop = asyncio.Event()
    load = asyncio.ensure_future(_reporters(api_port, tokens, pause, stop, log))
    quiet, swept, sweeps = [], [], []
    try:
        await asyncio.sleep(warmup)
        for round_ in range(1, rounds + 1):
            if round_ > 1:
                await asyncio.to_thread(_arm, alarms)
                await asyncio.sleep(2.0)  # the last round's alarms delivered, the re-arming settled
            common.progress(f"round {round_}/{rounds}: the load alone for {seconds:g} s (baseline)")
            started = time.time()
            await asyncio.sleep(seconds)
            quiet.append((started, time.time()))
            common.progress(f"round {round_}/{rounds}: the sweep's deadline job in a process of its own, same load")
            started = time.time()
            sweep = await asyncio.create_subprocess_exec(
                sys.executable, "-c", SWEEP_CODE, cwd=common.ROOT, env=sweep_env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            output, _ = await sweep.communicate()
            swept.append((started, time.time()))
            if sweep.returncode != 0:
                raise SystemExit(f"the sweep failed:\n{output.decode(errors='replace')[-3000:]}")
            sweeps.append(json.loads(output.decode().strip().splitlines()[-1]))
        await asyncio.sleep(1.0)  # the load goes on a moment after the sweep: its last batch's effects
    finally:
        stop.set()
        await load
    fired = sum(result["fired"] for result in sweeps)
    deadline = time.monotonic() + DELIVERY_WAIT
    while time.monotonic() < deadline and not _all_delivered(log, watchers, fired):
        await asyncio.sleep(0.2)
    await asyncio.gather(*(w.close() for w in watchers))
    return {"log": log, "watchers": watchers, "quiet": quiet, "swept": swept, "sweeps": sweeps, "fired": fired}


def _created_seen(watchers) -> set[tuple[int, int]]:
    return {(index, event["subject_id"]) for index, w in enumerate(watchers) for _, event in w.frames
            if event["kind"] == "incident.created"}


def _alarms_seen(watchers) -> int:
    return sum(1 for w in watchers for _, event in w.frames if event["kind"] == "deadline.overdue")


def _all_delivered(log, watchers, fired: int) -> bool:
    wanted = {(index, created) for _, _, status, created, index in log if status == 201}
    return _alarms_seen(watchers) >= fired and wanted <= _created_seen(watchers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--alarms", type=int, default=None, help="overdue clocks the sweep fires")
    parser.add_argument("--rounds", type=int, default=None, help="baseline and sweep, this many times in turn")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds of each round's baseline")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds each client waits between its reports")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker (production's)")
    args = parser.parse_args()
    size = SIZES[args.size]
    alarms, seconds = args.alarms or size["alarms"], args.seconds or size["seconds"]
    rounds = args.rounds or size["rounds"]

    os.environ["REDIS_URL"] = REDIS_URL
    common.setup_django()
    from django.conf import settings

    assert settings.PORTAL_MODE == "full", "the benchmark needs the full mode (Redis)"
    live_events.flush_redis(REDIS_URL)
    tokens = prepare(alarms)

    directory = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    api_port, ws_port = common.free_port(), common.free_port()
    common.progress(f"starting gunicorn ({args.workers} × {args.threads} threads) on port {api_port} "
                    f"and uvicorn on port {ws_port}")
    api = api_create.start_server("wsgi", api_port, args.workers, args.threads, directory / "gunicorn.log",
                                  redis_url=REDIS_URL, channels_prefix=CHANNELS_PREFIX)
    ws = live_events.start_server(ws_port, directory / "uvicorn.log", redis_url=REDIS_URL,
                                  channels_prefix=CHANNELS_PREFIX)
    sweep_env = common.production_env(redis_url=REDIS_URL, channels_prefix=CHANNELS_PREFIX)
    try:
        api_create.wait_ready(api, api_port, directory / "gunicorn.log")
        live_events.wait_ready(ws, ws_port, directory / "uvicorn.log")
        measured = asyncio.run(_measure(api_port, ws_port, tokens, alarms=alarms, rounds=rounds, seconds=seconds,
                                        warmup=size["warmup"], pause=args.pause, sweep_env=sweep_env))
    finally:
        api_create.stop_server(api)
        live_events.stop_server(ws)
        live_events.flush_redis(REDIS_URL)

    log, watchers, sweeps = measured["log"], measured["watchers"], measured["sweeps"]
    failed = [(status, created) for _, _, status, created, _ in log if status != 201]
    if failed:
        raise SystemExit(f"{len(failed)} report(s) not answered 201, the first: {failed[0]} (logs in {directory})")
    missing = {(i, c) for _, _, _, c, i in log} - _created_seen(watchers)
    wanted = alarms * rounds
    if measured["fired"] != wanted or _alarms_seen(watchers) != wanted or missing:
        raise SystemExit(f"the sweeps fired {measured['fired']} of {wanted} alarms, {_alarms_seen(watchers)} reached "
                         f"their organisation; {len(missing)} report event(s) never arrived (logs in {directory})")

    def within(windows, wall):
        return any(start <= wall <= end for start, end in windows)

    windows = {"quiet": measured["quiet"], "swept": measured["swept"]}
    latency = {name: [lat for wall, lat, *_ in log if within(found, wall)] for name, found in windows.items()}
    report_frames = [(arrived, event) for w in watchers for arrived, event in w.frames if event["kind"] in REPORT_EVENTS]
    lag = {name: [_lag(arrived, event) for arrived, event in report_frames if within(found, _written(event))]
           for name, found in windows.items()}
    alarm_lag = [_lag(arrived, event) for w in watchers for arrived, event in w.frames
                 if event["kind"] == "deadline.overdue"]

    def row(name, during, baseline):
        found = common.summary(name, during, baseline)
        found["ratio_p99"] = round(found["p99"] / found["baseline_p99"], 1) if found["baseline_p99"] else None
        found["measurement"] = f"{name} (p99 ratio {found['ratio_p99']:g})"
        return found

    rows = [
        row(f"POST /api/v1/incidents/ during a {alarms:,}-alarm sweep, 27 clients", latency["swept"], latency["quiet"]),
        row("report's event → its organisation's websocket, during the sweep", lag["swept"], lag["quiet"]),
        common.summary(f"each of the {alarms:,} alarms: written → at its organisation's websocket", alarm_lag),
    ]
    title = (f"The write path during sweeps of {alarms:,} overdue alarms ({args.size}; gunicorn {args.workers} × "
             f"{args.threads} + one uvicorn, production settings; baseline = the same load without the sweep)")
    common.print_table(title, rows)
    spans = {name: round(sum(end - start for start, end in found), 1) for name, found in windows.items()}
    facts = {"alarms": alarms, "rounds": rounds, "clients": len(tokens), "pause_seconds": args.pause,
             "baseline_seconds": spans["quiet"], "sweep_seconds": spans["swept"],
             "sweep_job_seconds": [round(result["seconds"], 1) for result in sweeps],
             "sweep_batch": settings.SWEEP_BATCH, "sweep_pace": settings.SWEEP_PACE, "reports": len(log)}
    print(f"\n{rounds} round(s): each sweep fired {alarms:,} alarms, in {', '.join(map(str, facts['sweep_job_seconds']))} s "
          f"(batches of {settings.SWEEP_BATCH}, busy at most {settings.SWEEP_PACE:g} of the time); {len(log):,} reports "
          f"in all, every one answered 201 and its event delivered; {spans['quiet']} s of baseline, "
          f"{spans['swept']} s of sweeping.")
    path = common.write_results(f"sweep_load_{args.size}", {"title": title, "rows": rows, "facts": facts})
    print(f"written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
