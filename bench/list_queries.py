"""Benchmark: queries per request of every API list endpoint, at 100 rows and at the full dataset.

    .venv/bin/python bench/list_queries.py --size small|full

Full mode only. A list whose query count grows with the data (an N+1) is slow at scale
whatever its timings at 100 rows, so the count must be the same at 100 incidents and at
100,000 (small: 2,000). The endpoints are not listed here: every GET of the OpenAPI schema
without path parameters whose 200 response is a list (a page with ``results``, or an array)
is measured, so endpoints added later are covered. A required query parameter is filled from
``SAMPLE_PARAMETERS`` by name (an endpoint needing another one is reported as skipped); the
event feed's window (``after``, ``limit``) holds the generated events, as many as it may, so its
page fills up too.

Two datasets, each generated once and kept between runs: 100 incidents in
``<BENCH_DATABASE_NAME>_rows100``, and the incident dataset of bench/incidents_list.py in
``BENCH_DATABASE_NAME`` (default csoa_bench). Beside every generated incident: an escalation,
an alert to the reporting CSIRT (and to ENISA for every fifth incident, the ones shared with
it), an ``incident.created`` event addressed to the same organisations, and one of its
observables set to an address seen everywhere (the ``value`` searched). Each side runs in
its own process (one Django database connection each); a request is made once to warm up,
then counted with ``CaptureQueriesContext`` through the test client, with the bearer token
of a national CSIRT (de-csirt) and of ENISA.

Every endpoint whose count differs, or that does not answer 200, is flagged in the table
and makes the run exit with status 1. The "baseline" of each row is the count at 100 rows.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import incidents_list  # noqa: E402

SMALL_ROWS = 100
USERS = ["de-csirt", "enisa"]
LIST_ROWS_CHECK = "SELECT count(*) FROM incidents_alert WHERE note = 'bench'"
SEEN_EVERYWHERE = "203.0.113.66"  # one observable of every generated incident: "who else saw this?" finds them all


def generate_list_rows(n_incidents: int) -> None:
    """An escalation, alerts and an event beside every generated incident (set-based SQL, kept)."""
    from django.db import connection

    from liaison.models import Organisation

    expected = n_incidents + n_incidents // 5
    spec = {"incidents": n_incidents}
    if common.dataset_ready("list_rows", spec, check_sql=LIST_ROWS_CHECK, expected=expected):
        common.progress(f"alerts and events beside the {n_incidents:,} incidents already present")
        return
    common.forget_dataset("list_rows")
    enisa = Organisation.objects.get(code="enisa")
    generated = "SELECT id FROM incidents_incident WHERE description = 'Generated for the benchmark'"
    with connection.cursor() as cursor:
        common.progress(f"escalations, alerts and events beside {n_incidents:,} incidents")
        cursor.execute("DELETE FROM incidents_alert WHERE note = 'bench'")
        cursor.execute("DELETE FROM incidents_escalation WHERE explanation = 'Generated for the benchmark'")
        cursor.execute("DELETE FROM liaison_eventaudience WHERE event_id IN "
                       "(SELECT id FROM liaison_event WHERE payload @> '{\"bench\": true}')")
        cursor.execute("DELETE FROM liaison_event WHERE payload @> '{\"bench\": true}'")
        cursor.execute(f"""
            INSERT INTO incidents_escalation (incident_id, from_level, to_level, rules, explanation, by_engine,
                reason, blueprint_version, incident_version, created_at)
            SELECT id, 0, 1, '[]', 'Generated for the benchmark', true, '', 1, 1, now() - interval '1 hour'
            FROM incidents_incident WHERE id IN ({generated})""")
        cursor.execute("""
            INSERT INTO incidents_alert (escalation_id, incident_id, organisation_id, level, state, created_at, note,
                disclosure)
            SELECT e.id, i.id, i.reporting_organisation_id, 1, 'notified', e.created_at, 'bench', 'shared'
            FROM incidents_escalation e JOIN incidents_incident i ON i.id = e.incident_id
            WHERE e.explanation = 'Generated for the benchmark'""")
        cursor.execute("""
            INSERT INTO incidents_alert (escalation_id, incident_id, organisation_id, level, state, created_at, note,
                disclosure)
            SELECT e.id, e.incident_id, %s, 1, 'notified', e.created_at, 'bench', 'shared'
            FROM incidents_escalation e
            WHERE e.explanation = 'Generated for the benchmark' AND e.incident_id %% 5 = 0""", [enisa.pk])
        cursor.execute(f"""
            INSERT INTO liaison_event (created_at, kind, subject_type, subject_id, actor_id, payload, published_at)
            SELECT created_at, 'incident.created', 'incident', id::text, reported_by_id,
                   jsonb_build_object('bench', true, 'title', title), created_at
            FROM incidents_incident WHERE id IN ({generated}) ORDER BY id""")
        cursor.execute("""
            INSERT INTO liaison_eventaudience (event_id, group_id)
            SELECT e.id, o.group_id FROM liaison_event e
            JOIN incidents_incident i ON i.id = e.subject_id::bigint
            JOIN liaison_organisation o ON o.id = i.reporting_organisation_id
            WHERE e.payload @> '{"bench": true}'
            UNION ALL
            SELECT e.id, %s FROM liaison_event e WHERE e.payload @> '{"bench": true}' AND e.subject_id::bigint %% 5 = 0""",
                       [enisa.group_id])
        cursor.execute(f"""
            UPDATE incidents_observable SET value = %s
            WHERE id IN (SELECT min(id) FROM incidents_observable WHERE incident_id IN ({generated})
                         GROUP BY incident_id)""", [SEEN_EVERYWHERE])
        cursor.execute("ANALYZE")
    common.mark_dataset("list_rows", spec)


BENCH_ENTITY = "Bench entity"
RESERVE_CHECK = f"SELECT count(*) FROM reserve_assistancerequest WHERE affected_entity LIKE '{BENCH_ENTITY} %'"


def reserve_requests_for(n_incidents: int) -> int:
    """Reserve requests are rarer than incidents: 2 beside 100 incidents, 40 beside 2,000, 120 beside 100,000."""
    return max(2, min(120, n_incidents // 50))


def generate_reserve_rows(n_incidents: int) -> str | None:
    """Assistance requests of de-csirt forwarded by its SPOC, through the Reserve's services (kept between runs).

    Returns why none could be made, if so (the table then notes the lists as not scaled).
    """
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from incidents.models import Incident
    from liaison.models import Organisation, User

    k = reserve_requests_for(n_incidents)
    spec = {"incidents": n_incidents, "requests": k}
    try:
        from reserve import services as reserve_services
    except ImportError:
        return "no reserve services"
    if common.dataset_ready("list_rows_reserve", spec, check_sql=RESERVE_CHECK, expected=k):
        common.progress(f"{k} Reserve requests already present")
        return None
    common.forget_dataset("list_rows_reserve")
    analyst = User.objects.filter(email="analyst@de-csirt.demo").first()
    spoc = User.objects.filter(email__endswith="@de-spoc.demo").first()
    csirt = Organisation.objects.get(code="de-csirt")
    if spoc is None:
        return "the demo network has no German SPOC to forward Reserve requests"
    with connection.cursor() as cursor:
        cursor.execute(RESERVE_CHECK)
        if cursor.fetchone()[0]:
            return "Reserve requests of an earlier generation are left (delete them or use a fresh database)"
    common.progress(f"{k} Reserve requests through the services (drafted, submitted, forwarded)")
    incidents = list(Incident.objects.filter(reporting_organisation=csirt,
                                             description="Generated for the benchmark").order_by("id")[:k])
    today = timezone.localdate()
    for i in range(k):
        request = reserve_services.create_request(
            actor=analyst, organisation=csirt, affected_entity=f"{BENCH_ENTITY} {i}", entity_type="essential",
            sector="energy.electricity", incidents=[incidents[i % len(incidents)]] if incidents else [],
            impact_description="Generated for the benchmark.", impact_level="severe",
            planned_use="Forensics and recovery.", services=["incident_response", "digital_forensics"],
            person_days=10 + i % 20, window_start=today + timedelta(days=1), window_end=today + timedelta(days=21),
            mitigation_measures="Isolated.", measures_level="substantial", measures_confirmed=True,
            other_support="None.", urgency="immediate", languages=["de", "en"], spill_over_risk="medium",
        )
        reserve_services.submit_request(actor=analyst, request=request)
        reserve_services.forward_request(actor=spoc, request=request, note="Generated for the benchmark.")
    common.mark_dataset("list_rows_reserve", spec)
    return None


def sample_parameters() -> dict[str, str]:
    """Values for query parameters by name: required ones, and the feed's window (``after``, ``limit``).

    The window holds the generated ``incident.created`` events only, as many as the schema's
    maximum ``limit`` allows: the feed checks each subject type once, so a window that also held
    the few token or Reserve events written after them would cost a query more per type, at
    100 rows only, whatever the code.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(min(id), 1) - 1, count(*) FROM liaison_event "
                       "WHERE payload @> '{\"bench\": true}'")
        after, generated = cursor.fetchone()
    return {"value": SEEN_EVERYWHERE, "after": str(after), "limit": str(max(1, generated))}


