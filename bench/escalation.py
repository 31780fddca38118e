"""Benchmark: escalation through a real Celery worker on Redis, and the sweep over a large table.

    .venv/bin/python bench/escalation.py --size small|full

Full mode only (local PostgreSQL and Redis), on a database and a Redis database of its own
(``BENCH_DATABASE_NAME``, default csoa_bench_escalation; ``BENCH_REDIS_URL``, default
redis://127.0.0.1:6379/6, flushed before and after).

1. Fast path: a real worker subprocess (``celery -A csoa_portal worker``, prefork, concurrency 2).
   For each of 300 incidents (small: 30, a smoke check) reported through the services, one update through
   ``update_incident`` that crosses a threshold (DE → DE, FR at severity high: level 2); the
   time from the commit (an on_commit hook registered before the service's own dispatch) to the
   ``incident.escalated`` Event being visible in PostgreSQL, polled every millisecond. Baseline:
   a bare Celery round trip through the same worker (the builtin no-op ``celery.accumulate``,
   result back through Redis).
2. Safety net: one ``run_sweep()`` over 100,000 incidents (small: 2,000), of which 10,000
   (small: 200) changed since their last evaluation (a tenth of those cross a threshold), and
   as many open deadlines; sweeps are run until the backlog is gone, each one a sample.
   Baseline: the same sweep with nothing pending.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_NAME", "csoa_bench_escalation")
import common  # noqa: E402

SIZES = {"small": {"latency": 30, "incidents": 2_000, "pending": 200},
         "full": {"latency": 300, "incidents": 100_000, "pending": 10_000}}
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
POLL = 0.001


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    client.close()


def start_worker(log_path: Path) -> subprocess.Popen:
    """The worker the portal runs in full mode, on the bench database and Redis database (not waited for)."""
    env = dict(os.environ, DJANGO_ENV="test", EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
               PYTHONUNBUFFERED="1")
    celery = str(Path(sys.executable).with_name("celery"))
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [celery, "-A", "csoa_portal", "worker", "--pool", "prefork", "--concurrency", "2", "-l", "info",
             "-n", "bench-escalation@%h", "--without-mingle", "--without-gossip", "--without-heartbeat"],
            cwd=common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return worker


def wait_ready(worker: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while " ready." not in log_path.read_text(errors="replace"):
        if worker.poll() is not None or time.monotonic() > deadline:
            stop_worker(worker)
            raise SystemExit(f"the worker did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


def stop_worker(worker: subprocess.Popen) -> None:
    import signal

    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


def wait_until(predicate, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL)
    return value


def clear_incidents() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE incidents_incident RESTART IDENTITY CASCADE")
        cursor.execute("TRUNCATE liaison_event RESTART IDENTITY CASCADE")


def bench_fast_path(n: int, worker: subprocess.Popen, log_path: Path) -> tuple[list[float], list[float]]:
    """Commit → escalation Event through the worker, and the bare Celery round trip beside it."""
    from datetime import timedelta

    from django.db import connection, transaction
    from django.db.models import F
    from django.utils import timezone

    from csoa_portal.celery import app
    from incidents import services
    from incidents.models import Incident
    from liaison.models import MemberState, Organisation, User

    org = Organisation.objects.get(code="de-csirt")
    analyst = User.objects.get(email="analyst@de-csirt.demo")
    de, fr = MemberState.objects.get(code="DE"), MemberState.objects.get(code="FR")
    common.progress(f"reporting {n} incidents through the services")
    incidents = [
        services.report_incident(actor=analyst, organisation=org, title=f"Latency {i}", severity="high",
                                 aware_at=timezone.now() - timedelta(hours=1), affected_member_states=[de], tlp="amber")
        for i in range(n)
    ]
    wait_ready(worker, log_path)
    wait_until(lambda: not Incident.objects.filter(evaluated_version__lt=F("version")).exists(), timeout=120,
               what="the worker to evaluate the new incidents")

    common.progress(f"updating {n} incidents across the level-2 threshold, one at a time")
    samples = []
    with connection.cursor() as cursor:
        for incident in incidents:
            cursor.execute("SELECT coalesce(max(id), 0) FROM liaison_event")
            (after,) = cursor.fetchone()
            committed = []
            with transaction.atomic():
                # Registered before the service's dispatch hook: runs right after COMMIT returns.
                transaction.on_commit(lambda committed=committed: committed.append(time.perf_counter()))
                services.update_incident(actor=analyst, incident=incident, affected_member_states=[de, fr])

            def escalated(incident=incident, after=after):
                cursor.execute("SELECT 1 FROM liaison_event WHERE id > %s AND kind = 'incident.escalated' "
                               "AND subject_type = 'incident' AND subject_id = %s", [after, str(incident.pk)])
                return cursor.fetchone() is not None

            wait_until(escalated, timeout=30, what=f"the escalation of incident {incident.pk}")
            samples.append(time.perf_counter() - committed[0])

    common.progress(f"{n} bare Celery round trips through the same worker")
    baseline = common.timed(lambda: app.send_task("celery.accumulate", args=(1,), kwargs={"index": 0}).get(timeout=10),
                            repeat=n)
    return samples, baseline


def generate_backlog(n_incidents: int, n_pending: int) -> list[int]:
    """Clone a reported incident with set-based SQL; mark ``n_pending`` as changed since their evaluation.

    The template stays as one of the ``n_incidents``.
    """
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from incidents import services
    from incidents.models import Incident
    from liaison.models import MemberState, Organisation, User

    clear_incidents()
    template = services.report_incident(
        actor=User.objects.get(email="analyst@de-csirt.demo"), organisation=Organisation.objects.get(code="de-csirt"),
        title="Template", severity="medium", aware_at=timezone.now() - timedelta(hours=1),
        affected_member_states=[MemberState.objects.get(code="DE")], tlp="amber",
    )
    services.evaluate_incident(incident_id=template.pk)
    columns = [f.column for f in Incident._meta.concrete_fields if not f.primary_key]
    overrides = {
        "title": "'Sweep ' || g",
        "national_capacity_exceeded": f"(g <= {n_pending} AND g %% 10 = 0)",
        "version": "t.version + 1",
        "evaluated_version": f"CASE WHEN g <= {n_pending} THEN t.version ELSE t.version + 1 END",
        "updated_at": "now() - (g || ' seconds')::interval",
        "stix_id": "gen_random_uuid()",  # unique: each clone draws its own
        "misp_uuid": "gen_random_uuid()",
    }
    select = ", ".join(overrides.get(c, f"t.{c}") for c in columns)
    with connection.cursor() as cursor:
        common.progress(f"cloning {n_incidents:,} incidents ({n_pending:,} pending evaluation)")
        cursor.execute(f"""
            INSERT INTO incidents_incident ({", ".join(columns)})
            SELECT {select} FROM incidents_incident t, generate_series(1, {n_incidents - 1}) g WHERE t.id = %s""",
                       [template.pk])
        cursor.execute("""
            INSERT INTO incidents_incident_affected_member_states (incident_id, memberstate_id)
            SELECT i.id, a.memberstate_id FROM incidents_incident i
            JOIN incidents_incident_affected_member_states a ON a.incident_id = %s WHERE i.id <> %s""",
                       [template.pk, template.pk])
        common.progress(f"{n_pending:,} open deadlines (due in a week: scanned, not fired)")
        cursor.execute("""
            INSERT INTO incidents_deadline (incident_id, clock, sequence, due_at)
            SELECT id, 'final_report', 0, now() + interval '7 days' FROM incidents_incident
            WHERE id <> %s ORDER BY id LIMIT %s ON CONFLICT DO NOTHING""", [template.pk, n_pending])
        cursor.execute("ANALYZE")
        cursor.execute("SELECT count(*) FROM incidents_incident WHERE evaluated_version < version")
        (pending,) = cursor.fetchone()
    return pending


def bench_sweep(n_incidents: int, n_pending: int) -> tuple[list[float], list[float], dict]:
    from django.db import connection

    from csoa_portal.sweep import run_sweep

    pending = generate_backlog(n_incidents, n_pending)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM incidents_incident")
        (total,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM incidents_deadline WHERE met_at IS NULL")
        (open_deadlines,) = cursor.fetchone()
    common.progress(f"sweeping {total:,} incidents until the {pending:,} pending are evaluated")
    samples, evaluated = [], 0
    while True:
        start = time.perf_counter()
        result = run_sweep()
        elapsed = time.perf_counter() - start
        if not result.get("evaluate_pending_incidents"):
            break
        assert result["evaluate_pending_incidents"] != "failed", result
        samples.append(elapsed)
        evaluated += result["evaluate_pending_incidents"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM incidents_incident WHERE crisis_level = 2")
        (escalated,) = cursor.fetchone()
    idle = common.timed(run_sweep, repeat=10, warmup=1)
    facts = {"incidents": total, "pending": pending, "evaluated": evaluated, "escalated": escalated,
             "open_deadlines": open_deadlines, "sweeps": len(samples), "sweep_seconds": round(sum(samples), 2)}
    return samples, idle, facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--updates", type=int, default=None, help="incidents escalated one by one (≥ 200)")
    args = parser.parse_args()
    size = SIZES[args.size]
    if args.updates:
        size = dict(size, latency=args.updates)

    os.environ["REDIS_URL"] = REDIS_URL
    os.environ["CELERY_RESULT_BACKEND"] = REDIS_URL  # only for the baseline's round trip
    common.setup_django()
    from django.conf import settings
    from django.core.management import call_command

    assert settings.PORTAL_MODE == "full", "the benchmark needs the full mode (Redis)"
    flush_redis()
    common.progress("loading the demo network")
    call_command("load_demo", stdout=open(os.devnull, "w"))
    clear_incidents()

    log_path = Path(tempfile.mkdtemp(prefix="bench-escalation-")) / "worker.log"
    common.progress("starting a Celery worker")
    worker = start_worker(log_path)
    try:
        latency, round_trip = bench_fast_path(size["latency"], worker, log_path)
    finally:
        stop_worker(worker)
    flush_redis()

    sweeps, idle, facts = bench_sweep(size["incidents"], size["pending"])
    flush_redis()  # the escalations' e-mail tasks nobody consumes

    rows = [
        common.summary("commit of update → escalation Event (worker on Redis)", latency, round_trip),
        common.summary(f"one sweep, {facts['pending']:,} pending of {facts['incidents']:,} "
                       "(batches of 200 for half an interval)", sweeps, idle),
    ]
    title = (f"Escalation ({args.size}; baselines: bare Celery round trip through the same worker; "
             "the same sweep with nothing pending)")
    common.print_table(title, rows)
    interval = settings.SWEEP_INTERVAL_SECONDS
    print(f"\nBacklog: {facts['pending']:,} incidents pending evaluation ({facts['escalated']:,} of them escalate), "
          f"{facts['open_deadlines']:,} open deadlines, {facts['incidents']:,} incidents: drained by "
          f"{facts['sweeps']} sweep(s) in {facts['sweep_seconds']} s of sweeping "
          f"(beat every {interval} s{'; a sweep outlasts the interval' if max(sweeps) > interval else ''}).")
    path = common.write_results(f"escalation_{args.size}", {"title": title, "rows": rows, "backlog": facts})
    print(f"written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
