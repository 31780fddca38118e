"""Benchmark: the incident list API at scale, next to the raw SQL for the same rows.

    .venv/bin/python bench/incidents_list.py --size small|full

Full size: 100,000 incidents across the 27 member states' CSIRTs, 1,000,000 observables,
300,000 deadlines, a fifth of the incidents shared with ENISA. Measures, for a national
analyst's token (de-csirt) and for ENISA's, the first page of GET /api/v1/incidents/ and a
filtered page, each next to hand-written SQL fetching the same page (rows, member states,
sectors, deadlines), in process (Django's test client); the first page again over HTTP, served
by a real server process on loopback (the production command, as bench/api_create.py starts
it; ``--no-http`` skips it), next to the same SQL in the same run; the number of queries per
request; and the time to add 10,000 observables in one POST, next to one multi-row INSERT of
the same rows.

The generated dataset is kept in the bench database (``BENCH_DATABASE_NAME``, default
csoa_bench) and reused by the next run; bench/list_queries.py, bench/stix_export.py and
bench/api_create.py work on it too.
"""

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402


GENERATED_COUNT = "SELECT count(*) FROM incidents_incident WHERE description = 'Generated for the benchmark'"


def generate(n_incidents: int, per_incident: int) -> None:
    """Fill the incident tables with set-based SQL (seconds, not hours); kept for the next run.

    Benchmarks that add incidents to this dataset delete them again, so it stays as generated.
    """
    from django.contrib.auth.models import Permission
    from django.db import connection

    from liaison.models import Organisation

    spec = {"incidents": n_incidents, "observables_per_incident": per_incident}
    if common.dataset_ready("incidents", spec, check_sql=GENERATED_COUNT, expected=n_incidents):
        common.progress(f"dataset of {n_incidents:,} incidents already present (kept from an earlier run)")
        # The reports other benchmarks added and deleted leave dead rows and stale statistics: the raw SQL
        # baseline of the list ran at twice its time on such a database (2026-12-07).
        with connection.cursor() as cursor:
            for table in ("incidents_incident", "incidents_incidentgroupobjectpermission", "incidents_deadline",
                          "incidents_incident_affected_member_states", "incidents_incident_sectors"):
                cursor.execute(f"VACUUM ANALYZE {table}")
        return
    common.forget_dataset("incidents")
    with connection.cursor() as cursor:
        common.progress("clearing incident tables")
        cursor.execute(
            "TRUNCATE incidents_incident, incidents_observable, incidents_deadline, incidents_share, "
            "incidents_report, incidents_timelineentry, incidents_attachment, incidents_incidentgroupobjectpermission, "
            "incidents_incident_affected_member_states, incidents_incident_sectors RESTART IDENTITY CASCADE"
        )
    csirts = list(
        Organisation.objects.filter(kind="national_csirt", member_state__kind="eu_member")
        .select_related("member_state").order_by("code")
    )
    analysts = [org.memberships.filter(role="analyst").values_list("user_id", flat=True).first() for org in csirts]
    enisa = Organisation.objects.get(code="enisa")
    view = Permission.objects.get(codename="view_incident", content_type__app_label="incidents").pk
    change = Permission.objects.get(codename="change_incident", content_type__app_label="incidents").pk
    k = len(csirts)
    org_ids = "ARRAY[" + ",".join(str(o.pk) for o in csirts) + "]"
    user_ids = "ARRAY[" + ",".join(str(u) for u in analysts) + "]"
    group_ids = "ARRAY[" + ",".join(str(o.group_id) for o in csirts) + "]"
    ms_ids = "ARRAY[" + ",".join(str(o.member_state_id) for o in csirts) + "]"
    with connection.cursor() as cursor:
        common.progress(f"inserting {n_incidents:,} incidents")
        cursor.execute(f"""
            INSERT INTO incidents_incident (title, description, reporting_organisation_id, reported_by_id, entity_type,
                severity, national_capacity_exceeded, technical_cooperation_requested, aware_at, tlp, status, crisis_level,
                declared_level, version, evaluated_version, created_at, updated_at,
                significance, significance_grounds, significance_explanation, ipcr_mode, stix_id, misp_uuid)
            SELECT 'Incident ' || g, 'Generated for the benchmark', ({org_ids})[1 + g % {k}], ({user_ids})[1 + g % {k}],
                'essential', (ARRAY['low','medium','high','critical'])[1 + g % 4], false, false,
                now() - (g || ' minutes')::interval, (ARRAY['amber','green','amber+strict','clear'])[1 + g % 4],
                (ARRAY['open','contained','resolved','closed'])[1 + (g / 7) % 4], g % 3, 0, 1, 1,
                now() - (g || ' minutes')::interval, now() - (g || ' minutes')::interval,
                'significant', '["operational_disruption"]'::jsonb, '', '', gen_random_uuid(), gen_random_uuid()
            FROM generate_series(1, {n_incidents}) g""")
        common.progress("granting the reporting organisations and ENISA (every fifth incident)")
        cursor.execute(f"""
            INSERT INTO incidents_incidentgroupobjectpermission (permission_id, group_id, content_object_id)
            SELECT p, ({group_ids})[1 + i.id % {k}], i.id FROM incidents_incident i, unnest(ARRAY[{view}, {change}]) p""")
        cursor.execute(f"""
            INSERT INTO incidents_incidentgroupobjectpermission (permission_id, group_id, content_object_id)
            SELECT {view}, {enisa.group_id}, id FROM incidents_incident WHERE id % 5 = 0""")
        cursor.execute(f"""
            INSERT INTO incidents_share (incident_id, target_kind, group_id, label, shared_at)
            SELECT id, 'organisation', {enisa.group_id}, 'ENISA', now() FROM incidents_incident WHERE id % 5 = 0""")
        common.progress("affected member states, sectors and deadlines")
        cursor.execute(f"""
            INSERT INTO incidents_incident_affected_member_states (incident_id, memberstate_id)
            SELECT id, ({ms_ids})[1 + id % {k}] FROM incidents_incident
            UNION ALL SELECT id, ({ms_ids})[1 + (id + 1) % {k}] FROM incidents_incident WHERE id % 10 = 0""")
        cursor.execute("""
            INSERT INTO incidents_incident_sectors (incident_id, sector_id)
            SELECT i.id, s.id FROM incidents_incident i
            JOIN (SELECT id, row_number() OVER (ORDER BY code) - 1 AS n FROM incidents_sector WHERE parent_id IS NULL) s
              ON s.n = i.id % 18""")
        cursor.execute("""
            INSERT INTO incidents_deadline (incident_id, clock, sequence, due_at, met_at)
            SELECT id, c.clock, 0, aware_at + c.delay, CASE WHEN id % 3 = 0 THEN aware_at + interval '1 hour' END
            FROM incidents_incident,
                 (VALUES ('early_warning', interval '24 hours'), ('notification', interval '72 hours'),
                         ('final_report', interval '33 days')) AS c(clock, delay)""")
        common.progress(f"inserting {n_incidents * per_incident:,} observables")
        cursor.execute(f"""
            INSERT INTO incidents_observable (incident_id, type, value, tlp, note, created_at, created_by_id,
                                              stix_id, stix_relationship_id)
            SELECT i.id, 'ipv4',
                   ((i.id * {per_incident} + n) >> 16 & 255) || '.' || ((i.id * {per_incident} + n) >> 8 & 255) || '.'
                   || ((i.id * {per_incident} + n) & 255) || '.' || (n % 250 + 1),
                   i.tlp, '', now(), i.reported_by_id, gen_random_uuid(), gen_random_uuid()
            FROM incidents_incident i, generate_series(1, {per_incident}) n""")
        cursor.execute("ANALYZE")
    common.mark_dataset("incidents", spec)


