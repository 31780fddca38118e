"""Benchmark: live work's reads while 10 exercises run beside it, against the same reads without them.

    .venv/bin/python bench/exercise_isolation.py --size small|full [--repeat N]

Issue 18 asks that running exercises cost live work nothing: "the live incident list and event
stream with 10 running exercises of 10,000 objects each: same query count and within 10 % of
the latency without exercises". Full mode only, on the shared incident dataset
(``BENCH_DATABASE_NAME``, default csoa_bench: bench/incidents_list.py's incidents and
bench/list_queries.py's events beside them, generated here if missing).

The exercises (full: 10 × 10,000; small: 10 × 500) are ``running`` exercises of ENISA in which
every EU national CSIRT and ENISA take part; each holds N incidents reported by those CSIRTs,
with the same view grants as live ones (the reporting CSIRT; ENISA for every fifth), and N
``incident.created`` events with ``exercise_id`` set, addressed to the same groups. They are
written with set-based SQL after the live dataset, so they are the newest rows, as they are
while an exercise runs: the reads that walk newest first must step over them.

Measured for a national CSIRT's token (de-csirt) and ENISA's, in process (Django's test client,
as bench/incidents_list.py), each read in live work:

- the first page of ``GET /api/v1/incidents/``, and its page query alone (the SQL Django sends,
  run by hand: the request's Python cost would hide what the database does differently);
- ``GET /api/v1/events/`` over the tail of the live log (the newest 100 generated live events,
  the default ``limit``): the same window of ids in both states;
- the websocket's catch-up read of the newest 200 (``liaison.consumers._load``, the
  connection's ``addressed`` filter, ``selectors.stream_visibility``: what a live connection
  resuming with ``?after=`` runs per batch of ``READ_BATCH`` events).

Method. "Without" and "with" are the same database with and without the exercise rows: the rows
are inserted (set-based SQL) and deleted again, each time followed by ``VACUUM ANALYZE`` of the
tables touched: both states are as autovacuum leaves a database at rest (statistics current,
visibility map set, so index-only scans stay index-only; no dead rows left by the deletion). The states alternate A B B A three times (twelve phases, six
toggles), so drift in the machine's load falls on both sides alike; inside a phase the reads
are timed in turn (a, b, c, …), as bench/incidents_list.py does. Each read's answer is checked
to be the same in both states (the same page, the same events: nothing of an exercise leaks
in), and its queries are counted once per state (``CaptureQueriesContext``). Moving the rows
out of the way by an ``UPDATE`` instead would have left them in the tables and their indexes,
which is not "without exercises"; two databases would have differed in more than the exercises
(physical order, statistics, caches).

Reported per read: median and 95th percentile with and without, the ratio of the medians (goal
≤ 1.10) and whether the query count is the same. A different query count is flagged (the
runner's exit status 1); a ratio over the goal is printed and noted in the table.

The exercise rows are deleted at the end (and at the start, should an interrupted run have left
some), so the shared dataset stays as generated.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

SIZES = {"small": {"exercises": 10, "objects": 500}, "full": {"exercises": 10, "objects": 10_000}}
USERS = ["de-csirt", "enisa"]
GOAL = 1.10
PHASES = [False, True, True, False] * 3  # with exercises? A B B A, three times
NAME_PREFIX = "Bench exercise "
DESCRIPTION = "Generated for the exercise benchmark"
FEED_LIMIT = 100  # the feed's default limit
TOUCHED = ["liaison_exercise", "liaison_exercise_participants", "incidents_incident",
           "incidents_incidentgroupobjectpermission", "liaison_event", "liaison_eventaudience"]


# --- The exercise rows ----------------------------------------------------------------------------


def add_exercises(n_exercises: int, per_exercise: int, *, vacuum: bool = True) -> list[int]:
    """Insert the running exercises, their participants, incidents, grants and events (set-based SQL)."""
    from django.contrib.auth.models import Permission
    from django.db import connection, transaction

    from liaison.models import Organisation

    csirts = list(Organisation.objects.filter(kind="national_csirt", member_state__kind="eu_member").order_by("code"))
    enisa = Organisation.objects.get(code="enisa")
    analysts = [org.memberships.filter(role="analyst").values_list("user_id", flat=True).first() for org in csirts]
    view = Permission.objects.get(codename="view_incident", content_type__app_label="incidents").pk
    change = Permission.objects.get(codename="change_incident", content_type__app_label="incidents").pk
    k, n = len(csirts), n_exercises * per_exercise
    org_ids = "ARRAY[" + ",".join(str(o.pk) for o in csirts) + "]::bigint[]"
    user_ids = "ARRAY[" + ",".join(str(u) for u in analysts) + "]::bigint[]"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO liaison_exercise (name, kind, starts_at, ends_at, status, organisation_id, created_at, time_scale)
            SELECT %s || g, 'cyber_europe', now() - interval '1 day', now() + interval '2 days', 'running', %s, now(), 1
            FROM generate_series(1, %s) g RETURNING id""", [NAME_PREFIX, enisa.pk, n_exercises])
        exercise_ids = sorted(row[0] for row in cursor.fetchall())
        cursor.execute("""
            INSERT INTO liaison_exercise_participants (exercise_id, organisation_id)
            SELECT e, o FROM unnest(%s::bigint[]) e, unnest(%s::bigint[]) o""",
                       [exercise_ids, [o.pk for o in csirts] + [enisa.pk]])
        cursor.execute(f"""
            INSERT INTO incidents_incident (title, description, reporting_organisation_id, reported_by_id, entity_type,
                severity, national_capacity_exceeded, technical_cooperation_requested, aware_at, tlp, status, crisis_level,
                declared_level, version, evaluated_version, created_at, updated_at,
                significance, significance_grounds, significance_explanation, ipcr_mode, stix_id, misp_uuid, exercise_id)
            SELECT 'Exercise incident ' || g, %s, ({org_ids})[1 + g %% {k}], ({user_ids})[1 + g %% {k}],
                'essential', (ARRAY['low','medium','high','critical'])[1 + g %% 4], false, false,
                now() - (g || ' seconds')::interval, 'amber', 'open', g %% 3, 0, 1, 1, now(), now(),
                'significant', '["operational_disruption"]'::jsonb, '', '', gen_random_uuid(), gen_random_uuid(),
                (%s::bigint[])[1 + g %% %s]
            FROM generate_series(1, %s) g""", [DESCRIPTION, exercise_ids, n_exercises, n])
        exercise_rows = "SELECT id FROM incidents_incident WHERE exercise_id = ANY(%s)"
        cursor.execute(f"""
            INSERT INTO incidents_incidentgroupobjectpermission (permission_id, group_id, content_object_id)
            SELECT p, o.group_id, i.id FROM incidents_incident i
            JOIN liaison_organisation o ON o.id = i.reporting_organisation_id, unnest(ARRAY[{view}, {change}]) p
            WHERE i.id IN ({exercise_rows})
            UNION ALL
            SELECT {view}, {enisa.group_id}, id FROM incidents_incident WHERE id IN ({exercise_rows}) AND id %% 5 = 0""",
                       [exercise_ids, exercise_ids])
        cursor.execute(f"""
            INSERT INTO liaison_event (created_at, kind, subject_type, subject_id, actor_id, payload, published_at,
                                       exercise_id)
            SELECT created_at, 'incident.created', 'incident', id::text, reported_by_id,
                   jsonb_build_object('bench_exercise', true, 'title', title), created_at, exercise_id
            FROM incidents_incident WHERE id IN ({exercise_rows}) ORDER BY id""", [exercise_ids])
        cursor.execute("""
            INSERT INTO liaison_eventaudience (event_id, group_id)
            SELECT e.id, o.group_id FROM liaison_event e
            JOIN incidents_incident i ON i.id = e.subject_id::bigint
            JOIN liaison_organisation o ON o.id = i.reporting_organisation_id
            WHERE e.exercise_id = ANY(%s)
            UNION ALL
            SELECT e.id, %s FROM liaison_event e WHERE e.exercise_id = ANY(%s) AND e.subject_id::bigint %% 5 = 0""",
                       [exercise_ids, enisa.group_id, exercise_ids])
    if vacuum:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE " + ", ".join(TOUCHED))
    return exercise_ids


