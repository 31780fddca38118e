"""Benchmark: POST /api/v1/incidents/ from 32 concurrent clients against the portal served as in production.

    .venv/bin/python bench/api_create.py --size small|full [--clients 32] [--seconds N] [--server wsgi,asgi,...] [--rounds N]

Full mode only. ``--server`` names the ways of serving the API to measure side by side, one
after the other in the same run, each with its own baseline (comma-separated; default: the
production one, ``wsgi``):

- ``wsgi``: the production command of pages and the API (the Dockerfile's): ``gunicorn
  csoa_portal.wsgi -c python:csoa_portal.gunicorn_conf`` (gthread workers), with persistent
  database connections (``DATABASE_CONN_MAX_AGE=60``, as docker-compose.yml sets);
- ``asgi``: ``uvicorn csoa_portal.asgi:application --no-proxy-headers`` (which serves the
  websockets in production) for the API too: a new database connection per request;
- ``asgi-pool``: the same with psycopg 3's connection pool (``DATABASE_POOL=1``); needs psycopg
  3 and psycopg-pool importable, e.g. installed with ``pip install --target DIR`` and
  ``BENCH_PSYCOPG3_PATH=DIR`` (the project's own environment keeps psycopg2);
- ``asgi-pgbouncer``: uvicorn again, its connections made to a PgBouncer (transaction pooling,
  ``DATABASE_TRANSACTION_POOLING=1``) started on a random port in front of the server; needs
  the ``pgbouncer`` executable (``BENCH_PGBOUNCER``, default found on PATH or /usr/sbin).

Each runs with ``DJANGO_ENV=production`` (DEBUG off) and ``--workers`` processes (default: the
cores), on a random loopback port, on the incident dataset of bench/incidents_list.py
(generated if missing; ``BENCH_DATABASE_NAME``, default csoa_bench) and a Redis database of
its own (``BENCH_REDIS_URL``, default redis://127.0.0.1:6379/10, flushed before and after:
the escalation tasks the reports dispatch are left there with no worker to run them).
Clients send ``X-Forwarded-Proto: https`` as the TLS proxy in front of it would. The per-token
budget (``API_THROTTLE_TOKEN_RATE``) is raised to 1,000,000/min: connections are unevenly spread
over the workers, and the few on a lightly loaded worker exceed the production 1,200/min.

Each of 32 clients (keep-alive connection, its own token, the 27 EU CSIRTs in turn) sends
requests back to back for a fixed time. Measured: requests per second and latency of
``POST /api/v1/incidents/`` (an early warning with an affected member state and an
``Idempotency-Key``, as SOC tooling sends it). Baseline, in the same run with the same
clients: ``GET /healthz`` (the server, middleware and client without the report). The two are
measured in turns (``--slices``, full: 4 slices of a quarter of the measured time each, healthz,
report, healthz, report…): on a shared machine whose speed drifted between two consecutive
40-second phases, ``/healthz`` alone read anywhere from 969 to 1,518 requests a second on the same
code (2026-12-07), and the ratio from 7.4 to 12.8. Before each
phase the clients reconnect until the workers hold their keep-alive connections evenly (give or
take one; the throughput row names the split): gunicorn's workers share one listening socket and
a connection stays with the worker that accepted it, and with all 32 on one worker ``/healthz``
used about one core and its rate halved (1,265–1,267 against 2,632–2,926 requests a second on
2026-12-07), while the report's hardly moved (its database work runs beside it). Every
request must succeed (a 429 or 5xx fails the run); the created incidents are counted,
then deleted so the dataset stays as generated.

The load generator is a minimal HTTP/1.1 client on asyncio streams: one process drives the
32 connections at a few microseconds of CPU per request, leaving the two cores to the server.
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import incidents_list  # noqa: E402

SIZES = {"small": {"seconds": 10, "warmup": 3, "slices": 1}, "full": {"seconds": 60, "warmup": 10, "slices": 4}}
# A later slice of a phase warms up this long (its connections are new; the server is warm).
SLICE_WARMUP = 3
REDIS_URL = common.BENCH_REDIS_URL


# --- The load generator -------------------------------------------------------------------------

class Connection:
    """One keep-alive HTTP/1.1 connection; requests are sent one after the other."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.port, self.headers = port, headers
        self.reader = self.writer = None
        self.local_port = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.local_port = self.writer.get_extra_info("sockname")[1]

    async def request(self, method: str, path: str, body: bytes = b"", extra: dict | None = None) -> tuple[int, bytes]:
        headers = {"Host": "127.0.0.1", **self.headers, **(extra or {})}
        if method != "GET":
            headers.update({"Content-Type": "application/json", "Content-Length": str(len(body))})
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length, chunked, close = None, False, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and value.lower() == "close":
                close = True
        if chunked:
            payload = bytearray()
            while (size := int((await self.reader.readline()).split(b";")[0], 16)) > 0:
                payload += await self.reader.readexactly(size + 2)
                del payload[-2:]
            await self.reader.readline()
            content = bytes(payload)
        else:
            content = await self.reader.readexactly(length or 0)
        if close:
            self.writer.close()
            await self.open()
        return status, content

    def close(self):
        if self.writer:
            self.writer.close()


