"""Schemathesis fuzzes every operation of the served OpenAPI schema, as SOC tooling and as a browser.

The portal runs under uvicorn (the real ASGI application) on the test database, with a
seeded network: incidents of de-csirt (shared, with observables, a timeline, a report,
alerts), incidents it may not see, alerts addressed to it and a Reserve request it drafted. Schemathesis reads
``/api/schema/`` from that server and, for every operation the schema lists (operations
added later are fuzzed without editing this file), sends generated valid and invalid
requests with de-csirt's read+write token, then with a verified analyst's browser
session (cookie and CSRF token), checking each response:

- ``not_a_server_error``: no 5xx;
- ``status_code_conformance``: the status is one the operation documents;
- ``content_type_conformance``, ``response_headers_conformance``,
  ``response_schema_conformance``: the response is the one the schema describes.

Path parameters are mostly steered to objects that exist for the caller, read from the
API itself when an operation is first fuzzed (so objects the fuzzing created are used
too), and the event feed's long-poll ``wait`` is capped at one second, so requests reach
the handlers' logic and the run stays bounded.

``FUZZ_EXAMPLES`` (default 5) bounds the generated examples per operation in the token
run; the session run uses a third of them. ``make fuzz`` runs this module with many more.
"""

import os
import re
from datetime import timedelta

import pytest
import requests
import schemathesis
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from incidents import services as incident_services
from reserve import services as reserve_services
from tests.conftest import verified_client
from tests.e2e.browser import LiveServer
from tests.factories import member_state
from tests.reserve.factories import content as reserve_content

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SESSION_EXAMPLES = max(1, EXAMPLES // 3)
PHASES = os.environ.get("FUZZ_PHASES", "examples,coverage,fuzzing").split(",")
SESSION_PHASES = ["examples", "fuzzing"]
LONG_POLL_CAP_SECONDS = 1

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]

pytestmark = pytest.mark.timeout(int(os.environ.get("FUZZ_TIMEOUT", "1200")))


@pytest.fixture
def portal_url(transactional_db, settings):
    """The ASGI application under uvicorn on the test database."""
    from csoa_portal.asgi import application

    # Thousands of requests a minute from one token: no budget (and no counters left behind).
    settings.REST_FRAMEWORK = {**django_settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {}}
    server = LiveServer(application).start()
    yield server.url
    server.stop()


def _seed(network):
    """de-csirt's incidents in the states the API distinguishes, incidents it may not see, a Reserve request."""
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
    incident_services.report_incident(  # level 2: EU-CyCLONe alerted
        actor=de, organisation=de_org, title="Grid operator outage", aware_at=aware, tlp="green",
        national_capacity_exceeded=True,
    )
    incident_services.report_incident(actor=de, organisation=de_org, title="Named only", aware_at=aware, tlp="red")
    # FR's cross-border incident reaches level 1: the CSIRTs network, de-csirt included, is alerted.
    incident_services.report_incident(
        actor=fr, organisation=fr_org, title="Botnet across borders", aware_at=aware, tlp="green",
        affected_member_states=[member_state("FR"), member_state("DE")],
    )
    incident_services.report_incident(actor=fr, organisation=fr_org, title="French only", aware_at=aware, tlp="amber")
    # A Reserve request drafted by de-csirt for the shared incident.
    reserve_services.create_request(actor=de, organisation=de_org, **reserve_content([shared]))


class ExistingIdentifiers:
    """Identifiers the caller can see, read from the API: ``/x/{id}/…`` takes ids listed at ``/x/``.

    A parameter nested below an object (``/incidents/{id}/shares/{share_id}/``) takes the ids
    the object lists under that name (``shares``). Each operation reads its lists once, when
    it is first fuzzed.
    """

    def __init__(self, base_url: str, headers: dict):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers.update(headers)
        self.cache: dict[tuple[str, str], list] = {}

    def _get(self, url: str):
        try:
            response = self.http.get(self.base_url + url, params={"page_size": 100}, timeout=60)
        except requests.RequestException:
            return None
        if response.status_code != 200 or not response.headers.get("Content-Type", "").startswith("application/json"):
            return None
        return response.json()

    def _read(self, head: str, name: str) -> list:
        body = self._get(head)
        rows = body.get("results") if isinstance(body, dict) and "results" in body else body
        if rows is None:  # no list here: the parent object may list them, e.g. an incident's shares
            parent, _, field = head.rstrip("/").rpartition("/")
            body = self._get(parent + "/")
            rows = body.get(field) if isinstance(body, dict) else None
        rows = [row for row in rows or [] if isinstance(row, dict)]
        key = "code" if name == "code" else "id"
        return [row[key] for row in rows if key in row]

    def pool(self, label: str, head: str, name: str) -> list:
        if (label, head) not in self.cache:
            self.cache[(label, head)] = self._read(head, name)
        return self.cache[(label, head)]