def list_endpoints(sample: dict[str, str]) -> tuple[list[tuple[str, dict]], list[dict]]:
    """(path, query) of every GET list without path parameters in the OpenAPI schema, and those skipped."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})

    def resolve(node):
        while isinstance(node, dict) and "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[-1]]
        return node or {}

    endpoints, skipped = [], []
    for path, operations in sorted(schema["paths"].items()):
        operation = operations.get("get")
        if operation is None or "{" in path:
            continue
        content = operation.get("responses", {}).get("200", {}).get("content", {})
        body = resolve(next(iter(content.values()), {}).get("schema")) if content else {}
        results = resolve(body.get("properties", {}).get("results"))
        if body.get("type") != "array" and results.get("type") != "array":
            continue
        query, missing = {}, []
        for parameter in operation.get("parameters", []):
            if parameter.get("in") != "query":
                continue
            name = parameter["name"]
            if name in sample and (parameter.get("required") or name == "after"):
                query[name] = sample[name]
            elif name == "limit" and "maximum" in parameter.get("schema", {}):
                query[name] = str(min(int(parameter["schema"]["maximum"]), int(sample.get("limit", 10 ** 9))))
            elif parameter.get("required"):
                missing.append(name)
        if missing:
            skipped.append({"path": path, "reason": f"needs the query parameter(s) {', '.join(missing)}"})
        else:
            endpoints.append((path, query))
    return endpoints, skipped


def measure(rows: int, per_incident: int, out: Path) -> None:
    """The child process: make sure the dataset is there, then count each list's queries."""
    common.setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from liaison import services
    from liaison.models import Organisation

    common.progress(f"[{rows:,} rows] loading the demo network ({common.BENCH_DB})")
    call_command("load_demo", stdout=open(os.devnull, "w"))
    incidents_list.generate(rows, per_incident)
    generate_list_rows(rows)
    reserve_problem = generate_reserve_rows(rows)
    if reserve_problem:
        common.progress(f"[{rows:,} rows] no Reserve requests generated: {reserve_problem}")
    endpoints, skipped = list_endpoints(sample_parameters())
    common.progress(f"[{rows:,} rows] counting the queries of {len(endpoints)} list endpoints "
                    f"for {' and '.join(USERS)}")
    counts = {}
    for code in USERS:
        org = Organisation.objects.get(code=code)
        _, raw_token = services.issue_api_token(actor=None, organisation=org, name="bench-queries", scopes="read", days=1)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
        for path, query in endpoints:
            client.get(path, query)  # warm-up: first-use caches are not the list's cost
            with CaptureQueriesContext(connection) as captured:
                response = client.get(path, query)
            items = None
            if response.status_code == 200:
                body = json.loads(response.content)
                items = len(body["results"] if isinstance(body, dict) else body)
            counts[f"{path} {code}"] = {"path": path, "user": code, "query": query, "status": response.status_code,
                                        "queries": len(captured.captured_queries), "items": items}
    out.write_text(json.dumps({"rows": rows, "counts": counts, "skipped": skipped, "reserve_problem": reserve_problem}))


