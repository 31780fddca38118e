"""Benchmark: the MISP export of an incident with 10,000 observables, and the MISP feed's manifest for an
organisation seeing every incident of the dataset (full: 100,000), each next to the bare rows as JSON.

    .venv/bin/python bench/misp_export.py --size small|full

Full mode only. Works in the incident dataset of bench/incidents_list.py (generated if missing, kept
between runs; ``BENCH_DATABASE_NAME``, default csoa_bench).

Export: an incident reported through the services by de-csirt's analyst, given observables of seven
types through ``add_observables`` (small: 2,000; full: 10,000). Measured: ``GET
/api/v1/incidents/{id}/misp/`` with de-csirt's token (a PyMISP ``MISPEvent``: an attribute per
observable, a ``file`` object per hash, TLP and taxonomy tags). Baseline: the same rows by raw SQL,
``json.dumps``.

Manifest: CERT-EU is granted every generated incident for the run (one INSERT … SELECT into the grant
table, removed afterwards). Measured: ``GET /api/v1/misp-feed/manifest.json`` with CERT-EU's token;
baseline: the manifest's columns of the same incidents by one raw SQL join, ``json.dumps``. Both the
incident and the grants are deleted afterwards, so the dataset stays as generated.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import incidents_list  # noqa: E402

SIZES = {"small": {"observables": 2_000, "repeat": 3}, "full": {"observables": 10_000, "repeat": 10}}

RAW_MANIFEST = """
    SELECT i.misp_uuid, i.title, i.aware_at, i.severity, i.status, i.tlp, i.updated_at, o.name, c.code
    FROM incidents_incident i
    JOIN liaison_organisation o ON o.id = i.reporting_organisation_id
    LEFT JOIN incidents_incidentcategory c ON c.id = i.category_id
    WHERE EXISTS (SELECT 1 FROM incidents_incidentgroupobjectpermission g
                  WHERE g.content_object_id = i.id AND g.permission_id = %s AND g.group_id = %s)"""


def raw_manifest(permission_id: int, group_id: int) -> bytes:
    """The baseline: the manifest's columns of the visible incidents by hand-written SQL, dumped as JSON."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(RAW_MANIFEST, [permission_id, group_id])
        rows = {str(row[0]): row[1:] for row in cursor.fetchall()}
    return json.dumps(rows, default=str).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="small")
    args = parser.parse_args()
    repeat, n = SIZES[args.size]["repeat"], SIZES[args.size]["observables"]
    size = common.SIZES[args.size]

    common.setup_django()
    from django.contrib.auth.models import Permission
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from incidents.models import Incident, IncidentGroupObjectPermission
    from liaison import services as liaison_services
    from liaison.models import Organisation

    common.progress("loading the demo network")
    call_command("load_demo", stdout=open("/dev/null", "w"))
    incidents_list.generate(size["incidents"], size["observables_per_incident"])

    reader = Organisation.objects.get(code="cert-eu")
    view = Permission.objects.get(codename="view_incident", content_type__app_label="incidents").pk
    incident, _ = common.incident_with_observables(
        n, title="Botnet C2 infrastructure (MISP bench)", description="Indicators collected during the takedown.")
    org = incident.reporting_organisation
    granted_before = set(IncidentGroupObjectPermission.objects.filter(group_id=reader.group_id, permission_id=view)
                         .values_list("pk", flat=True))
    try:
        def client_of(organisation, name):
            _, raw = liaison_services.issue_api_token(actor=None, organisation=organisation, name=name,
                                                      scopes="read", days=1)
            return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

        de_tool, eu_tool = client_of(org, "bench-misp"), client_of(reader, "bench-misp-feed")
        sizes = {}

        def export():
            response = de_tool.get(f"/api/v1/incidents/{incident.pk}/misp/")
            assert response.status_code == 200, response.content[:300]
            sizes["event"] = len(response.content)
            return response

        event = json.loads(export().content)["Event"]
        attributes = len(event.get("Attribute", [])) + sum(len(o["Attribute"]) for o in event.get("Object", []))
        assert attributes == n, attributes
        common.progress(f"{repeat} MISP exports of {n:,} observables, and {repeat} raw ones")
        export_samples = common.timed(export, repeat=repeat, warmup=0)
        export_baseline = common.timed(lambda: common.raw_observable_export(incident.pk), repeat=repeat, warmup=1)

        common.progress("granting CERT-EU every incident for the feed")
        with connection.cursor() as cursor:
            cursor.execute("""
                INSERT INTO incidents_incidentgroupobjectpermission (permission_id, group_id, content_object_id)
                SELECT %s, %s, i.id FROM incidents_incident i
                ON CONFLICT DO NOTHING""", [view, reader.group_id])
        visible = Incident.objects.count()

        def manifest():
            response = eu_tool.get("/api/v1/misp-feed/manifest.json")
            assert response.status_code == 200, response.content[:300]
            sizes["manifest"] = len(response.content)
            return response

        assert len(json.loads(manifest().content)) == visible
        assert len(json.loads(raw_manifest(view, reader.group_id))) == visible
        common.progress(f"{repeat} feed manifests of {visible:,} incidents, and {repeat} raw ones")
        start = time.perf_counter()
        manifest_samples = common.timed(manifest, repeat=repeat, warmup=0)
        manifest_baseline = common.timed(lambda: raw_manifest(view, reader.group_id), repeat=repeat, warmup=1)
        elapsed = time.perf_counter() - start
    finally:
        IncidentGroupObjectPermission.objects.filter(group_id=reader.group_id, permission_id=view).exclude(
            pk__in=granted_before).delete()
        Incident.objects.filter(pk=incident.pk).delete()  # the generated dataset stays as it was

    rows = [
        common.summary(f"GET MISP event, incident with {n:,} observables", export_samples, export_baseline, unit="s"),
        common.summary(f"GET MISP feed manifest, {visible:,} incidents", manifest_samples, manifest_baseline,
                       unit="s"),
    ]
    title = f"MISP export and feed ({args.size}; baseline = the same rows by raw SQL, json.dumps)"
    common.print_table(title, rows)
    facts = {"event_bytes": sizes["event"], "manifest_bytes": sizes["manifest"], "attributes": n,
             "incidents_in_manifest": visible, "manifest_phase_seconds": round(elapsed, 1)}
    print(f"\nEvent: {sizes['event'] / 1e6:.1f} MB for {n:,} attributes; manifest: {sizes['manifest'] / 1e6:.1f} MB "
          f"for {visible:,} incidents.")
    path = common.write_results(f"misp_export_{args.size}", {"title": title, "rows": rows, "facts": facts})
    print(f"written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