async def _load(connections: list[Connection], make_request, seconds: float, warmup: float, cpu=None, split=None):
    """Every connection sends back to back for ``warmup + seconds``; only the last ``seconds`` count.

    ``cpu()``: CPU seconds used so far by the processes that serve; read when the count starts and ends.
    ``split()``: how the connections are spread over the server's processes; read when the count starts
    (returned in the CPU figures as ``"split"``).
    """
    start = time.perf_counter()
    measure_from, stop_at = start + warmup, start + warmup + seconds
    latencies, failures = [], []
    succeeded = 0
    cpu_used, spread = {}, []

    async def read_cpu():
        await asyncio.sleep(warmup)
        cpu_used["start"] = cpu() if cpu else None
        spread.extend(split() if split else [])

    async def client(index: int, conn: Connection):
        nonlocal succeeded
        sent = 0
        while (now := time.perf_counter()) < stop_at:
            method, path, body, extra = make_request(index, sent)
            status, content = await conn.request(method, path, body, extra)
            done = time.perf_counter()
            sent += 1
            if status >= 400:
                failures.append((status, content[:300]))
                return
            succeeded += 1
            if now >= measure_from:
                latencies.append(done - now)

    await asyncio.gather(read_cpu(), *(client(i, c) for i, c in enumerate(connections)))
    elapsed = time.perf_counter() - measure_from
    if cpu:
        end = cpu()
        cpu_used = {name: end[name] - cpu_used["start"][name] for name in end}
    if split:
        cpu_used["split"] = spread
    return latencies, elapsed, failures, succeeded, cpu_used


# --- CPU accounting (Linux /proc): what one request costs, whatever else the machine runs -------

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the state on (the name may hold spaces)


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command name) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if fields:
                found[int(entry.name)] = (int(fields[1]), name)
    return found


def _cpu(pid: int, *, reaped: bool = False) -> float:
    fields = _stat(pid)
    if not fields:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children that exited
    return ticks / TICKS


def cpu_meter(server_pid: int):
    """``cpu()`` -> CPU seconds so far of the server's process tree and of PostgreSQL.

    PostgreSQL's figure is every backend's (live ones, and through the postmaster those that
    exited: a connection per request ends its backend), so other databases' work on the same
    server counts too: read it as an upper bound on a shared machine.
    """
    def cpu() -> dict[str, float]:
        processes = _processes()
        tree, frontier = set(), {server_pid}
        while frontier:
            tree |= frontier
            frontier = {pid for pid, (parent, _) in processes.items() if parent in frontier} - tree
        postgres = {pid for pid, (_, name) in processes.items() if name.startswith("postgres")}
        postmasters = {pid for pid in postgres if processes[pid][0] not in postgres}
        return {
            "server": sum(_cpu(pid) for pid in tree),
            "postgres": sum(_cpu(pid, reaped=pid in postmasters) for pid in postgres),
        }

    return cpu