RAW_PAGE = """
    SELECT i.id, i.title, i.status, i.tlp, i.severity, i.crisis_level, o.code, c.code, i.aware_at, i.created_at,
           i.updated_at, i.version
    FROM incidents_incident i
    JOIN liaison_organisation o ON o.id = i.reporting_organisation_id
    LEFT JOIN incidents_incidentcategory c ON c.id = i.category_id
    WHERE i.id IN (SELECT content_object_id FROM incidents_incidentgroupobjectpermission
                   WHERE permission_id = %s AND group_id = ANY(%s)) {extra}
    ORDER BY i.id DESC LIMIT 50"""


def raw_page(view_perm: int, group_ids: list[int], extra: str = "", params=()) -> list:
    """The hand-written baseline: the same page and its related rows in four queries."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(RAW_PAGE.format(extra=extra), [view_perm, group_ids, *params])
        rows = cursor.fetchall()
        ids = [r[0] for r in rows]
        cursor.execute("SELECT a.incident_id, m.code FROM incidents_incident_affected_member_states a "
                       "JOIN liaison_memberstate m ON m.id = a.memberstate_id WHERE a.incident_id = ANY(%s)", [ids])
        cursor.fetchall()
        cursor.execute("SELECT s.incident_id, x.code FROM incidents_incident_sectors s "
                       "JOIN incidents_sector x ON x.id = s.sector_id WHERE s.incident_id = ANY(%s)", [ids])
        cursor.fetchall()
        cursor.execute("SELECT incident_id, clock, due_at, met_at FROM incidents_deadline WHERE incident_id = ANY(%s)", [ids])
        cursor.fetchall()
    return rows


def timed_in_turn(*fns, repeat: int, warmup: int = 3) -> list[list[float]]:
    """Seconds per call of each function, called in turn (a, b, a, b …) rather than block after block.

    On a shared machine the load drifts within seconds: timed one block after the other, the API
    and its baseline met different loads and their ratio moved by 2× between runs.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples = [[] for _ in fns]
    for _ in range(repeat):
        for fn, own in zip(fns, samples):
            start = time.perf_counter()
            fn()
            own.append(time.perf_counter() - start)
    return samples