def _seed_of(value) -> int | None:
    """A number derived from the generated value, so Hypothesis can still shrink and replay."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return abs(value)
    if isinstance(value, str):
        return len(value) + sum(map(ord, value[:8]))
    return None


def _hooks(schema, identifiers: ExistingIdentifiers):
    @schema.hook
    def map_path_parameters(context, path_parameters):
        """Four in five generated identifiers become ones that exist; the fifth stays as generated."""
        if not path_parameters:
            return path_parameters
        operation = context.operation
        steered = dict(path_parameters)
        for name in re.findall(r"\{(\w+)\}", operation.path):
            seed = _seed_of(path_parameters.get(name))
            if seed is None or not seed % 5:
                continue
            head = operation.path.split("{" + name + "}")[0]
            head = re.sub(r"\{(\w+)\}", lambda m: str(steered.get(m.group(1), "")), head)
            pool = identifiers.pool(operation.label, head, name)
            if pool:
                steered[name] = pool[seed % len(pool)]
        return steered

    @schema.hook
    def map_query(context, query):
        """A long-poll answers after ``wait`` seconds when nothing happens: keep fuzzing fast."""
        if query and isinstance(query.get("wait"), int) and query["wait"] > LONG_POLL_CAP_SECONDS:
            query = {**query, "wait": LONG_POLL_CAP_SECONDS}
        return query


def _schema(base_url: str, headers: dict, phases: list[str]) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{base_url}/api/schema/?format=json", timeout=120)
    schema.config.update(base_url=base_url, headers=headers, request_timeout=60)
    schema.config.phases.update(phases=phases)
    schema.config.generation.update(database="none", with_security_parameters=False)
    _hooks(schema, ExistingIdentifiers(base_url, headers))
    return schema


@pytest.fixture
def seeded_portal(portal_url, network):
    _seed(network)
    return portal_url


@pytest.fixture
def token_api(seeded_portal, network, token_for):
    """The schema fuzzed with de-csirt's read+write token."""
    token = token_for(network["orgs"]["de-csirt"], "read,write")
    return _schema(seeded_portal, {"Authorization": f"Bearer {token}"}, PHASES)


@pytest.fixture
def session_api(seeded_portal, network):
    """The schema fuzzed with a verified de-csirt analyst's session and its CSRF token."""
    session = verified_client(network["people"]["de_analyst"]).cookies[django_settings.SESSION_COOKIE_NAME].value
    csrf = "f" * 32  # any 32 characters: Django compares the cookie with the header
    return _schema(seeded_portal, {
        "Cookie": f"{django_settings.SESSION_COOKIE_NAME}={session}; {django_settings.CSRF_COOKIE_NAME}={csrf}",
        "X-CSRFToken": csrf,
    }, SESSION_PHASES)


def _settings(examples: int):
    return hypothesis_settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                               suppress_health_check=list(HealthCheck))


token_schema = schemathesis.pytest.from_fixture("token_api")
session_schema = schemathesis.pytest.from_fixture("session_api")


@token_schema.parametrize()
@_settings(EXAMPLES)
def test_every_operation_answers_as_documented_for_a_soc_token(case):
    case.call_and_validate(checks=CHECKS)


@session_schema.parametrize()
@_settings(SESSION_EXAMPLES)
def test_every_operation_answers_as_documented_for_a_verified_browser_session(case):
    case.call_and_validate(checks=CHECKS)