def remove_exercises(*, vacuum: bool = True) -> int:
    """Delete every benchmark exercise and everything in it; the live rows are not touched."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(array_agg(id), '{}') FROM liaison_exercise WHERE name LIKE %s",
                       [NAME_PREFIX + "%"])
        ids = cursor.fetchone()[0]
        if not ids:
            return 0
        cursor.execute("DELETE FROM liaison_eventaudience WHERE event_id IN "
                       "(SELECT id FROM liaison_event WHERE exercise_id = ANY(%s))", [ids])
        cursor.execute("DELETE FROM liaison_event WHERE exercise_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM incidents_incidentgroupobjectpermission WHERE content_object_id IN "
                       "(SELECT id FROM incidents_incident WHERE exercise_id = ANY(%s))", [ids])
        cursor.execute("DELETE FROM incidents_incident WHERE exercise_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM liaison_exercise_participants WHERE exercise_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM liaison_exercise WHERE id = ANY(%s)", [ids])
    if vacuum:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE " + ", ".join(TOUCHED))
    return len(ids)


# --- The reads ------------------------------------------------------------------------------------


def live_tail(limit: int) -> int:
    """``after`` for a window of the newest ``limit`` generated live events (exercise events are newer still).

    The generated events (bench/list_queries.py) have consecutive ids and are old: the window
    holds no id hole, whose age (young, then settled) would change the feed's query count
    within a run. The events written since (tokens issued by each run) follow gaps left by
    earlier runs' exercise events, so they are not part of it.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM liaison_event WHERE payload @> '{\"bench\": true}'")
        newest = cursor.fetchone()[0]
    if newest is None:
        raise SystemExit("no generated live events: bench/list_queries.py's generate_list_rows did not run")
    return max(0, newest - limit)