def _established(port: int) -> dict[str, int]:
    """Socket inode -> the client's port, of every established connection to the server's ``port``."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # ESTABLISHED, local port
                found[fields[9]] = int(fields[2].rsplit(":", 1)[1], 16)
    return found


def connection_holders(server_pid: int, port: int):
    """``holders()`` -> {worker pid: the client ports of the connections it holds} (Linux /proc).

    gunicorn's workers share one listening socket and a keep-alive connection stays with the worker that
    accepted it, so how the clients' connections happen to land decides how much of the two cores a cheap
    request like ``/healthz`` can use.
    """
    def holders() -> dict[int, set[int]]:
        sockets = _established(port)
        held = {}
        for pid, (parent, _) in _processes().items():
            if parent != server_pid:
                continue
            held[pid] = set()
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    target = os.readlink(fd)
                    if target.startswith("socket:[") and target[8:-1] in sockets:
                        held[pid].add(sockets[target[8:-1]])
            except OSError:
                continue
        return held

    return holders


def _per_worker(holders) -> list[int]:
    """The number of connections each worker holds now, largest first."""
    return sorted((len(ports) for ports in holders().values()), reverse=True)


async def _spread(connections: list[Connection], holders, *, attempts: int = 30) -> None:
    """Reconnect clients until every worker holds as many connections as the others, give or take one.

    A request on each first makes sure its worker has accepted it; the workers are idle meanwhile,
    so a new connection lands on either.
    """
    async def touch(conn):
        await conn.request("GET", "/healthz")

    await asyncio.gather(*(touch(c) for c in connections))
    for _ in range(attempts):
        held = holders()
        counts = {pid: len(ports) for pid, ports in held.items()}
        if not counts or max(counts.values()) - min(counts.values()) <= 1:
            break
        busiest = max(counts, key=counts.get)
        excess = (counts[busiest] - min(counts.values())) // 2
        moved = [c for c in connections if c.local_port in held[busiest]][:excess]
        for conn in moved:
            conn.close()
        await asyncio.gather(*(c.open() for c in moved))
        await asyncio.gather(*(touch(c) for c in moved))


def run_load(port: int, tokens: list[str], make_request, *, seconds: float, warmup: float, cpu=None,
             holders=None):
    """``holders``: spread the connections evenly over the server's workers first (``connection_holders``);
    the CPU figures then hold ``"split"``, the connections per worker while the count ran."""
    async def main():
        connections = [Connection(port, {"Authorization": f"Bearer {t}", "X-Forwarded-Proto": "https",
                                         "Accept": "application/json"}) for t in tokens]
        await asyncio.gather(*(c.open() for c in connections))
        try:
            if holders:
                await _spread(connections, holders)
            split = (lambda: _per_worker(holders)) if holders else None
            return await _load(connections, make_request, seconds, warmup, cpu, split)
        finally:
            for c in connections:
                c.close()

    return asyncio.run(main())


@dataclass
class Measured:
    """One request's figures summed over its slices."""

    latencies: list = field(default_factory=list)
    seconds: float = 0.0
    failures: list = field(default_factory=list)
    succeeded: int = 0
    cpu: dict = field(default_factory=dict)  # CPU seconds by process kind ("server", "postgres")
    spreads: list = field(default_factory=list)  # the distinct spreads of the connections over the workers

    def add(self, latencies, seconds, failures, succeeded, used: dict) -> None:
        """Add one slice, in ``run_load``'s shape."""
        used = dict(used)
        spread = used.pop("split", None)
        self.latencies += latencies
        self.seconds += seconds
        self.failures += failures
        self.succeeded += succeeded
        self.cpu = {key: self.cpu.get(key, 0.0) + value for key, value in used.items()}
        if spread is not None and spread not in self.spreads:
            self.spreads.append(spread)