def run_side(rows: int, per_incident: int, database: str) -> dict:
    """One dataset in its own process (its own database connection and Django caches)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        env = dict(os.environ, BENCH_DATABASE_NAME=database)
        subprocess.run([sys.executable, __file__, "--measure", str(rows), "--per-incident", str(per_incident),
                        "--out", str(out)], env=env, check=True)
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def compare(small: dict, large: dict) -> list[dict]:
    """One table row per (endpoint, user): the count at full size beside the count at 100 rows, flagged when they differ."""
    rows = []
    for key in sorted(set(small["counts"]) | set(large["counts"])):
        a, b = small["counts"].get(key), large["counts"].get(key)
        path, user = (a or b)["path"], (a or b)["user"]
        row = {"measurement": f"queries/request GET {path} ({user})", "unit": "queries", "n": 1,
               "p50": b and b["queries"], "p99": b and b["queries"],
               "baseline_p50": a and a["queries"], "baseline_p99": a and a["queries"],
               "ratio_p50": round(b["queries"] / a["queries"], 2) if a and b and a["queries"] else None,
               "items": [a and a["items"], b and b["items"]]}
        if a is None or b is None:
            row["flag"] = f"only measured at {'100' if b is None else 'full'} rows"
        elif a["status"] != b["status"] or a["status"] not in (200, 403, 404):
            row["flag"] = f"status {a['status']} / {b['status']}"
        elif a["queries"] != b["queries"]:
            row["flag"] = f"DIFFERS: {a['queries']} at {small['rows']:,} rows, {b['queries']} at {large['rows']:,}"
        elif a["status"] != 200:
            row["note"] = f"refused to this user ({a['status']})"
        elif a["items"] == b["items"]:
            row["note"] = f"same page at both sizes ({a['items']} items)"
        rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=common.SIZES, default="small")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--per-incident", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        measure(args.measure, args.per_incident, args.out)
        return 0

    size = common.SIZES[args.size]
    small = run_side(SMALL_ROWS, size["observables_per_incident"], f"{common.BENCH_DB}_rows100")
    large = run_side(size["incidents"], size["observables_per_incident"], common.BENCH_DB)

    rows = compare(small, large)
    flagged = [row for row in rows if "flag" in row]

    title = (f"Queries per request of every list endpoint ({args.size}: {large['rows']:,} incidents; "
             f"baseline = the same request at {small['rows']:,})")
    common.print_table(title, rows)
    print("\nItems on the page (100 rows / full): "
          + ", ".join(f"{r['measurement'].removeprefix('queries/request GET ')}: {r['items'][0]} / {r['items'][1]}"
                      for r in rows))
    for skip in large["skipped"]:
        print(f"skipped {skip['path']}: {skip['reason']}")
    for row in flagged:
        print(f"FLAGGED {row['measurement']}: {row['flag']}")
    if not flagged:
        print(f"All {len(rows)} lists cost the same number of queries at {small['rows']:,} and {large['rows']:,} rows.")
    path = common.write_results(f"list_queries_{args.size}", {
        "title": title, "rows": rows, "skipped": large["skipped"], "flagged": [r["measurement"] for r in flagged],
        "rows_small": small["rows"], "rows_large": large["rows"],
    })
    print(f"written to {path.relative_to(common.ROOT)}")
    return 1 if flagged else 0


if __name__ == "__main__":
    sys.exit(main())
