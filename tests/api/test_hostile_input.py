"""Hostile input gets a 4xx naming the problem and stores nothing, the same in both modes.

One table per class of input (``csoa_portal.input_rules``): text with a NUL or a lone UTF-16
surrogate, integers beyond 64 bits, dates at the edge of the range, nesting, malformed URLs
and repeated query parameters. Each is sent where input enters: API bodies, query and path
parameters of several endpoint families (incidents, observables, timeline, reports, Reserve
requests, organisations, events), a form page, the CSV import and the websocket. Every case
here answered 500 in at least one mode, or stored something, or answered 200, before.

Generated parts read the URLconf and the served OpenAPI schema, so endpoints added later
are covered without editing this file.
"""

import json
import re
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from csoa_portal.input_rules import MAX_DEPTH
from csoa_portal.models import AuditEntry, IdempotencyRecord
from incidents import services as incident_services
from incidents.models import Incident, Observable, Report, Share, TimelineEntry
from liaison.models import Event
from reserve import services as reserve_services
from reserve.models import AssistanceRequest
from tests.api.support import assert_error
from tests.conftest import verified_client
from tests.liaison.test_consumers import caught_up, frame, open_stream
from tests.liaison.test_consumers import refused as refused_stream
from tests.reserve.factories import content as reserve_content

NUL = "\x00"
SURROGATE = "\ud800"
BEYOND_64_BITS = 10**30
ID_BEYOND_64_BITS = "99999999999999999999"  # 2**66 and a bit
EDGE_DATETIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z",
                  "2026-11-23T08:00:00+18:48"]  # an offset Python takes and PostgreSQL refused in a query
EDGE_DATES = ["0001-01-01", "9999-12-31"]
MODELS = [Incident, Observable, TimelineEntry, Report, Share, AssistanceRequest, AuditEntry, Event, IdempotencyRecord]


@pytest.fixture
def world(network):
    """A de-csirt incident (with one observable) and a draft Reserve request linked to it."""
    de, org = network["people"]["de_analyst"], network["orgs"]["de-csirt"]
    incident = incident_services.report_incident(
        actor=de, organisation=org, title="Wiper at a water utility", aware_at=timezone.now() - timedelta(hours=2),
        tlp="amber")
    incident_services.add_observables(actor=de, incident=incident, rows=[{"type": "ipv4", "value": "203.0.113.7"}])
    request = reserve_services.create_request(actor=de, organisation=org, **reserve_content([incident]))
    return {"incident": incident.pk, "request": request.pk}


def stored() -> dict:
    """Rows of everything a write leaves behind: the objects, their audit entries and Events."""
    return {model.__name__: model.objects.count() for model in MODELS} | {
        "versions": sorted(Incident.objects.values_list("version", flat=True))
        + sorted(AssistanceRequest.objects.values_list("version", flat=True))}


def send(client, method: str, url: str, body=None, raw: str | None = None, **headers):
    data = raw if raw is not None else json.dumps(body) if body is not None else None
    if data is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(url, data, content_type="application/json", **headers)


def refused(response, status: int, field: str, says: str = "") -> dict:
    """The error shape with this status, naming ``field`` (for 400s)."""
    return assert_error(response, status, fields=[field] if status == 400 else (), says=says)


# --- text: NUL and lone surrogates ------------------------------------------------------------------------

TEXT_IN_BODIES = [
    ("post", "/api/v1/incidents/", lambda t: {"title": f"Wiper{t}", "aware_at": "2026-11-23T08:00:00Z"}, "title"),
    ("post", "/api/v1/incidents/", lambda t: {"title": "x", "aware_at": "2026-11-23T08:00:00Z",
                                              "early_warning": {"summary": f"s{t}"}}, "early_warning.summary"),
    ("post", "/api/v1/incidents/", lambda t: {"title": "x", "aware_at": "2026-11-23T08:00:00Z",
                                              "affected_member_states": [f"DE{t}"]}, "affected_member_states.0"),
    ("patch", "/api/v1/incidents/{incident}/", lambda t: {"description": f"d{t}"}, "description"),
    ("post", "/api/v1/incidents/{incident}/observables/",
     lambda t: {"observables": [{"type": "email", "value": f"{t}@x.example"}]}, "observables.0.value"),
    ("post", "/api/v1/incidents/{incident}/observables/",
     lambda t: {"observables": [{"type": "ipv4", "value": "192.0.2.1", "note": f"n{t}"}]}, "observables.0.note"),
    ("post", "/api/v1/incidents/{incident}/timeline/", lambda t: {"text": f"Isolated{t}"}, "text"),
    ("post", "/api/v1/incidents/{incident}/reports/",
     lambda t: {"kind": "early_warning", "content": {"summary": f"s{t}"}}, "content.summary"),
    ("post", "/api/v1/incidents/{incident}/share/", lambda t: {"organisations": [f"fr-csirt{t}"]}, "organisations.0"),
    ("patch", "/api/v1/assistance-requests/{request}/", lambda t: {"affected_entity": f"Stadtwerke{t}"},
     "affected_entity"),
    ("post", "/api/v1/assistance-requests/", lambda t: {"languages": ["de", f"en{t}"]}, "languages.1"),
]


