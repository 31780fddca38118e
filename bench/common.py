"""Shared set-up of the benchmarks: a dedicated PostgreSQL database in full mode, timing helpers.

Benchmarks print figures; they are not tests. Each compares the portal's path with a
baseline measured in the same run (raw SQL, bare Redis…) and reports the ratio.
"""

import json
import os
import socket
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_DB = os.environ.get("BENCH_DATABASE_NAME", "csoa_bench")
# A Redis database of the benchmarks' own: the tasks and channel messages their writes dispatch
# must not reach a worker or a browser of the development database.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
SIZES = {"small": {"incidents": 2_000, "observables_per_incident": 10}, "full": {"incidents": 100_000, "observables_per_incident": 10}}


def setup_django():
    """Point Django at the bench database (created if missing), migrate it, and return settings."""
    sys.path.insert(0, str(ROOT))
    server = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    os.environ["DATABASE_URL"] = f"{server}/{BENCH_DB}"
    os.environ.setdefault("REDIS_URL", BENCH_REDIS_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csoa_portal.settings")
    import psycopg2

    admin = psycopg2.connect(f"{server}/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{BENCH_DB}"')
    admin.close()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def timed(fn, *, repeat: int, warmup: int = 3) -> list[float]:
    """Seconds per call of ``fn`` over ``repeat`` calls, after a warm-up."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _round(value: float) -> float:
    """Two decimals, but at least three significant digits (a 14 ms baseline in seconds stays 0.0142)."""
    return round(value, 2) if abs(value) >= 1 or value == 0 else float(f"{value:.3g}")


def summary(name: str, samples: list[float], baseline: list[float] | None = None, unit: str = "ms") -> dict:
    scale = 1000 if unit == "ms" else 1
    median = statistics.median(samples)
    row = {
        "measurement": name,
        "unit": unit,
        "n": len(samples),
        "p50": _round(median * scale),
        "p99": _round(percentile(samples, 99) * scale),
    }
    if baseline:
        baseline_median = statistics.median(baseline)
        row["baseline_p50"] = _round(baseline_median * scale)
        row["baseline_p99"] = _round(percentile(baseline, 99) * scale)
        row["ratio_p50"] = round(median / baseline_median, 1) if baseline_median else None
    return row


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    header = f"{'measurement':58} {'n':>5} {'p50':>10} {'p99':>10} {'base p50':>10} {'base p99':>10} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        def cell(key, unit=""):
            value = r.get(key)
            return "" if value is None else f"{value}{unit}"

        unit = r["unit"] if r["unit"] == "ms" else f" {r['unit']}"
        print(
            f"{r['measurement']:58} {r['n']:>5} {cell('p50', unit):>10} {cell('p99', unit):>10} "
            f"{cell('baseline_p50'):>10} {cell('baseline_p99'):>10} {cell('ratio_p50'):>7}"
        )


def write_results(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def rate_row(name: str, count: int, seconds: float, baseline_count: int, baseline_seconds: float) -> dict:
    """A throughput row (requests per second) beside the baseline's; the ratio reads "times slower"."""
    rate = count / seconds
    baseline = baseline_count / baseline_seconds
    return {
        "measurement": name,
        "unit": "req/s",
        "n": count,
        "p50": round(rate, 1),
        "p99": None,
        "baseline_p50": round(baseline, 1),
        "baseline_p99": None,
        "ratio_p50": round(baseline / rate, 1) if rate else None,
    }


# --- An incident with many observables (bench/stix_export.py, bench/misp_export.py) ----------------


def observable_rows(n: int) -> list[dict]:
    """``n`` distinct observables, of seven types in turn, as a SOC would send them."""
    makers = [
        lambda i: ("ipv4", f"198.{i % 250 + 1}.{i // 250 % 250}.{i % 200 + 1}"),
        lambda i: ("ipv6", f"2001:db8::{i:x}"),
        lambda i: ("domain", f"c2-{i}.evil.example"),
        lambda i: ("url", f"https://dropper-{i}.example/payload?id={i}"),
        lambda i: ("email", f"phisher{i}@malicious.example"),
        lambda i: ("sha256", f"{i:064x}"),
        lambda i: ("cve", f"CVE-2024-{10000 + i}"),
    ]
    rows = []
    for i in range(n):
        kind, value = makers[i % len(makers)](i)
        rows.append({"type": kind, "value": value, "note": "seen in the bench" if i % 10 == 0 else ""})
    return rows


RAW_OBSERVABLE_ROWS = """SELECT id, type, value, tlp, note, first_seen, last_seen, created_at
                         FROM incidents_observable WHERE incident_id = %s ORDER BY id"""


def raw_observable_export(incident_id: int) -> bytes:
    """The exports' baseline: the incident's observables by hand-written SQL, dumped as JSON."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(RAW_OBSERVABLE_ROWS, [incident_id])
        columns = [c[0] for c in cursor.description]
        rows = [dict(zip(columns, row)) for row in cursor.fetchall()]
    return json.dumps(rows, default=str).encode()


def incident_with_observables(n: int, *, title: str, description: str):
    """An AMBER incident reported through the services by de-csirt's analyst (DE affected), given ``n``
    observables of seven types through ``add_observables``: what an export bench exports.

    Returns the incident and the seconds the adding took. The caller deletes the incident when done, so the
    generated dataset stays as it was; if the adding fails, it is deleted here.
    """
    from datetime import timedelta

    from django.utils import timezone

    from incidents import services
    from incidents.models import Incident
    from liaison.models import MemberState, Organisation, User

    org = Organisation.objects.get(code="de-csirt")
    analyst = User.objects.get(email="analyst@de-csirt.demo")
    incident = services.report_incident(
        actor=analyst, organisation=org, title=title, severity="high",
        aware_at=timezone.now() - timedelta(hours=2), affected_member_states=[MemberState.objects.get(code="DE")],
        tlp="amber", description=description,
    )
    try:
        progress(f"adding {n:,} observables of seven types through the service")
        start = time.perf_counter()
        result = services.add_observables(actor=analyst, incident=incident, rows=observable_rows(n))
        seconds = time.perf_counter() - start
        assert result.created == n and not result.errors, (result.created, result.errors[:3])
    except BaseException:
        Incident.objects.filter(pk=incident.pk).delete()
        raise
    return incident, seconds


# --- Datasets kept between runs ---------------------------------------------------------------
# A generated dataset is recorded in a marker table when (and only when) its generation
# finished, with the spec it was generated for: re-running a benchmark reuses it instead of
# regenerating 100,000 incidents, and a half-generated or truncated dataset is never reused.

MARKER_TABLE = "bench_dataset"


def _ensure_marker_table(cursor) -> None:
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} "
                   "(name text PRIMARY KEY, spec jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")


def dataset_ready(name: str, spec: dict, *, check_sql: str | None = None, expected: int | None = None) -> bool:
    """Whether ``name`` was fully generated with ``spec`` (and ``check_sql`` still counts ``expected`` rows)."""
    from django.db import connection

    with connection.cursor() as cursor:
        _ensure_marker_table(cursor)
        cursor.execute(f"SELECT spec FROM {MARKER_TABLE} WHERE name = %s", [name])
        row = cursor.fetchone()
        if row is None or (json.loads(row[0]) if isinstance(row[0], str) else row[0]) != spec:
            return False
        if check_sql is not None:
            cursor.execute(check_sql)
            if cursor.fetchone()[0] != expected:
                return False
    return True


def forget_dataset(name: str) -> None:
    """Drop the marker before regenerating: an interrupted generation is never taken as done."""
    from django.db import connection

    with connection.cursor() as cursor:
        _ensure_marker_table(cursor)
        cursor.execute(f"DELETE FROM {MARKER_TABLE} WHERE name = %s", [name])


def mark_dataset(name: str, spec: dict) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        _ensure_marker_table(cursor)
        cursor.execute(f"INSERT INTO {MARKER_TABLE} (name, spec) VALUES (%s, %s) "
                       "ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, created_at = now()",
                       [name, json.dumps(spec, sort_keys=True)])


def free_port() -> int:
    """A free loopback port for a server started by a benchmark (never the portal's 8000)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Throwaway keys, one per benchmark run, shared by every process it starts (the audit chain's
# entries written by a server and by a sweep process are keyed alike, as in one deployment).
_SECRET_KEY = uuid.uuid4().hex + uuid.uuid4().hex
_AUDIT_HMAC_KEY = uuid.uuid4().hex + uuid.uuid4().hex


def production_env(*, redis_url: str, channels_prefix: str) -> dict[str, str]:
    """The environment of a portal process started by a benchmark: production settings, the bench's Redis."""
    env = dict(
        os.environ, DJANGO_ENV="production", DJANGO_SECRET_KEY=_SECRET_KEY,
        # Production requires a key outside the database for the audit chain (a throwaway one here).
        AUDIT_HMAC_KEY=os.environ.get("AUDIT_HMAC_KEY") or _AUDIT_HMAC_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost", REDIS_URL=redis_url, CHANNELS_PREFIX=channels_prefix,
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
    )
    env.pop("DJANGO_DEBUG", None)
    return env
