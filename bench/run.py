"""Run every benchmark in bench/ and print one results table (``make bench SIZE=small|full``).

    .venv/bin/python bench/run.py --size small|full [--only NAME,NAME] [--timeout SECONDS]

(``--only`` runs some benchmarks and prints their table without touching the summary files.)

Full mode: the local PostgreSQL (``BENCH_POSTGRES``, default postgres://postgres@127.0.0.1:5432)
and Redis (127.0.0.1:6379) must be up. Each benchmark runs in its own process, in the order of
``ORDER`` then any other ``bench/*.py`` (a benchmark listed in ``ORDER`` but absent is
reported as missing). ``BENCH_DATABASE_NAME`` (default csoa_bench) names the databases:
the benchmarks that read and write the incident dataset without destroying it share it
(``SHARED_DATASET``: generated once, kept between runs); every other benchmark gets a
database of its own, ``<name>_<benchmark>`` (without ``BENCH_DATABASE_NAME``: the default
its module names, as when run alone), so one that truncates tables never forces the next
run to regenerate 100,000 incidents.

Progress lines of the benchmarks are shown as they come (with a heartbeat when one stays
silent); everything they print goes to ``bench/results/<benchmark>_<size>.log``. At the end
one table: for each measurement the median, the 99th percentile, the baseline measured in
the same run and the ratio (the median's, "times the baseline"; for throughputs the
baseline's rate over the measured one), with the date and the machine. It is written as
``bench/results/summary_<size>.json``, ``.md`` (for the README) and ``.png`` (ratios as bars).

Exit status 1 if a benchmark failed, timed out or is missing, or a list endpoint's query
count differs between 100 rows and the full dataset.
"""

import argparse
import json
import os
import platform
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import common  # bench/ is the script's folder, so on sys.path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
# The measurements issue 7 asks for, in a sensible order: the dataset's generator first.
ORDER = ["incidents_list", "list_queries", "stix_export", "misp_export", "api_create", "exercise_isolation",
         "live_events", "sweep_load", "escalation", "reserve_ranking", "situation_report"]
# Benchmarks that leave the incident dataset as they found it, and so share it.
SHARED_DATASET = {"incidents_list", "list_queries", "stix_export", "misp_export", "api_create", "exercise_isolation"}
NOT_BENCHMARKS = {"common", "run"}
# A second database a benchmark uses beside its own (list_queries counts queries at 100 rows there too).
MORE_DATABASES = {"list_queries": "_rows100"}
TIMEOUTS = {"small": 900, "full": 3600}  # per benchmark, seconds
HEARTBEAT = 30.0


def discover() -> list[str]:
    present = {p.stem for p in BENCH.glob("*.py") if p.stem not in NOT_BENCHMARKS and not p.stem.startswith("_")}
    return [name for name in ORDER] + sorted(present - set(ORDER))


def database_for(name: str, prefix: str, *, prefix_chosen: bool = True) -> str:
    """The shared dataset's database, or the benchmark's own.

    Without a ``BENCH_DATABASE_NAME`` of the caller's, a benchmark that names its own default
    database keeps it, so the runner and a standalone run reuse the same generated data.
    """
    if name in SHARED_DATASET:
        return prefix
    if not prefix_chosen:
        match = re.search(r"""environ\.setdefault\(\s*["']BENCH_DATABASE_NAME["']\s*,\s*["']([\w-]+)["']\s*\)""",
                          _read(str(BENCH / f"{name}.py")))
        if match:
            return match.group(1)
    return f"{prefix}_{name}"


