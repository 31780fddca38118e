"""Schemathesis fuzzes every operation of the served OpenAPI schema, as SOC tooling and as a browser.

The portal runs under uvicorn (the real ASGI application) on the test database, with a
seeded network: incidents of the token's organisation (shared, with observables, a
timeline, a report, alerts), an incident it may not see, and alerts addressed to it.
Schemathesis reads ``/api/schema/`` from that server and, for every operation the schema
lists (so operations added later are fuzzed without editing this file), sends generated
valid and invalid requests, checking:

- no response is a server error (5xx);
- every status code, content type, header and body is the one the schema documents;
- every operation refuses a request without credentials (``ignored_auth``).

Path parameters are mostly steered to objects that exist (read from the API's own lists
before fuzzing), so requests reach the handlers' logic rather than stopping at 404.

``FUZZ_EXAMPLES`` (default 6) bounds the generated examples per operation and phase;
``make fuzz`` runs this module with many more.
"""

import os
from datetime import timedelta

import pytest
import requests
import schemathesis
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from incidents import services as incident_services
from liaison.models import MemberState
from tests.conftest import verified_client
from tests.e2e.browser import LiveServer
from tests.factories import member_state

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
# Phases and sizes are the fuzzing's budget; CI keeps the defaults, `make fuzz` raises them.
TIME_LIMIT = int(os.environ.get("FUZZ_TIMEOUT", "900"))

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]

pytestmark = [pytest.mark.timeout(TIME_LIMIT)]


@pytest.fixture
def portal_url(transactional_db, django_db_serialized_rollback, settings):
    """The ASGI application under uvicorn on the test database."""
    from csoa_portal.asgi import application

    # Thousands of requests a minute from one token: no budget (and no counters left behind).
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
    server = LiveServer(application).start()
    yield server.url
    server.stop()


def _incidents(network):
    """de-csirt's incidents in every state the API distinguishes, and one it may not see."""
    de, fr = network["people"]["de_analyst"], network["people"]["fr_analyst"]
    de_org, fr_org = network["orgs"]["de-csirt"], network["orgs"]["fr-csirt"]
    aware = timezone.now() - timedelta(hours=3)
    shared = incident_services.report_incident(
        actor=de, organisation=de_org, title="Wiper at a water utility", aware_at=aware, tlp="amber", severity="high",
        affected_member_states=[member_state("DE")],
    )
    incident_services.share_incident(actor=de, incident=shared, organisations=[fr_org],
                                     member_states=[member_state("PT")])
    incident_services.add_observables(actor=de, incident=shared, rows=[
        {"type": "ipv4", "value": "203.0.113.7"}, {"type": "domain", "value": "evil.example"},
        {"type": "sha256", "value": "a" * 64, "note": "dropper"},
    ])
    incident_services.add_timeline_entry(actor=de, incident=shared, text="Isolated the OT segment")
    incident_services.submit_report(actor=de, incident=shared, kind="early_warning",
                                    content={"summary": "Encrypted SCADA hosts"})
    crisis = incident_services.report_incident(
        actor=de, organisation=de_org, title="Grid operator outage", aware_at=aware, tlp="green",
        national_capacity_exceeded=True,  # level 2: EU-CyCLONe alerted
    )
    incident_services.report_incident(actor=de, organisation=de_org, title="Named only", aware_at=aware, tlp="red")
    # FR's cross-border incident reaches level 1: the CSIRTs network, de-csirt included, is alerted.
    incident_services.report_incident(
        actor=fr, organisation=fr_org, title="Botnet across borders", aware_at=aware, tlp="green",
        affected_member_states=[member_state("FR"), member_state("DE")],
    )
    incident_services.report_incident(actor=fr, organisation=fr_org, title="French only", aware_at=aware, tlp="amber")
    return shared, crisis


