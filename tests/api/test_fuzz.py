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

Hostile input (``csoa_portal.input_rules``, docs/security.md) is mixed into what is
generated, for every operation: about half the bodies and query strings, and one path in
four, have one value turned into a NUL or a lone UTF-16 surrogate in text, an integer
beyond 64 bits, a date-time at the edge of the range or with an offset no time zone has,
or JSON nested beyond the depth the portal accepts (a body of thousands of levels too).
Each must be answered with a documented 4xx, never a 5xx.

``FUZZ_EXAMPLES`` (default 5) bounds the generated examples per operation in the token
run; the session run uses a third of them. ``make fuzz`` runs this module with many more.
"""

import json
import os
import re
from datetime import timedelta

import pytest
import requests
import schemathesis
from django.conf import settings as django_settings
from django.utils import timezone
from hypothesis import HealthCheck, find
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from csoa_portal.input_rules import MAX_DEPTH

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

pytestmark = [pytest.mark.timeout(int(os.environ.get("FUZZ_TIMEOUT", "1200"))), pytest.mark.exhaustive]


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


# --- hostile input: one value of a generated request turned into one class of csoa_portal.input_rules ---------

NUL, SURROGATE = "\x00", "\ud800"
BEYOND_64_BITS = 10**30
ID_BEYOND_64_BITS = "99999999999999999999"
EDGE_DATETIMES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-11-23T08:00:00+18:48")
NESTED = 4 * MAX_DEPTH  # deeper than the portal accepts, shallower than the client's JSON encoder can write
RAW_DEEP_BODY = b"[" * 5000 + b"]" * 5000  # sent as is: Python's parser ran out of stack on it


def _nested(depth: int):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _paths(value, path=()):
    """Where the leaves of a JSON value are (keys and indexes), the value itself first."""
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _replaced(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replaced(copy[path[0]], path[1:], new)
    return copy


def _at(value, path):
    for step in path:
        value = value[step]
    return value


def _text_with(character: str):
    return lambda leaf: f"{leaf if isinstance(leaf, str) else 'x'}{character}"


BODY_CLASSES = {
    "nul": _text_with(NUL), "surrogate": _text_with(SURROGATE), "integer": lambda leaf: BEYOND_64_BITS,
    "negative integer": lambda leaf: -BEYOND_64_BITS, "date-time": lambda leaf: EDGE_DATETIMES[0],
    "date-time west": lambda leaf: EDGE_DATETIMES[1], "utc offset": lambda leaf: EDGE_DATETIMES[2],
    "nesting": lambda leaf: _nested(NESTED),
}
# Query strings and paths carry no lone surrogates (they are UTF-8 on the wire) and no JSON.
QUERY_CLASSES = {"nul": _text_with(NUL), "integer": lambda leaf: ID_BEYOND_64_BITS,
                 "date-time": lambda leaf: EDGE_DATETIMES[0], "date-time west": lambda leaf: EDGE_DATETIMES[1],
                 "utc offset": lambda leaf: EDGE_DATETIMES[2]}
PATH_CLASSES = {"nul": _text_with(NUL), "integer": lambda leaf: ID_BEYOND_64_BITS}
# A lone surrogate cannot be written into a multipart body at all: the client failed to encode it (a
# UnicodeEncodeError in the test, no request sent) whenever such a body was drawn for an upload operation.
MULTIPART_CLASSES = {name: change for name, change in BODY_CLASSES.items() if name != "surrogate"}


def _takes_multipart(context) -> bool:
    operation = getattr(context, "operation", None)
    return any("multipart" in (body.media_type or "") for body in getattr(operation, "body", None) or ())


def hostile(value, classes: dict, *, one_in: int = 2, raw=None) -> st.SearchStrategy:
    """``value`` as generated, or (one time in ``one_in``) with one of its values turned hostile.

    Drawn by Hypothesis, so a failing case shrinks and replays like any other. ``raw``: a
    whole replacement value that is also hostile (the body nested thousands of levels deep).
    """
    places = [path for path in _paths(value) if path or not isinstance(value, (dict, list))] if value else []
    turned = [st.tuples(st.sampled_from(places), st.sampled_from(sorted(classes))).map(
        lambda choice: _replaced(value, choice[0], classes[choice[1]](_at(value, choice[0]))))] if places else []
    if raw is not None:
        turned.append(st.just(raw))
    if not turned:
        return st.just(value)
    return st.one_of(*[st.just(value)] * (one_in - 1), *turned)


def test_the_fuzzer_sends_every_class_of_hostile_input():
    """The hooks below reach each class (a guard against a refactoring that silently drops one)."""
    body = {"title": "Wiper", "aware_at": "2026-11-23T08:00:00Z", "rows": [{"n": 1}]}
    def sent_as(value) -> str:
        return value.decode() if isinstance(value, bytes) else json.dumps(value)

    sent = {
        "nul": lambda v: "\\u0000" in sent_as(v), "surrogate": lambda v: "\\ud800" in sent_as(v),
        "integer": lambda v: str(BEYOND_64_BITS) in sent_as(v), "date-time": lambda v: EDGE_DATETIMES[0] in sent_as(v),
        "nesting": lambda v: "[" * NESTED in sent_as(v) and v != RAW_DEEP_BODY, "raw": lambda v: v == RAW_DEEP_BODY,
    }
    for name, seen in sent.items():
        assert seen(find(hostile(body, BODY_CLASSES, raw=RAW_DEEP_BODY), seen)), name
    assert "\x00" in find(hostile({"q": "x"}, QUERY_CLASSES), lambda v: "\x00" in v["q"])["q"]
    assert find(hostile({"pk": 1}, PATH_CLASSES), lambda v: v["pk"] == ID_BEYOND_64_BITS)


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

    @schema.hook
    def flatmap_body(context, body):
        if _takes_multipart(context):  # its text parts are UTF-8 bytes on the wire, like a query string
            return hostile(body, MULTIPART_CLASSES, raw=RAW_DEEP_BODY)
        return hostile(body, BODY_CLASSES, raw=RAW_DEEP_BODY)

    @schema.hook
    def flatmap_query(context, query):
        return hostile(query, QUERY_CLASSES)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        """One path in four: most requests should still reach an object that exists."""
        return hostile(path_parameters, PATH_CLASSES, one_in=4)


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
