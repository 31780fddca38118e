"""Shared set-up of the benchmarks: a dedicated PostgreSQL database in full mode, timing helpers.

Benchmarks print figures; they are not tests. Each compares the portal's path with a
baseline measured in the same run (raw SQL, bare Redis…) and reports the ratio.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_DB = os.environ.get("BENCH_DATABASE_NAME", "csoa_bench")
SIZES = {"small": {"incidents": 2_000, "observables_per_incident": 10}, "full": {"incidents": 100_000, "observables_per_incident": 10}}


def setup_django():
    """Point Django at the bench database (created if missing), migrate it, and return settings."""
    sys.path.insert(0, str(ROOT))
    server = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    os.environ["DATABASE_URL"] = f"{server}/{BENCH_DB}"
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
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


def summary(name: str, samples: list[float], baseline: list[float] | None = None, unit: str = "ms") -> dict:
    scale = 1000 if unit == "ms" else 1
    row = {
        "measurement": name,
        "unit": unit,
        "n": len(samples),
        "p50": round(statistics.median(samples) * scale, 2),
        "p99": round(percentile(samples, 99) * scale, 2),
    }
    if baseline:
        row["baseline_p50"] = round(statistics.median(baseline) * scale, 2)
        row["baseline_p99"] = round(percentile(baseline, 99) * scale, 2)
        row["ratio_p50"] = round(row["p50"] / row["baseline_p50"], 1) if row["baseline_p50"] else None
    return row


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    header = f"{'measurement':58} {'n':>5} {'p50':>10} {'p99':>10} {'base p50':>10} {'base p99':>10} {'ratio':>7}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['measurement']:58} {r['n']:>5} {r['p50']:>8}{r['unit']:>2} {r['p99']:>8}{r['unit']:>2} "
            f"{r.get('baseline_p50', ''):>10} {r.get('baseline_p99', ''):>10} {r.get('ratio_p50') or '':>7}"
        )


def write_results(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path