@pytest.mark.parametrize("character", [NUL, SURROGATE], ids=["nul", "surrogate"])
@pytest.mark.parametrize("method, url, body, field", TEXT_IN_BODIES,
                         ids=[f"{m} {u} {f}" for m, u, _, f in TEXT_IN_BODIES])
def test_a_nul_or_lone_surrogate_in_any_text_of_a_body_is_a_400_naming_it(de_client, world, character, method, url,
                                                                         body, field):
    before = stored()

    response = send(de_client, method, url.format(**world), body(character), HTTP_IDEMPOTENCY_KEY="k1")

    refused(response, 400, field, says="nul character" if character == NUL else "surrogate")
    assert stored() == before


@pytest.mark.parametrize("character", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_a_refused_name_in_a_body_is_named_printably(de_client, world, character):
    body = {"kind": "early_warning", "content": {"summary": "s", f"x{character}": "y"}}

    response = send(de_client, "post", "/api/v1/incidents/{incident}/reports/".format(**world), body)

    escaped = "\\u0000" if character == NUL else "\\ud800"
    refused(response, 400, f"content.x{escaped}", says="this name")
    assert not Report.objects.exists()


TEXT_IN_QUERIES = [
    ("/api/v1/incidents/?q=wiper%00", "q"),
    ("/api/v1/incidents/?member_state=DE%00", "member_state"),
    ("/api/v1/organisations/?member_state=%00", "member_state"),
    ("/api/v1/observables/search/?value=203.0.113.7%00", "value"),
    ("/api/v1/events/?after=%00", "after"),
    ("/api/v1/assistance-requests/?member_state=DE%00", "member_state"),
    ("/api/v1/reserve-providers/?service=%00", "service"),
    ("/api/v1/incidents/?cursor=%00", "cursor"),
    ("/api/v1/incidents/?%00=1", "\\u0000"),
]


@pytest.mark.parametrize("url, field", TEXT_IN_QUERIES)
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(de_client, world, url, field):
    refused(de_client.get(url), 400, field, says="nul character")


@pytest.mark.parametrize("url", [
    "/api/v1/organisations/%00/", "/api/v1/organisations/de-csirt%00/", "/api/v1/member-states/%00/",
    "/api/v1/reserve-providers/%00/", "/api/v1/reserve-providers/%00/capacity/", "/api/v1/incidents/%00/",
])
def test_a_nul_in_a_path_answers_404(de_client, url):
    refused(de_client.get(url), 404, "")


def test_a_nul_in_a_form_field_of_a_page_is_a_400_naming_it_and_nothing_is_reported(network, world):
    before = stored()

    response = verified_client(network["people"]["de_analyst"]).post("/incidents/new/", {
        "title": f"Wiper{NUL}", "aware_at": "2026-11-23T08:00", "tlp": "amber", "severity": "high"})

    assert response.status_code == 400
    assert "title: Contains a NUL character" in response.content.decode()
    assert stored() == before


def test_a_nul_in_a_query_parameter_of_a_page_is_a_400_naming_it(network, world):
    response = verified_client(network["people"]["de_analyst"]).get("/incidents/?q=wiper%00")

    assert response.status_code == 400
    assert "q: Contains a NUL character" in response.content.decode()


def test_a_nul_in_a_path_of_a_page_answers_404(network):
    assert verified_client(network["people"]["de_analyst"]).get("/network/organisations/%00/").status_code == 404


# --- integers beyond 64 bits -----------------------------------------------------------------------------------

NUMBERS_IN_BODIES = [
    ("post", "/api/v1/assistance-requests/", {"incidents": [BEYOND_64_BITS]}, "incidents.0"),
    ("patch", "/api/v1/assistance-requests/{request}/", {"incidents": [BEYOND_64_BITS]}, "incidents.0"),
    ("patch", "/api/v1/assistance-requests/{request}/", {"person_days": BEYOND_64_BITS}, "person_days"),
    # Fits 64 bits but not PostgreSQL's integer column: refused in both modes, not stored by SQLite only.
    ("patch", "/api/v1/assistance-requests/{request}/", {"person_days": 2**40}, "person_days"),
    ("post", "/api/v1/incidents/{incident}/declare/", {"level": BEYOND_64_BITS, "reason": "x"}, "level"),
    ("post", "/api/v1/incidents/", {"title": "x", "aware_at": "2026-11-23T08:00:00Z", "severity": -BEYOND_64_BITS},
     "severity"),
]


@pytest.mark.parametrize("method, url, body, field", NUMBERS_IN_BODIES,
                         ids=[f"{m} {u} {f} {b}"[:80] for m, u, b, f in NUMBERS_IN_BODIES])
def test_an_integer_beyond_the_columns_in_a_body_is_a_400_naming_it(de_client, world, method, url, body, field):
    before = stored()

    refused(send(de_client, method, url.format(**world), body), 400, field)
    assert stored() == before


def test_an_infinite_number_in_a_body_is_a_400_naming_it(de_client, world):
    raw = '{"kind": "early_warning", "content": {"summary": 1e400}}'

    response = send(de_client, "post", "/api/v1/incidents/{incident}/reports/".format(**world), raw=raw)

    refused(response, 400, "content.summary", says="finite")
    assert not Report.objects.exists()


@pytest.mark.parametrize("method, url", [
    ("get", "/api/v1/incidents/{big}/"), ("patch", "/api/v1/incidents/{big}/"),
    ("get", "/api/v1/incidents/{big}/timeline/"), ("delete", "/api/v1/incidents/{incident}/shares/{big}/"),
    ("get", "/api/v1/assistance-requests/{big}/"), ("post", "/api/v1/alerts/{big}/acknowledge/"),
    ("get", "/api/v1/engagements/{big}/"),
])
def test_an_id_beyond_64_bits_in_a_path_answers_404(de_client, world, method, url):
    body = None if method == "get" else {}
    refused(send(de_client, method, url.format(big=ID_BEYOND_64_BITS, **world), body), 404, "")


@pytest.mark.parametrize("url, field", [
    (f"/api/v1/events/?after={ID_BEYOND_64_BITS}", "after"),
    (f"/api/v1/alerts/?incident={ID_BEYOND_64_BITS}", "incident"),
    (f"/api/v1/engagements/?request={ID_BEYOND_64_BITS}", "request"),
])
def test_an_id_beyond_64_bits_in_a_query_parameter_is_a_400_naming_it(de_client, world, url, field):
    refused(de_client.get(url), 400, field)


@pytest.mark.parametrize("method, url, body, headers, field", [
    ("get", "/api/v1/observables/search/?value=%C2%B2", None, {}, "value"),  # "²".isdigit() is true, int("²") fails
    ("get", "/api/v1/observables/search/?value=AS%C2%B2", None, {}, "value"),
    ("get", "/api/v1/events/?after=%C2%B2", None, {}, "after"),
    ("patch", "/api/v1/incidents/{incident}/", {"title": "x"}, {"HTTP_IF_MATCH": '"v\u00b2"'}, "If-Match"),
    ("patch", "/api/v1/assistance-requests/{request}/", {"affected_entity": "x"}, {"HTTP_IF_MATCH": '"v\u00b2"'},
     "If-Match"),
])
def test_digits_that_are_not_ascii_are_no_number(de_client, world, method, url, body, headers, field):
    before = stored()

    refused(send(de_client, method, url.format(**world), body, **headers), 400, field)
    assert stored() == before


def test_digits_that_are_not_ascii_are_no_reference_in_a_search(de_client, network, world):
    assert de_client.get("/api/v1/incidents/", {"q": "INC-2026-\u00b2"}).json()["results"] == []
    page = verified_client(network["people"]["de_analyst"]).get("/reserve/requests/", {"q": "RSV-\u00b2"})
    assert page.status_code == 200


def test_an_incident_id_beyond_64_bits_on_the_request_form_is_a_form_error(network, world):
    before = stored()

    response = verified_client(network["people"]["de_analyst"]).post("/reserve/requests/new/", {
        "organisation": "de-csirt", "incidents": [str(BEYOND_64_BITS)], "action": "save"})

    assert response.status_code == 400 and "incidents" in response.context["form"].errors
    assert stored() == before


# --- dates and date-times at the edge of the range ---------------------------------------------------------

DATES_IN_BODIES = [
    *[("post", "/api/v1/incidents/", {"title": "x", "aware_at": edge}, "aware_at") for edge in EDGE_DATETIMES],
    *[("patch", "/api/v1/incidents/{incident}/", {"aware_at": edge}, "aware_at") for edge in EDGE_DATETIMES],
    *[("patch", "/api/v1/assistance-requests/{request}/", {"window_start": edge}, "window_start")
      for edge in EDGE_DATES],
]


@pytest.mark.parametrize("method, url, body, field", DATES_IN_BODIES,
                         ids=[f"{m} {u} {b}"[:90] for m, u, b, _ in DATES_IN_BODIES])
def test_a_date_at_the_edge_of_the_range_in_a_body_is_a_400_naming_it(de_client, world, method, url, body, field):
    before = stored()

    refused(send(de_client, method, url.format(**world), body), 400, field)
    assert stored() == before


@pytest.mark.parametrize("edge", [*EDGE_DATETIMES, *EDGE_DATES])
@pytest.mark.parametrize("url", ["/api/v1/incidents/", "/api/v1/assistance-requests/"])
def test_a_date_at_the_edge_of_the_range_in_a_filter_is_a_400_naming_it(de_client, world, url, edge):
    refused(de_client.get(url, {"updated_since": edge}), 400, "updated_since")


@pytest.mark.parametrize("edge", EDGE_DATETIMES)
def test_an_observable_seen_at_the_edge_of_the_range_is_refused_naming_first_seen(de_client, world, edge):
    body = {"observables": [{"type": "ipv4", "value": "192.0.2.1", "first_seen": edge}]}
    before = stored()

    result = send(de_client, "post", "/api/v1/incidents/{incident}/observables/".format(**world), body).json()

    assert result["created"] == 0 and result["rejected"] == 1  # the bulk endpoint reports rows one by one
    assert result["errors"][0]["error"].startswith("first_seen: ")
    assert stored() == before


@pytest.mark.parametrize("aware_at", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_a_date_at_the_edge_of_the_range_on_the_report_form_is_a_form_error(network, world, aware_at):
    before = stored()

    response = verified_client(network["people"]["de_analyst"]).post("/incidents/new/", {
        "title": "Wiper", "aware_at": aware_at, "tlp": "amber", "severity": "high"})

    assert response.status_code == 400 and "aware_at" in response.context["form"].errors
    assert stored() == before


def test_a_date_at_the_edge_of_the_range_in_a_page_filter_is_refused(network, world):
    response = verified_client(network["people"]["de_analyst"]).get("/incidents/", {"updated_since": "0001-01-01"})

    assert response.status_code == 400 and "Out of range" in response.content.decode()


# --- nesting -----------------------------------------------------------------------------------------------

def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


NESTING = [
    ("post", "/api/v1/incidents/", _nested(5000)),  # RecursionError in Python's parser before
    ("post", "/api/v1/incidents/", '{"title": ' + _nested(MAX_DEPTH + 1) + "}"),
    ("post", "/api/v1/incidents/{incident}/reports/",
     '{"kind": "early_warning", "content": {"summary": ' + _nested(2000) + "}}"),
    ("patch", "/api/v1/assistance-requests/{request}/", '{"languages": ' + _nested(MAX_DEPTH + 1) + "}"),
    ("post", "/api/v1/incidents/{incident}/observables/", '{"observables": ' + _nested(10_000) + "}"),
]


@pytest.mark.parametrize("method, url, raw", NESTING, ids=[f"{m} {u} {r[:20]}" for m, u, r in NESTING])
def test_json_nested_too_deep_is_a_400_naming_the_body(de_client, world, method, url, raw):
    before = stored()

    response = send(de_client, method, url.format(**world), raw=raw)

    assert_error(response, 400, code="parse_error", says=f"nested more than {MAX_DEPTH} levels")
    assert stored() == before


def test_json_nested_up_to_the_limit_still_reaches_the_fields(de_client, world):
    response = send(de_client, "post", "/api/v1/incidents/", raw='{"title": ' + _nested(MAX_DEPTH - 1) + "}")

    refused(response, 400, "title", says="not a valid string")


# --- malformed URLs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["http://[::1", "http://[::1]:99999", "https://[not-an-address]/x"])
def test_a_malformed_url_in_observable_search_is_a_400_naming_value(de_client, world, value):
    refused(de_client.get("/api/v1/observables/search/", {"value": value}), 400, "value", says="is not an ip")


def test_a_malformed_url_observable_is_refused_with_its_reason_and_not_stored(de_client, world):
    body = {"observables": [{"type": "url", "value": "http://[::1"}]}

    before = stored()

    result = send(de_client, "post", "/api/v1/incidents/{incident}/observables/".format(**world), body).json()

    assert result["rejected"] == 1 and "is not a URL" in result["errors"][0]["error"]
    assert stored() == before


def test_a_malformed_url_on_the_search_page_says_it_is_no_observable(network, world):
    response = verified_client(network["people"]["de_analyst"]).get("/incidents/search/", {"q": "http://[::1"})

    assert response.status_code == 200 and "is not an IP address" in response.content.decode()


# --- repeated query parameters --------------------------------------------------------------------------------

@pytest.mark.parametrize("url, field", [
    ("/api/v1/events/?after=1&after=2", "after"),
    ("/api/v1/incidents/?status=open&status=closed", "status"),
    ("/api/v1/incidents/?cursor=a&cursor=b", "cursor"),
    ("/api/v1/assistance-requests/?urgency=urgent&urgency=routine", "urgency"),
    ("/api/v1/observables/search/?value=203.0.113.7&value=evil.example", "value"),
    ("/api/v1/organisations/?kind=national_csirt&kind=enisa", "kind"),
])
def test_a_query_parameter_given_twice_where_one_is_expected_is_a_400_naming_it(de_client, world, url, field):
    refused(de_client.get(url), 400, field, says="once")


# --- the CSV import ---------------------------------------------------------------------------------------------

CSV_CASES = [
    (b"type,value,note\nipv4,192.0.2.1,dropper\x00\n", "note: Contains a NUL character"),
    (b"type,value\nipv4,192.0.2.1\x00\n", "value: Contains a NUL character"),
    (b"type,value,first_seen\nipv4,192.0.2.1,0001-01-01T00:00:00+14:00\n", "first_seen: Out of range"),
    (b"type,value,last_seen\nipv4,192.0.2.1,9999-12-31T23:59:59-14:00\n", "last_seen: Out of range"),
    (b"type,value,last_seen\nipv4,192.0.2.1,2026-11-23T08:00:00+18:48\n", "last_seen: Not a time zone"),
    (b"type,value\nurl,http://[::1\n", "is not a URL"),
]


@pytest.mark.parametrize("csv, says", CSV_CASES, ids=[says for _, says in CSV_CASES])
def test_the_csv_import_refuses_a_hostile_row_by_its_line_and_column_and_stores_nothing(network, world, csv, says):
    before = stored()
    upload = SimpleUploadedFile("iocs.csv", csv, content_type="text/csv")

    response = verified_client(network["people"]["de_analyst"]).post(
        "/incidents/{incident}/observables/upload/".format(**world), {"csv-file": upload})

    assert response.status_code == 400
    [error] = response.context["csv_report"]["errors"]
    assert error["line"] == 2 and says in error["error"]
    assert stored() == before


def test_the_csv_import_refuses_a_nul_in_the_header_naming_it(network, world):
    upload = SimpleUploadedFile("iocs.csv", b"type,value\x00\nipv4,192.0.2.1\n", content_type="text/csv")

    response = verified_client(network["people"]["de_analyst"]).post(
        "/incidents/{incident}/observables/upload/".format(**world), {"csv-file": upload})

    assert response.status_code == 400
    assert "value\\u0000" in response.context["csv_form"].errors["file"][0]


# --- generated from the URLconf and the schema ------------------------------------------------------------------

def _patterns(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith("admin/"):
            continue  # staff only, behind its own login: tests/liaison/test_admin.py
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, route)
        elif isinstance(pattern, URLPattern) and pattern.pattern.converters:
            yield route, pattern.pattern.converters


def _hostile_paths():
    """Each route with a path parameter: integers beyond 64 bits, text with a NUL."""
    for route, converters in _patterns():
        for name, converter in converters.items():
            value = ID_BEYOND_64_BITS if type(converter).__name__ == "IntConverter" else "x%00"
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m, n=name, v=value: v if m.group(1) == n else "1", route)
            yield "/" + path


@pytest.mark.parametrize("path", sorted(set(_hostile_paths())))
def test_every_path_parameter_answers_an_id_beyond_64_bits_or_a_nul_with_404(network, world, path):
    client = verified_client(network["people"]["enisa_admin"])
    for method in ("get", "post"):
        status = getattr(client, method)(path).status_code
        assert status in (404, 405), (method, path, status)  # 405: a page that only takes POST, or only GET


@pytest.fixture
def schema(de_client):
    return de_client.get("/api/schema/?format=json").json()


def _query_parameters(schema):
    for path, operations in schema["paths"].items():
        operation = operations.get("get")
        if operation and "{" not in path:
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    yield path, parameter["name"], parameter.get("schema", {})


def test_every_query_parameter_of_the_schema_refuses_a_nul_a_repetition_and_a_date_out_of_range(de_client, world,
                                                                                               schema):
    checked = 0
    for path, name, parameter_schema in _query_parameters(schema):
        refused(de_client.get(path, {name: f"1{NUL}"}), 400, name, says="nul character")
        refused(de_client.get(f"{path}?{name}=1&{name}=1"), 400, name, says="once")
        if parameter_schema.get("format") in ("date", "date-time"):
            refused(de_client.get(path, {name: EDGE_DATETIMES[0]}), 400, name, says="out of range")
        checked += 1
    assert checked >= 20  # incidents, alerts, events, search, Reserve, network… (the schema was read)


# --- the websocket ---------------------------------------------------------------------------------------------

def _bearer_get(token: str, url: str):
    return Client(headers={"Authorization": f"Bearer {token}"}).get(url)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.timeout(60)
@pytest.mark.parametrize("message, says", [
    (_nested(2000), f"nested more than {MAX_DEPTH} levels"),  # RecursionError closed the socket before
    ('{"type": ' + _nested(MAX_DEPTH + 1) + "}", f"nested more than {MAX_DEPTH} levels"),
    ('{"type": "ping\\u0000"}', "type: contains a nul character"),
    ('{"type": "ping", "x": "\\ud800"}', "x: contains a lone utf-16 surrogate"),
    ('{"type": "ping", "n": 1e400}', "n: not a finite number"),
])
async def test_a_hostile_websocket_message_is_answered_naming_it_and_the_connection_stays(network, token_for,
                                                                                         message, says):
    stream = await open_stream(token=await database_sync_to_async(token_for)(network["orgs"]["de-csirt"], "read"))
    await caught_up(stream)

    await stream.send_to(text_data=message)

    error = await frame(stream)
    assert error["type"] == "error" and error["code"] == "bad_message" and says in error["message"].lower(), error
    await stream.send_json_to({"type": "ping"})
    assert await frame(stream) == {"type": "pong"}
    await stream.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.timeout(60)
@pytest.mark.parametrize("query, says", [("after=1&after=2", "once"), ("after=%00", "non-negative integer"),
                                         (f"after={ID_BEYOND_64_BITS}", "non-negative integer")])
async def test_the_websocket_refuses_what_the_event_feed_refuses(network, token_for, query, says):
    token = await database_sync_to_async(token_for)(network["orgs"]["de-csirt"], "read")
    feed = await database_sync_to_async(_bearer_get)(token, f"/api/v1/events/?{query}")
    assert feed.status_code == 400 and "after" in feed.json()["error"]["fields"]

    await refused_stream(await open_stream(token=token, query=query), 4400, "bad_request", says=says)