def readers(code: str, *, feed_after: int, ws_after: int) -> dict:
    """The three live reads for one organisation's token: name → a function returning what it read."""
    from django.db import connection
    from django.test import Client

    from liaison import consumers, selectors, services
    from liaison.models import Organisation

    org = Organisation.objects.get(code=code)
    token, raw = services.issue_api_token(actor=None, organisation=org, name="bench-exercises", scopes="read", days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    user = services.service_account_for(org)
    credential = selectors.StreamCredential(token_id=token.pk)
    group_ids = frozenset(user.groups.values_list("id", flat=True))  # a connection holds them from its start

    def incident_list():
        response = client.get("/api/v1/incidents/")
        assert response.status_code == 200, response.content[:300]
        return [row["id"] for row in json.loads(response.content)["results"]]

    def event_feed():
        response = client.get("/api/v1/events/", {"after": feed_after, "limit": FEED_LIMIT})
        assert response.status_code == 200, response.content[:300]
        body = json.loads(response.content)
        return [row["id"] for row in body["results"]], body["next_after"]

    def ws_catch_up():
        # What a live connection (no exercise) resuming at ``ws_after`` runs for one batch.
        events, horizon, _ = consumers._load(ws_after, consumers.READ_BATCH)
        candidates = [e for e in events if e.exercise_id is None and e.audience_ids & group_ids]
        visible = selectors.stream_visibility([(user, credential, candidates)])[0] if candidates else set()
        return sorted(visible), horizon

    page_sql = next(sql for sql in captured_sql(incident_list) if 'FROM "incidents_incident"' in sql and "LIMIT" in sql)

    def page_query():
        # The list's page query alone, as Django sent it: the part that steps over exercise rows, if anything does.
        with connection.cursor() as cursor:
            cursor.execute(page_sql)
            return [row[0] for row in cursor.fetchall()]

    page_query.sql = page_sql

    return {f"GET /api/v1/incidents/ first page ({code})": incident_list,
            f"incident list: its page query alone ({code})": page_query,
            f"GET /api/v1/events/ live tail ({code})": event_feed,
            f"websocket catch-up read, live tail ({code})": ws_catch_up}


def timed_in_turn(fns: dict, *, repeat: int, warmup: int = 2) -> dict[str, list[float]]:
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return samples


def plan_buffers(sql: str) -> int:
    """The buffers the query's plan touches (EXPLAIN ANALYZE): the work done, whatever the machine's load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)


def captured_sql(fn) -> list[str]:
    """The SQL ``fn`` sends, as sent (parameters in place)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    return [query["sql"] for query in captured.captured_queries]


def compare(name: str, without: list[float], with_: list[float], queries: tuple[int, int]) -> dict:
    """One table row: "with exercises" measured against "without" (the baseline), and its verdicts."""
    row = common.summary(name, with_, without)
    ratio = statistics.median(with_) / statistics.median(without)
    row.update(ratio_p50=round(ratio, 2), p95=common._round(common.percentile(with_, 95) * 1000),
               baseline_p95=common._round(common.percentile(without, 95) * 1000),
               queries_without=queries[0], queries_with=queries[1], goal_met=ratio <= GOAL)
    notes = [f"queries {queries[1]}" if queries[0] == queries[1] else ""]
    if queries[0] != queries[1]:
        row["flag"] = f"queries differ: {queries[0]} without, {queries[1]} with exercises"
    if ratio > GOAL:
        notes.append(f"over the {GOAL:.2f} goal")
    row["note"] = ", ".join(n for n in notes if n)
    return row


# --- Main -----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=common.SIZES, default="small")
    parser.add_argument("--repeat", type=int, default=None, help="timed calls per read and phase (default 5 small, 15 full)")
    args = parser.parse_args()
    size, spec = common.SIZES[args.size], SIZES[args.size]
    repeat = args.repeat or (5 if args.size == "small" else 15)

    common.setup_django()
    from django.core.management import call_command

    import incidents_list
    import list_queries

    common.progress("loading the demo network")
    call_command("load_demo", stdout=open("/dev/null", "w"))
    left = remove_exercises()
    if left:
        common.progress(f"removed {left} exercises an interrupted run had left")
    incidents_list.generate(size["incidents"], size["observables_per_incident"])
    list_queries.generate_list_rows(size["incidents"])

    n_ex, per = spec["exercises"], spec["objects"]
    reads = {}
    feed_after, ws_after = live_tail(FEED_LIMIT), live_tail(200)
    for code in USERS:
        reads.update(readers(code, feed_after=feed_after, ws_after=ws_after))
    samples = {state: {name: [] for name in reads} for state in (False, True)}
    queries: dict[bool, dict[str, int]] = {False: {}, True: {}}
    answers: dict[bool, dict[str, object]] = {False: {}, True: {}}
    buffers: dict[bool, dict[str, int]] = {False: {}, True: {}}
    present = False
    try:
        for phase, with_exercises in enumerate(PHASES):
            if with_exercises != present:
                started = time.perf_counter()
                if with_exercises:
                    add_exercises(n_ex, per)
                    common.progress(f"added {n_ex} running exercises × {per:,} incidents and {per:,} events "
                                    f"in {time.perf_counter() - started:.1f} s")
                else:
                    remove_exercises()
                    common.progress(f"removed them (and vacuumed) in {time.perf_counter() - started:.1f} s")
                present = with_exercises
            state = "with" if with_exercises else "without"
            common.progress(f"phase {phase + 1}/{len(PHASES)}: {len(reads)} reads × {repeat}, {state} exercises")
            for name, fn in reads.items():
                answer = fn()
                seen = answers[with_exercises].setdefault(name, answer)
                assert answer == seen, f"{name}: the answer changed within a state"
                queries[with_exercises].setdefault(name, len(captured_sql(fn)))
                if hasattr(fn, "sql"):
                    buffers[with_exercises].setdefault(name, plan_buffers(fn.sql))
            for name, own in timed_in_turn(reads, repeat=repeat).items():
                samples[with_exercises][name].extend(own)
    finally:
        remove_exercises()
        common.progress("exercise rows removed: the shared dataset is as generated")

    for name in reads:
        assert answers[True][name] == answers[False][name], \
            f"{name}: live work reads something else while exercises run"
    rows = [compare(name, samples[False][name], samples[True][name], (queries[False][name], queries[True][name]))
            for name in reads]
    for row in rows:
        if row["measurement"] in buffers[False]:
            row["buffers_without"], row["buffers_with"] = (buffers[state][row["measurement"]] for state in (False, True))
            row["note"] = ", ".join(filter(None, [row["note"], f"buffers {row['buffers_without']} → {row['buffers_with']}"]))

    title = (f"Exercise isolation ({args.size}: {size['incidents']:,} live incidents; {n_ex} running exercises × "
             f"{per:,} incidents and {per:,} events; baseline = the same read without them)")
    common.print_table(title, rows)
    print(f"\n{'read':58} {'without p50/p95':>18} {'with p50/p95':>18} {'ratio':>6}  same query count")
    for row in rows:
        print(f"{row['measurement']:58} {row['baseline_p50']:>8} /{row['baseline_p95']:>7} ms "
              f"{row['p50']:>8} /{row['p95']:>7} ms {row['ratio_p50']:>6}  "
              f"{'yes' if row['queries_with'] == row['queries_without'] else 'NO'} "
              f"({row['queries_without']} / {row['queries_with']})")
    for row in rows:
        if "buffers_with" in row:
            print(f"{row['measurement']}: {row['buffers_without']} buffers without exercises, "
                  f"{row['buffers_with']} with (EXPLAIN ANALYZE)")
    met = all(row["goal_met"] for row in rows)
    same = all(row["queries_with"] == row["queries_without"] for row in rows)
    print(f"\nsame query count: {'yes' if same else 'no'}; every ratio ≤ {GOAL:.2f}: {'yes' if met else 'no'}")
    path = common.write_results(f"exercise_isolation_{args.size}", {"title": title, "rows": rows, "goal": GOAL,
                                                                    "same_query_count": same, "goal_met": met})
    print(f"written to {path.relative_to(common.ROOT)}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
