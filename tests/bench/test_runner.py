"""The benchmark runner's own logic: discovery, flags and the results table (no benchmark is run here).

The benchmarks themselves are exercised by ``make bench SIZE=small`` in CI.
"""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import common  # noqa: E402
import list_queries  # noqa: E402
import run  # noqa: E402


def _summary(benchmarks):
    return {
        "size": "small", "date": "2026-11-23T12:00:00+00:00", "total_seconds": 120.0, "load_average": [1.0, 1.0, 1.0],
        "machine": {"cores": 2, "ram_gib": 23.5, "cpu": "test CPU", "postgresql": "15.20", "redis": "7.0.15",
                    "python": "3.11", "commit": "abc1234"},
        "benchmarks": benchmarks,
    }


def test_runner_lists_every_benchmark_the_issue_asks_for_even_when_its_file_is_missing(tmp_path, monkeypatch):
    (tmp_path / "incidents_list.py").write_text("")
    (tmp_path / "extra_thing.py").write_text("")
    (tmp_path / "common.py").write_text("")
    (tmp_path / "run.py").write_text("")
    monkeypatch.setattr(run, "BENCH", tmp_path)

    names = run.discover()

    assert names[: len(run.ORDER)] == run.ORDER
    assert names[-1] == "extra_thing"
    assert "common" not in names and "run" not in names


def test_a_missing_benchmark_is_reported_as_missing_without_running_anything(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "BENCH", tmp_path)

    record = run.run_one("live_events", "small", "csoa_bench_live_events", timeout=5)

    assert record["status"] == "missing"


def test_destructive_benchmarks_get_a_database_of_their_own_and_the_dataset_users_share_one():
    assert run.database_for("incidents_list", "csoa_bench") == "csoa_bench"
    assert run.database_for("list_queries", "csoa_bench") == "csoa_bench"
    assert run.database_for("escalation", "csoa_bench") == "csoa_bench_escalation"
    assert run.database_for("live_events", "x") == "x_live_events"


def test_without_a_chosen_prefix_a_benchmark_keeps_the_database_it_uses_when_run_alone(tmp_path, monkeypatch):
    (tmp_path / "mine.py").write_text('os.environ.setdefault("BENCH_DATABASE_NAME", "csoa_bench_mine")\n')
    (tmp_path / "plain.py").write_text("import common\n")
    monkeypatch.setattr(run, "BENCH", tmp_path)

    assert run.database_for("mine", "csoa_bench", prefix_chosen=False) == "csoa_bench_mine"
    assert run.database_for("plain", "csoa_bench", prefix_chosen=False) == "csoa_bench_plain"
    assert run.database_for("mine", "ci", prefix_chosen=True) == "ci_mine"


def test_ratio_is_taken_from_the_unrounded_medians():
    row = common.summary("export", [3.4, 3.4, 3.4], [0.0143, 0.0143, 0.0143], unit="s")

    assert row["baseline_p50"] == 0.0143
    assert row["ratio_p50"] == pytest.approx(237.8, abs=0.1)


def test_throughput_ratio_reads_times_slower_than_the_baseline():
    row = common.rate_row("POST", 40, 10.0, 2_000, 10.0)

    assert (row["p50"], row["baseline_p50"], row["ratio_p50"]) == (4.0, 200.0, 50.0)


def _counts(queries, status=200, items=50):
    return {"/api/v1/things/ enisa": {"path": "/api/v1/things/", "user": "enisa", "query": {}, "status": status,
                                      "queries": queries, "items": items}}


def test_a_list_whose_query_count_grows_with_the_rows_is_flagged_with_both_counts():
    rows = list_queries.compare({"rows": 100, "counts": _counts(4, items=4)},
                                {"rows": 100_000, "counts": _counts(53)})

    assert rows[0]["flag"] == "DIFFERS: 4 at 100 rows, 53 at 100,000"
    assert (rows[0]["baseline_p50"], rows[0]["p50"]) == (4, 53)


def test_a_list_with_the_same_count_is_not_flagged_but_a_failing_one_is():
    same = list_queries.compare({"rows": 100, "counts": _counts(4)}, {"rows": 2_000, "counts": _counts(4)})
    failing = list_queries.compare({"rows": 100, "counts": _counts(4)},
                                   {"rows": 2_000, "counts": _counts(4, status=500)})

    assert "flag" not in same[0]
    assert failing[0]["flag"] == "status 200 / 500"


def test_a_list_refused_to_the_user_at_both_sizes_is_noted_not_flagged():
    rows = list_queries.compare({"rows": 100, "counts": _counts(6, status=403, items=None)},
                                {"rows": 2_000, "counts": _counts(6, status=403, items=None)})

    assert "flag" not in rows[0]
    assert rows[0]["note"] == "refused to this user (403)"


def test_list_endpoints_are_discovered_from_the_openapi_schema():
    endpoints, skipped = list_queries.list_endpoints({"value": "203.0.113.66", "after": "10", "limit": "100"})
    paths = dict(endpoints)

    assert {"/api/v1/incidents/", "/api/v1/alerts/", "/api/v1/organisations/", "/api/v1/member-states/",
            "/api/v1/events/"} <= set(paths)
    assert not any("{" in path for path in paths)
    assert "/api/v1/blueprint/" not in paths  # one object, not a list
    assert paths["/api/v1/observables/search/"] == {"value": "203.0.113.66"}
    assert paths["/api/v1/events/"]["after"] == "10"
    assert paths["/api/v1/events/"]["limit"] == "100"  # the generated events, within the schema's maximum
    assert not skipped


def test_the_results_table_names_the_machine_flags_and_failures(tmp_path):
    benchmarks = [
        {"name": "incidents_list", "status": "ok", "title": "Incident list",
         "rows": [common.summary("GET incidents first page (de-csirt)", [0.05] * 10, [0.005] * 10)]},
        {"name": "list_queries", "status": "failed (exit 1)", "title": "Queries",
         "rows": list_queries.compare({"rows": 100, "counts": _counts(4)}, {"rows": 2_000, "counts": _counts(9)})},
        {"name": "live_events", "status": "missing"},
    ]
    summary = _summary(benchmarks)

    text = run.render_text(summary)
    markdown = run.render_markdown(summary)
    run.render_chart(summary, tmp_path / "chart.png")

    assert "2 cores" in text and "23.5 GiB" in text
    assert "GET incidents first page (de-csirt)" in text and "50.00 ms" in text and "5.00 ms" in text
    assert "DIFFERS: 4 at 100 rows, 9 at 2,000" in text
    assert "live_events: MISSING" in text
    assert "| live_events | **missing** |" in markdown
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    json.dumps(summary)  # what the runner writes