def _path_pools(base_url: str, headers: dict, schema: dict, shared_incident) -> dict[tuple[str, str], list]:
    """For each ``(collection path, parameter)``: identifiers the API itself lists there."""
    pools = {}
    for path, operations in schema["paths"].items():
        if "{" in path or "get" not in operations:
            continue
        response = requests.get(base_url + path, headers=headers, params={"page_size": 50}, timeout=30)
        if response.status_code != 200 or not response.headers["Content-Type"].startswith("application/json"):
            continue
        body = response.json()
        rows = body.get("results", []) if isinstance(body, dict) else body
        rows = [row for row in rows if isinstance(row, dict)]
        for key in ("id", "code"):
            values = [row[key] for row in rows if key in row]
            if values:
                pools[(path, key)] = values
    shares = list(shared_incident.shares.values_list("pk", flat=True))
    pools[("/api/v1/incidents/{id}/shares/", "share_id")] = shares
    return pools


def _steer_path_parameters(pools):
    """A ``map_path_parameters`` hook: most generated identifiers become ones that exist.

    The choice is a function of the generated value, so Hypothesis can still shrink and
    replay a failing case; every fifth value is left as generated (unknown ids, odd codes).
    """

    def map_path_parameters(context, path_parameters):
        if not path_parameters:
            return path_parameters
        path = context.operation.path
        steered = dict(path_parameters)
        for name, value in path_parameters.items():
            head = path.split("{" + name + "}")[0]
            pool = pools.get((head, "id" if name in ("id", "pk") else name)) or pools.get((head, "code"))
            if name == "share_id":
                pool = pools.get(("/api/v1/incidents/{id}/shares/", "share_id"))
            if not pool:
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                seed = value
            elif isinstance(value, str):
                seed = len(value) + sum(map(ord, value[:8]))
            else:
                continue
            if seed % 5:
                steered[name] = pool[seed % len(pool)]
        return steered

    return map_path_parameters


def _load(base_url: str, headers: dict, pools) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{base_url}/api/schema/?format=json")
    schema.config.update(base_url=base_url, headers=headers)
    schema.config.generation.update(database="none", with_security_parameters=False)
    schema.hook(_steer_path_parameters(pools))
    return schema


@pytest.fixture
def fuzz_world(portal_url, network, token_for):
    """The seeded portal, a de-csirt read+write token and a verified de-csirt analyst session."""
    shared, _ = _incidents(network)
    token = token_for(network["orgs"]["de-csirt"], "read,write")
    token_headers = {"Authorization": f"Bearer {token}"}
    session = verified_client(network["people"]["de_analyst"]).cookies[django_settings.SESSION_COOKIE_NAME].value
    csrf = "f" * 32  # any 32 characters: the double-submitted cookie and header must match
    session_headers = {
        "Cookie": f"{django_settings.SESSION_COOKIE_NAME}={session}; {django_settings.CSRF_COOKIE_NAME}={csrf}",
        "X-CSRFToken": csrf,
    }
    raw = requests.get(f"{portal_url}/api/schema/?format=json", timeout=30).json()
    pools = _path_pools(portal_url, token_headers, raw, shared)
    assert pools, "the API listed nothing to steer path parameters to"
    assert MemberState.objects.exists()
    return {"url": portal_url, "token_headers": token_headers, "session_headers": session_headers, "pools": pools}


@pytest.fixture
def token_api(fuzz_world):
    return _load(fuzz_world["url"], fuzz_world["token_headers"], fuzz_world["pools"])


@pytest.fixture
def session_api(fuzz_world):
    return _load(fuzz_world["url"], fuzz_world["session_headers"], fuzz_world["pools"])


FUZZ_SETTINGS = hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))

token_schema = schemathesis.pytest.from_fixture("token_api")
session_schema = schemathesis.pytest.from_fixture("session_api")


@token_schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_conforms_to_the_schema_for_a_soc_token(case):
    case.call_and_validate(checks=CHECKS)


@session_schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_conforms_to_the_schema_for_a_verified_browser_session(case):
    case.call_and_validate(checks=CHECKS)