def _throwaway_incident(org, title: str):
    """An incident outside the generated dataset (deleted again by the caller)."""
    from guardian.shortcuts import assign_perm

    from incidents.models import Incident
    from liaison import services

    incident = Incident.objects.create(
        title=title, reporting_organisation=org, reported_by=services.service_account_for(org),
        aware_at=Incident._meta.get_field("created_at").default(), tlp="amber",
    )
    assign_perm("incidents.view_incident", org.group, incident)
    assign_perm("incidents.change_incident", org.group, incident)
    return incident


def bench_bulk_add(attempts: int = 3) -> dict:
    """POST 10,000 observables in one call; baseline: one multi-row INSERT of the same rows."""
    from django.db import connection, transaction
    from django.test import Client
    from psycopg2.extras import execute_values

    from incidents.models import Incident
    from liaison import services
    from liaison.models import Organisation

    org = Organisation.objects.get(code="de-csirt")
    principal = services.service_account_for(org)
    _, raw_token = services.issue_api_token(actor=None, organisation=org, name="bench-bulk", scopes="read,write", days=1)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    common.progress(f"{attempts} bulk adds of 10,000 observables, each beside a raw INSERT of the same rows")
    created, samples, baseline = [], [], []
    try:
        for attempt in range(attempts):
            values = [f"10.{attempt}.{n // 256}.{n % 256}" for n in range(10_000)]
            incident = _throwaway_incident(org, f"bulk {attempt}")
            created.append(incident.pk)
            payload = json.dumps({"observables": [{"type": "ipv4", "value": v} for v in values]})
            start = time.perf_counter()
            response = client.post(f"/api/v1/incidents/{incident.pk}/observables/", payload,
                                   content_type="application/json")
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200 and response.json()["created"] == 10_000, response.content[:300]

            raw_target = _throwaway_incident(org, f"bulk raw {attempt}")
            created.append(raw_target.pk)
            start = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                execute_values(
                    cursor.cursor,
                    "INSERT INTO incidents_observable (incident_id, type, value, tlp, note, created_at, created_by_id, "
                    "stix_id, stix_relationship_id) VALUES %s",
                    [(raw_target.pk, "ipv4", v, "amber", "", raw_target.created_at, principal.pk, str(uuid.uuid4()),
                      str(uuid.uuid4())) for v in values],
                    page_size=1000,
                )
            baseline.append(time.perf_counter() - start)
    finally:
        Incident.objects.filter(pk__in=created).delete()  # the generated dataset stays as it was
    return common.summary("POST 10,000 observables in one call", samples, baseline, unit="s")