def prepare_databases(databases: list[str], prefix: str, postgres: str) -> None:
    """Copy each missing benchmark database from one migrated database holding the demo network.

    A new database costs a benchmark half a minute of migrations and demo data before it measures
    anything; a copy (``CREATE DATABASE … TEMPLATE``) takes a second or two. Each benchmark still
    migrates and loads the demo network itself, which finds them done.
    """
    import psycopg2

    admin = psycopg2.connect(f"{postgres}/postgres", connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database")
        present = {row[0] for row in cursor.fetchall()}
    missing = sorted(set(databases) - present)
    if missing:
        template = f"{prefix}_template"
        print(f"[databases] migrating {template} and loading the demo network; copying it to "
              f"{', '.join(missing)}", flush=True)
        env = dict(os.environ, DATABASE_URL=f"{postgres}/{template}",
                   REDIS_URL=common.BENCH_REDIS_URL)
        with admin.cursor() as cursor:
            if template not in present:
                cursor.execute(f'CREATE DATABASE "{template}"')
        for command in (["migrate", "--no-input", "-v", "0"], ["load_demo"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
        with admin.cursor() as cursor:
            for database in missing:
                cursor.execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
    admin.close()


# --- The machine ------------------------------------------------------------------------------------

def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine(postgres: str) -> dict:
    """What the README quotes beside the table: cores, memory, CPU, service versions, the code measured."""
    info = {"cores": os.cpu_count(), "python": platform.python_version(), "os": platform.platform(terse=True)}
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            info["ram_gib"] = round(int(line.split()[1]) / 1024 ** 2, 1)
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            info["cpu"] = line.split(":", 1)[1].strip()
            break
    try:
        import psycopg2

        connection = psycopg2.connect(f"{postgres}/postgres", connect_timeout=5)
        info["postgresql"] = connection.server_version and ".".join(
            str(part) for part in divmod(connection.server_version, 10000)
        )
        connection.close()
    except Exception as exc:  # reported by check_services
        info["postgresql"] = f"unavailable ({exc.__class__.__name__})"
    try:
        import redis

        client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=5)
        info["redis"] = client.info("server")["redis_version"]
        client.close()
    except Exception as exc:
        info["redis"] = f"unavailable ({exc.__class__.__name__})"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                capture_output=True, text=True, timeout=10).stdout.splitlines()
        # The run's own results files are not changes to what was measured.
        dirty = [line for line in status if not line[3:].startswith("bench/results/")]
        info["commit"] = commit + (" + local changes" if dirty else "") if commit else None
    except (OSError, subprocess.SubprocessError):
        info["commit"] = None
    return info


def check_services(postgres: str) -> None:
    """Fail early, naming the service, rather than in the middle of a benchmark."""
    import psycopg2
    import redis

    try:
        psycopg2.connect(f"{postgres}/postgres", connect_timeout=5).close()
    except Exception as exc:
        raise SystemExit(f"PostgreSQL is not reachable at {postgres}: {exc}".strip()) from None
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=5).ping()
    except Exception as exc:
        raise SystemExit(f"Redis is not reachable at 127.0.0.1:6379: {exc}") from None


# --- Running one benchmark --------------------------------------------------------------------------

def _pump(stream, tag: str, lines: queue.Queue) -> None:
    for raw in iter(stream.readline, b""):
        lines.put((tag, raw.decode(errors="replace").rstrip("\n")))
    lines.put((tag, None))


def _interrupt(process: subprocess.Popen) -> None:
    """SIGINT first (the benchmark's ``finally`` stops the servers and workers it started), then SIGKILL."""
    for sig, grace in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue


def _follow(name, process, lines: queue.Queue, log, started: float, timeout: float) -> tuple[bool, list[str]]:
    """Copy the benchmark's output to its log, show its progress lines, stop it at the timeout."""
    open_streams, last_shown, timed_out, tail = 2, time.monotonic(), False, []
    while open_streams:
        try:
            tag, line = lines.get(timeout=1.0)
        except queue.Empty:
            now = time.monotonic()
            if now - started > timeout and not timed_out:
                timed_out = True
                print(f"[{name} {now - started:5.0f}s] timed out after {timeout:.0f} s: stopping it", flush=True)
                threading.Thread(target=_interrupt, args=(process,), daemon=True).start()
            elif now - last_shown > HEARTBEAT:
                print(f"[{name} {now - started:5.0f}s]   still running…", flush=True)
                last_shown = now
            continue
        if line is None:
            open_streams -= 1
            continue
        log.write(f"{'' if tag == 'out' else '! '}{line}\n")
        log.flush()
        tail = (tail + [line])[-40:]
        if tag == "err" and line.lstrip().startswith("…"):
            print(f"[{name} {time.monotonic() - started:5.0f}s] {line.strip().removeprefix('… ')}", flush=True)
            last_shown = time.monotonic()
    return timed_out, tail