def alternate_loads(port: int, tokens: list[str], loads: dict, *, slices: int, seconds: float, warmup: float,
                    cpu=None, holders=None, label: str = "") -> dict[str, Measured]:
    """``run_load`` of each of ``loads`` (name -> make_request) for ``seconds`` in all, cut into ``slices``
    taken in turn (A, B, A, B…): the machine's drift over a phase (another tenant, a checkpoint) then
    weighs on the baseline and the measured request alike, instead of on whichever ran during it.

    A failure stops the whole measurement.
    """
    totals = {name: Measured() for name in loads}
    for index in range(slices):
        for name, make_request in loads.items():
            ahead = warmup if index == 0 else min(warmup, SLICE_WARMUP)
            common.progress(f"{label}: {name}, slice {index + 1}/{slices}, {ahead:g} + {seconds / slices:g} s")
            totals[name].add(*run_load(port, tokens, make_request, seconds=seconds / slices, warmup=ahead,
                                       cpu=cpu, holders=holders))
            if totals[name].failures:
                return totals
    return totals


def _cpu_row(name: str, n: int, per_request: float, baseline: float) -> dict:
    """CPU seconds per request beside the baseline's, in the rows' shape (p50 holds the mean).

    No ratio against a baseline under a tenth of a millisecond: /healthz touches no database, and the
    stray PostgreSQL work during its slices (a checkpoint, the tail of the report slice before) is
    not a baseline.
    """
    base = round(baseline * 1000, 2)
    return {"measurement": name, "unit": "ms", "n": n, "p50": round(per_request * 1000, 2), "p99": None,
            "baseline_p50": base, "baseline_p99": None,
            "ratio_p50": round(per_request / baseline, 1) if base >= 0.1 else None, "ratio_p99": None}


# --- The server ---------------------------------------------------------------------------------

SERVERS = ("wsgi", "asgi", "asgi-pool", "asgi-pgbouncer")


