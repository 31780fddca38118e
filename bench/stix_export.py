"""Benchmark: STIX 2.1 export of an incident with 10,000 observables, next to the bare rows as JSON.

    .venv/bin/python bench/stix_export.py --size small|full

Full mode only. Works in the incident dataset of bench/incidents_list.py (generated if
missing, kept between runs; ``BENCH_DATABASE_NAME``, default csoa_bench), so the
observables table around the exported incident has its realistic size (full: 1,000,000 rows).

An incident is reported through the services by de-csirt's analyst and given 10,000
observables of seven types (IPv4, IPv6, domains, URLs, e-mail addresses, SHA-256, CVEs)
through ``add_observables``. Measured: ``GET /api/v1/incidents/{id}/stix/`` with de-csirt's
token (the bundle: the incident, its organisation's identity, an indicator (a vulnerability
for a CVE) and a relationship per observable, TLP 2.0 markings). Baseline: the minimum any export does,
reading the same rows with raw SQL and serialising them with ``json.dumps``. The
incident is deleted afterwards, so the dataset stays as generated.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import incidents_list  # noqa: E402

SIZES = {"small": {"observables": 10_000, "repeat": 3}, "full": {"observables": 10_000, "repeat": 10}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="small")
    args = parser.parse_args()
    repeat, n = SIZES[args.size]["repeat"], SIZES[args.size]["observables"]
    size = common.SIZES[args.size]

    common.setup_django()
    from django.core.management import call_command
    from django.test import Client

    from incidents.models import Incident
    from liaison import services as liaison_services

    common.progress("loading the demo network")
    call_command("load_demo", stdout=open("/dev/null", "w"))
    incidents_list.generate(size["incidents"], size["observables_per_incident"])

    incident, added_in = common.incident_with_observables(
        n, title="Botnet C2 infrastructure (STIX bench)", description="10,000 indicators collected during the takedown.")
    org = incident.reporting_organisation
    try:
        _, raw_token = liaison_services.issue_api_token(actor=None, organisation=org, name="bench-stix",
                                                        scopes="read", days=1)
        client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
        url = f"/api/v1/incidents/{incident.pk}/stix/"
        sizes = []

        def export():
            response = client.get(url)
            assert response.status_code == 200, response.content[:300]
            sizes.append(len(response.content))
            return response

        bundle = json.loads(export().content)
        kinds = {}
        for obj in bundle["objects"]:
            kinds[obj["type"]] = kinds.get(obj["type"], 0) + 1
        assert kinds.get("indicator", 0) + kinds.get("vulnerability", 0) == n and kinds.get("relationship") == n, kinds
        assert len(json.loads(common.raw_observable_export(incident.pk))) == n

        common.progress(f"{repeat} STIX exports of {n:,} observables, and {repeat} raw ones")
        samples = common.timed(export, repeat=repeat, warmup=0)
        baseline = common.timed(lambda: common.raw_observable_export(incident.pk), repeat=repeat, warmup=1)
    finally:
        Incident.objects.filter(pk=incident.pk).delete()  # the generated dataset stays as it was

    rows = [common.summary(f"GET STIX bundle, incident with {n:,} observables", samples, baseline, unit="s")]
    title = f"STIX 2.1 export ({args.size}; baseline = the same rows by raw SQL, json.dumps)"
    common.print_table(title, rows)
    facts = {"bundle_bytes": sizes[-1], "objects": kinds, "add_observables_seconds": round(added_in, 2)}
    print(f"\nBundle: {sizes[-1] / 1e6:.1f} MB, objects {kinds}; "
          f"adding the {n:,} observables through the service took {added_in:.1f} s.")
    path = common.write_results(f"stix_export_{args.size}", {"title": title, "rows": rows, "facts": facts})
    print(f"written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