def run_one(name: str, size: str, database: str, timeout: float) -> dict:
    """Run ``bench/<name>.py --size <size>``; its progress to the console, everything to its log."""
    script = BENCH / f"{name}.py"
    result_path = RESULTS / f"{name}_{size}.json"
    log_path = RESULTS / f"{name}_{size}.log"
    record = {"name": name, "database": database, "result": str(result_path.relative_to(ROOT)),
              "log": str(log_path.relative_to(ROOT))}
    if not script.exists():
        print(f"[{name}] missing: bench/{name}.py does not exist", flush=True)
        return dict(record, status="missing", seconds=0, result=None, log=None)
    env = dict(os.environ, BENCH_DATABASE_NAME=database, PYTHONUNBUFFERED="1")
    print(f"[{name}] starting (database {database})", flush=True)
    started = time.monotonic()
    wall_start = time.time()
    lines: queue.Queue = queue.Queue()
    with log_path.open("w") as log:
        log.write(f"$ {sys.executable} bench/{name}.py --size {size}   (BENCH_DATABASE_NAME={database})\n")
        process = subprocess.Popen([sys.executable, str(script), "--size", size], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        readers = [threading.Thread(target=_pump, args=(process.stdout, "out", lines), daemon=True),
                   threading.Thread(target=_pump, args=(process.stderr, "err", lines), daemon=True)]
        for reader in readers:
            reader.start()
        try:
            timed_out, tail = _follow(name, process, lines, log, started, timeout)
        except KeyboardInterrupt:  # the benchmark runs in its own session: Ctrl-C does not reach it
            print(f"[{name}] interrupted: stopping it", flush=True)
            _interrupt(process)
            raise
        returncode = process.wait()
    seconds = round(time.monotonic() - started, 1)
    fresh = result_path.exists() and result_path.stat().st_mtime >= wall_start
    if timed_out:
        status = "timed out"
    elif returncode != 0:
        status = f"failed (exit {returncode})"
    elif not fresh:
        status = f"failed (wrote no bench/results/{result_path.name})"
    else:
        status = "ok"
    print(f"[{name} {seconds:5.0f}s] {status}", flush=True)
    if status != "ok":
        print("    " + "\n    ".join(tail[-15:]), flush=True)
    record.update(status=status, seconds=seconds)
    if fresh:
        payload = json.loads(result_path.read_text())
        record["title"] = payload.get("title")
        record["rows"] = payload.get("rows", [])
    else:
        record["result"] = None
    return record


# --- The table ----------------------------------------------------------------------------------------

def _value(value, unit: str) -> str:
    if value is None or value == "":
        return ""
    if unit == "queries":
        return str(value)
    if isinstance(value, (int, float)):
        value = (f"{value:,.0f}" if value >= 1000 else f"{value:.1f}" if value >= 100
                 else f"{value:.2f}" if value >= 1 else f"{value:.3g}")
    return f"{value} {unit}"


def table_rows(benchmarks: list[dict]) -> list[dict]:
    rows = []
    for bench in benchmarks:
        for row in bench.get("rows") or []:
            rows.append({"benchmark": bench["name"], **row})
    return rows


def render_text(summary: dict) -> str:
    m = summary["machine"]
    lines = [
        f"CSoA Portal benchmarks — size {summary['size']}, {summary['date']}, "
        f"{summary['total_seconds'] / 60:.1f} min",
        f"machine: {m.get('cores')} cores ({m.get('cpu', '?')}), {m.get('ram_gib', '?')} GiB RAM; "
        f"PostgreSQL {m.get('postgresql')}, Redis {m.get('redis')}, Python {m.get('python')}; "
        f"load average {summary['load_average'][0]:.1f} at the start; commit {m.get('commit')}",
        "ratio = median / baseline median (throughput: baseline rate / rate); baselines measured in the same run",
        "",
    ]
    headers = ["measurement", "n", "p50", "p99", "baseline p50", "baseline p99", "ratio", ""]
    body = []
    for bench in summary["benchmarks"]:
        heading = bench.get("title") or bench["name"]
        if bench["status"] != "ok":
            heading = f"{bench['name']}: {bench['status'].upper()}" + (f" — {bench['title']}" if bench.get("title") else "")
        body.append([f"[{heading}]", "", "", "", "", "", "", ""])
        for row in bench.get("rows") or []:
            unit = row.get("unit", "")
            body.append([
                row["measurement"], str(row.get("n", "")), _value(row.get("p50"), unit), _value(row.get("p99"), unit),
                _value(row.get("baseline_p50"), unit), _value(row.get("baseline_p99"), unit),
                "" if row.get("ratio_p50") is None else f"{row['ratio_p50']:g}",
                f"FLAGGED {row['flag']}" if row.get("flag") else row.get("note", ""),
            ])
    widths = [max(len(r[i]) for r in [headers, *body] if not r[0].startswith("[")) for i in range(len(headers))]

    def fmt(cells):
        return "  ".join((c.ljust(w) if i in (0, 7) else c.rjust(w))
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    lines += [fmt(headers), "-" * len(fmt(headers))]
    lines += [(r[0] if r[0].startswith("[") else fmt(r)) for r in body]
    return "\n".join(lines)


def render_markdown(summary: dict) -> str:
    m = summary["machine"]
    out = [
        f"Measured {summary['date']} with `make bench SIZE={summary['size']}` on {m.get('cores')} cores, "
        f"{m.get('ram_gib')} GiB RAM ({m.get('cpu', '?')}); PostgreSQL {m.get('postgresql')}, Redis {m.get('redis')}, "
        f"same host; load average {summary['load_average'][0]:.1f} at the start; commit {m.get('commit')}. "
        "Ratio: median / baseline median (throughput: baseline rate / rate).",
        "",
        "| benchmark | measurement | n | p50 | p99 | baseline p50 | baseline p99 | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for bench in summary["benchmarks"]:
        if bench["status"] != "ok":
            out.append(f"| {bench['name']} | **{bench['status']}** | | | | | | |")
        for row in bench.get("rows") or []:
            unit = row.get("unit", "")
            flag = f" **{row['flag']}**" if row.get("flag") else f" ({row['note']})" if row.get("note") else ""
            cells = [bench["name"], row["measurement"] + flag, str(row.get("n", "")),
                     _value(row.get("p50"), unit), _value(row.get("p99"), unit),
                     _value(row.get("baseline_p50"), unit), _value(row.get("baseline_p99"), unit),
                     "" if row.get("ratio_p50") is None else f"{row['ratio_p50']:g}"]
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out) + "\n"


def render_chart(summary: dict, path: Path) -> None:
    """Horizontal bars: each timed measurement's ratio to its baseline (log scale), the p50s written beside."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in table_rows(summary["benchmarks"]) if r.get("unit") != "queries" and r.get("ratio_p50")]
    queries = [r for r in table_rows(summary["benchmarks"]) if r.get("unit") == "queries"]
    differing = [r for r in queries if r.get("flag")]
    height = 1.6 + 0.42 * max(1, len(rows))
    fig, ax = plt.subplots(figsize=(12, height), dpi=90)
    labels = [f"{r['measurement']}" for r in reversed(rows)]
    ratios = [r["ratio_p50"] for r in reversed(rows)]
    colours = ["#c0392b" if ratio >= 50 else "#e67e22" if ratio >= 10 else "#2e86c1" for ratio in ratios]
    bars = ax.barh(range(len(rows)), ratios, color=colours)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.set_xscale("log")
    ax.axvline(1, color="black", linewidth=0.8)
    for bar, row in zip(bars, reversed(rows)):
        unit = row.get("unit", "")
        ax.text(bar.get_width() * 1.08, bar.get_y() + bar.get_height() / 2,
                f"{row['ratio_p50']:g}×  ({_value(row.get('p50'), unit)} vs {_value(row.get('baseline_p50'), unit)})",
                va="center", fontsize=7.5)
    ax.set_xlim(left=0.5, right=max(ratios + [2]) * 12)
    m = summary["machine"]
    ax.set_xlabel("median ÷ baseline median, same run (log scale; throughput: baseline rate ÷ rate); "
                  "blue < 10×, orange < 50×, red ≥ 50×", fontsize=8)
    note = (f"queries per request: {len(queries)} list requests, "
            + (f"{len(differing)} DIFFER between 100 rows and the full dataset" if differing
               else "each the same at 100 rows and the full dataset"))
    failed = [b["name"] for b in summary["benchmarks"] if b["status"] != "ok"]
    if failed:
        note += f"; not measured: {', '.join(failed)}"
    ax.set_title(f"CSoA Portal benchmarks, {summary['size']} size, {summary['date'][:10]}; "
                 f"{m.get('cores')} cores, {m.get('ram_gib')} GiB\n{note}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --- Main -------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=["small", "full"], default="small")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per benchmark (default 900 small, 3600 full)")
    args = parser.parse_args()
    timeout = args.timeout or TIMEOUTS[args.size]
    prefix = os.environ.get("BENCH_DATABASE_NAME") or "csoa_bench"
    prefix_chosen = bool(os.environ.get("BENCH_DATABASE_NAME"))
    postgres = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    names = discover()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise SystemExit(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}")
        names = [n for n in names if n in wanted]

    check_services(postgres)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    load = os.getloadavg()
    date = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    print(f"Benchmarks at size {args.size}: {', '.join(names)}; databases {prefix}[_<benchmark>]; "
          f"logs in bench/results/<benchmark>_{args.size}.log", flush=True)
    databases = {name: database_for(name, prefix, prefix_chosen=prefix_chosen) for name in names}
    prepare_databases([*databases.values(), *(f"{databases[name]}{suffix}" for name, suffix in MORE_DATABASES.items()
                                              if name in databases)], prefix, postgres)
    benchmarks = [run_one(name, args.size, databases[name], timeout) for name in names]

    summary = {"size": args.size, "date": date, "total_seconds": round(time.monotonic() - started, 1),
               "load_average": [round(x, 2) for x in load], "load_average_end": [round(x, 2) for x in os.getloadavg()],
               "machine": machine(postgres), "benchmarks": benchmarks}
    summary["rows"] = table_rows(benchmarks)
    text = render_text(summary)
    print("\n" + text + "\n")
    if args.only:
        print(f"a partial run (--only): bench/results/summary_{args.size}.* are left as they were")
    else:
        stored = dict(summary, benchmarks=[{k: v for k, v in b.items() if k != "rows"} for b in benchmarks])
        (RESULTS / f"summary_{args.size}.json").write_text(json.dumps(stored, indent=2, ensure_ascii=False))
        (RESULTS / f"summary_{args.size}.md").write_text(render_markdown(summary))
        render_chart(summary, RESULTS / f"summary_{args.size}.png")
        print(f"written to bench/results/summary_{args.size}.json, .md and .png")

    problems = [f"{b['name']}: {b['status']}" for b in benchmarks if b["status"] != "ok"]
    problems += [f"{r['measurement']}: {r['flag']}" for r in summary["rows"] if r.get("flag")]
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