def bench_http(tokens: dict[str, str], view_perm: int, groups: dict[str, list[int]], *, repeat: int) -> list[dict]:
    """The first page over HTTP from a real server process on loopback, beside the raw SQL, in turn.

    The server is the production command of the API (``bench/api_create.py``'s ``wsgi``: gunicorn,
    one worker here, persistent database connections, ``DJANGO_ENV=production``) on a random
    port; one keep-alive client sends one request at a time, so the figure is a request's
    latency (server, middleware, JSON, the socket), not a throughput.
    """
    import http.client
    import tempfile

    import api_create

    port = common.free_port()
    log_path = Path(tempfile.mkdtemp(prefix="bench-list-")) / "wsgi.log"
    common.progress(f"first page over HTTP: starting gunicorn (1 worker, production settings) on port {port}")
    server = api_create.start_server("wsgi", port, workers=1, threads=2, log_path=log_path)
    rows = []
    try:
        api_create.wait_ready(server, port, log_path)
        for code, token in tokens.items():
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https", "Accept": "application/json"}

            def over_http(client=client, headers=headers):
                client.request("GET", "/api/v1/incidents/", headers=headers)
                response = client.getresponse()
                content = response.read()
                assert response.status == 200, content[:300]
                return content

            expected = [r[0] for r in raw_page(view_perm, groups[code])]
            assert [i["id"] for i in json.loads(over_http())["results"]] == expected, \
                "API over HTTP and raw SQL disagree on the page"
            api, raw = timed_in_turn(over_http, lambda code=code: raw_page(view_perm, groups[code]), repeat=repeat)
            client.close()
            rows.append(common.summary(f"GET incidents first page over HTTP ({code})", api, raw))
    finally:
        api_create.stop_server(server)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=common.SIZES, default="small")
    parser.add_argument("--repeat", type=int, default=None, help="requests per measurement (default 30 small, 100 full)")
    parser.add_argument("--no-http", action="store_true", help="skip the first page over HTTP (no server started)")
    args = parser.parse_args()
    size = common.SIZES[args.size]
    repeat = args.repeat or (30 if args.size == "small" else 100)

    common.setup_django()
    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from liaison import services
    from liaison.models import Organisation

    common.progress("loading the demo network")
    call_command("load_demo", stdout=open("/dev/null", "w"))
    started = time.perf_counter()
    generate(size["incidents"], size["observables_per_incident"])
    common.progress(f"dataset ready in {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM incidents_incident")
        n_incidents = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM incidents_observable")
        n_observables = cursor.fetchone()[0]

    view = Permission.objects.get(codename="view_incident", content_type__app_label="incidents").pk
    rows, queries, tokens, groups = [], {}, {}, {}
    for code in ["de-csirt", "enisa"]:
        org = Organisation.objects.get(code=code)
        _, raw_token = services.issue_api_token(actor=None, organisation=org, name="bench", scopes="read,write", days=1)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
        principal = services.service_account_for(org)
        group_ids = list(principal.groups.values_list("id", flat=True))
        tokens[code], groups[code] = raw_token, group_ids
        cases = [
            ("first page", "/api/v1/incidents/", "", ()),
            ("filtered: severity=high&status=open", "/api/v1/incidents/?severity=high&status=open",
             "AND i.severity = %s AND i.status = %s", ("high", "open")),
        ]
        for label, url, extra, params in cases:
            def api_call(url=url):
                response = client.get(url)
                assert response.status_code == 200, response.content[:300]
                return response

            body = json.loads(api_call().content)
            expected = [r[0] for r in raw_page(view, group_ids, extra, params)]
            assert [i["id"] for i in body["results"]] == expected, "API and raw SQL disagree on the page"
            api, raw = timed_in_turn(api_call, lambda extra=extra, params=params: raw_page(view, group_ids, extra, params),
                                     repeat=repeat)
            rows.append(common.summary(f"GET incidents {label} ({code})", api, raw))
            with CaptureQueriesContext(connection) as captured:
                api_call()
            queries[f"{code} {label}"] = len(captured.captured_queries)

    if not args.no_http:
        rows.extend(bench_http(tokens, view, groups, repeat=repeat))
    rows.append(bench_bulk_add())

    title = f"Incident list ({args.size}: {n_incidents:,} incidents, {n_observables:,} observables; baseline = raw SQL)"
    common.print_table(title, rows)
    print("\nQueries per list request:", ", ".join(f"{k}: {v}" for k, v in queries.items()))
    path = common.write_results(f"incidents_list_{args.size}", {"title": title, "rows": rows, "queries": queries})
    print(f"written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