def start_pgbouncer(port: int, directory: Path) -> subprocess.Popen:
    """PgBouncer in transaction pooling mode in front of the bench's PostgreSQL (not waited for)."""
    import shutil
    from urllib.parse import urlsplit

    server = urlsplit(os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"))
    executable = os.environ.get("BENCH_PGBOUNCER") or shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    ini = directory / "pgbouncer.ini"
    ini.write_text(f"""[databases]
* = host={server.hostname} port={server.port or 5432} user={server.username or 'postgres'}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
max_client_conn = 500
default_pool_size = 10
ignore_startup_parameters = extra_float_digits,options
logfile = {directory / 'pgbouncer.log'}
pidfile = {directory / 'pgbouncer.pid'}
""")
    command = [executable, str(ini)]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        import pwd

        user = pwd.getpwnam("postgres")
        os.chown(directory, user.pw_uid, user.pw_gid)
        os.chown(ini, user.pw_uid, user.pw_gid)
        command = [executable, "-u", "postgres", str(ini)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def start_server(kind: str, port: int, workers: int, threads: int, log_path: Path,
                 database_url: str | None = None, *, redis_url: str = REDIS_URL,
                 channels_prefix: str = "bench-api") -> subprocess.Popen:
    """The production command of ``kind``, on the bench database and Redis database (not waited for)."""
    env = common.production_env(redis_url=redis_url, channels_prefix=channels_prefix)
    # Each client has its own token, but gunicorn binds a keep-alive connection to one worker, and a
    # worker that happens to hold few connections serves each of them several times the average rate:
    # on a faster machine those passed the production budget of 20 requests/s per token. The budget is
    # raised, not removed: the throttle's Redis script still runs on every request, as in production.
    env.setdefault("API_THROTTLE_TOKEN_RATE", "1000000/min")
    if database_url:
        env["DATABASE_URL"] = database_url
    bin_dir = Path(sys.executable).parent
    if kind == "wsgi":
        env["DATABASE_CONN_MAX_AGE"] = "60"
        command = [str(bin_dir / "gunicorn"), "csoa_portal.wsgi:application", "-c", "python:csoa_portal.gunicorn_conf",
                   "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads)]
    else:
        if kind == "asgi-pgbouncer":
            env["DATABASE_TRANSACTION_POOLING"] = "1"
        if kind == "asgi-pool":
            env["DATABASE_POOL"] = "1"
            extra = os.environ.get("BENCH_PSYCOPG3_PATH")
            if extra:
                env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra, env.get("PYTHONPATH")]))
        command = [str(bin_dir / "uvicorn"), "csoa_portal.asgi:application", "--host", "127.0.0.1",
                   "--port", str(port), "--workers", str(workers), "--no-proxy-headers"]
    with log_path.open("wb") as log:
        return subprocess.Popen(command, cwd=common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def wait_ready(server: subprocess.Popen, port: int, log_path: Path) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 90
    request = urllib.request.Request(f"http://127.0.0.1:{port}/readyz", headers={"X-Forwarded-Proto": "https"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                body = json.loads(response.read())
                if body.get("status") == "ready" and body.get("mode") == "full":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            stop_server(server)
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


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


# --- The benchmark ------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per phase")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="server processes (default: cores)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure the servers' list this many times, interleaved (the machine's load drifts)")
    parser.add_argument("--slices", type=int, default=None,
                        help="measure /healthz and the report in this many alternating slices each (full: 4)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker (wsgi; production's)")
    parser.add_argument("--server", default="wsgi",
                        help=f"comma-separated, measured in this order: {', '.join(SERVERS)} (default: wsgi)")
    args = parser.parse_args()
    servers = [name.strip() for name in args.server.split(",") if name.strip()]
    unknown = [name for name in servers if name not in SERVERS]
    if unknown or not servers:
        parser.error(f"--server: use {', '.join(SERVERS)}, not {', '.join(unknown) or 'nothing'}")
    seconds = args.seconds or SIZES[args.size]["seconds"]
    warmup = SIZES[args.size]["warmup"]
    slices = args.slices or SIZES[args.size]["slices"]
    if slices < 1 or seconds / slices < 1:
        parser.error(f"--slices: use 1 to {int(seconds)} (a slice lasts at least a second of the {seconds:g} measured)")
    size = common.SIZES[args.size]

    os.environ["REDIS_URL"] = REDIS_URL
    common.setup_django()
    from django.core.management import call_command
    from django.db import connection

    from incidents.models import Incident
    from liaison import services
    from liaison.models import Organisation

    common.progress("loading the demo network")
    call_command("load_demo", stdout=open(os.devnull, "w"))
    incidents_list.generate(size["incidents"], size["observables_per_incident"])
    csirts = list(Organisation.objects.filter(kind="national_csirt", member_state__kind="eu_member")
                  .select_related("member_state").order_by("code"))
    clients = []
    for i in range(args.clients):
        org = csirts[i % len(csirts)]
        _, raw = services.issue_api_token(actor=None, organisation=org, name=f"bench-load-{i}",
                                          scopes="read,write", days=1)
        clients.append((raw, org.member_state.code))
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM incidents_incident")
        (before,) = cursor.fetchone()
    connection.close()  # the benchmark holds no connection while the server runs

    aware_at = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()

    def healthz(index, sent):
        return "GET", "/healthz", b"", None

    def report(index, sent):
        body = json.dumps({"title": f"Load test {index}-{sent}", "aware_at": aware_at, "tlp": "amber",
                           "severity": "medium", "affected_member_states": [clients[index][1]]}).encode()
        return "POST", "/api/v1/incidents/", body, {"Idempotency-Key": str(uuid.uuid4())}

    tokens = [raw for raw, _ in clients]
    results, splits, n_created = {}, {}, 0
    runs = [(kind, f"{kind}#{r + 1}" if args.rounds > 1 else kind) for r in range(args.rounds) for kind in servers]
    for kind, label in runs:
        flush_redis()
        port = common.free_port()
        log_path = Path(tempfile.mkdtemp(prefix="bench-api-")) / f"{kind}.log"
        common.progress(f"{kind}: starting {args.workers} workers (DJANGO_ENV=production) on port {port}")
        bouncer = database_url = None
        if kind == "asgi-pgbouncer":
            bouncer_port = common.free_port()
            bouncer = start_pgbouncer(bouncer_port, log_path.parent)
            database_url = f"postgres://postgres@127.0.0.1:{bouncer_port}/{common.BENCH_DB}"
            time.sleep(1)
        server = start_server(kind, port, args.workers, args.threads, log_path, database_url)
        try:
            wait_ready(server, port, log_path)
            cpu, holders = cpu_meter(server.pid), connection_holders(server.pid, port)
            measured = alternate_loads(port, tokens, {"healthz": healthz, "report": report}, slices=slices,
                                       seconds=seconds, warmup=warmup, cpu=cpu, holders=holders,
                                       label=f"{kind}, {args.clients} clients")
            base, post = measured["healthz"], measured["report"]
            failures = base.failures + post.failures
        finally:
            stop_server(server)
            if bouncer is not None:
                stop_server(bouncer)
            flush_redis()
        # The reported incidents go first, even after a failure: the dataset stays as generated for the next run.
        created = Incident.objects.filter(pk__gt=before)
        created_now = created.count()
        common.progress(f"deleting the {created_now:,} incidents the clients reported")
        created.delete()
        connection.close()
        if failures:
            status, content = failures[0]
            raise SystemExit(f"{kind}: {len(failures)} request(s) failed, the first with {status}: {content!r}\n"
                             f"server log: {log_path}")
        if created_now != post.succeeded:
            raise SystemExit(f"{kind}: {post.succeeded:,} reports were answered 201 but {created_now:,} incidents were written")
        n_created += created_now
        splits[label] = {"healthz": base.spreads, "report": post.spreads}
        spread = ", ".join(f"{phase} {' '.join('/'.join(map(str, counts)) for counts in spreads)}"
                           for phase, spreads in splits[label].items())
        results[label] = [
            common.summary(f"{label}: POST /api/v1/incidents/, {args.clients} clients: latency", post.latencies,
                           base.latencies),
            common.rate_row(f"{label}: POST /api/v1/incidents/, {args.clients} clients: throughput "
                            f"(connections per worker: {spread})", len(post.latencies), post.seconds,
                            len(base.latencies), base.seconds),
            *(_cpu_row(f"{label}: POST /api/v1/incidents/: {who} CPU/request", len(post.latencies),
                       post.cpu[who] / len(post.latencies),
                       base.cpu[who] / len(base.latencies)) for who in ("server", "postgres")),
        ]

    rows = [row for _, label in runs for row in results[label]]
    title = (f"Incident reports over HTTP ({args.size}; {args.workers} workers per server, production settings; "
             f"baseline = GET /healthz, same clients, same server)")
    common.print_table(title, rows)
    facts = {"clients": args.clients, "workers": args.workers, "servers": servers, "rounds": args.rounds,
             "measured_seconds": seconds, "alternating_slices": slices,
             "incidents_created": n_created, "dataset_incidents": size["incidents"],
             # Keep-alive connections held by each worker process while each phase was counted (the distinct
             # spreads of its slices), largest first.
             "connections_per_worker": splits}
    print(f"\n{n_created:,} incidents reported (warm-up included), all answered 201.")
    path = common.write_results(f"api_create_{args.size}", {"title": title, "rows": rows, "facts": facts})
    print(f"written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
