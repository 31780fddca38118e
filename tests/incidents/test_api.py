"""The incident API as SOC tooling uses it: tokens, errors, ETags, idempotent retries, filters."""

import json
from datetime import timedelta

import pytest
import stix2
from django.test import Client
from django.utils import timezone

from incidents import services
from incidents.models import Incident
from tests.factories import member_state

AWARE = "2026-11-23T06:00:00Z"


def bearer(token):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def de_tool(network, token_for):
    return bearer(token_for(network["orgs"]["de-csirt"]))


def _post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_soc_tool_reports_an_early_warning_and_gets_its_deadlines(de_tool, freezer):
    freezer.move_to("2026-11-23T08:00:00Z")
    response = _post(de_tool, "/api/v1/incidents/", {"title": "DDoS on TSO", "aware_at": AWARE, "tlp": "amber"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reporting_organisation"] == "de-csirt" and body["reference"].startswith("INC-2026-")
    assert response["ETag"] == '"v1"'
    due = {d["clock"]: d["due_at"] for d in body["deadlines"]}
    assert due["early_warning"] == "2026-11-24T06:00:00Z" and due["notification"] == "2026-11-26T06:00:00Z"
    assert body["next_deadline"]["clock"] == "early_warning"


@pytest.mark.parametrize(
    "body,field,message",
    [
        ({"title": "x", "aware_at": AWARE, "affected_member_states": ["XX"]}, "affected_member_states", "Unknown code 'XX'"),
        ({"title": "x", "aware_at": AWARE, "sectors": ["energy.nuclear"]}, "sectors", "Unknown code"),
        ({"title": "x", "aware_at": AWARE, "tlp": "white"}, "tlp", "not a valid choice"),
        ({"title": "x", "aware_at": "2999-01-01T00:00:00Z"}, "aware_at", "cannot be in the future"),
        ({"title": "x", "aware_at": "yesterday"}, "aware_at", "Datetime has wrong format"),
        ({"aware_at": AWARE}, "title", "required"),
        ({"title": "x", "aware_at": AWARE, "category": "availability/teapot"}, "category", "Unknown code"),
        ({"title": "x", "aware_at": AWARE, "organisation": "nobody-csirt"}, "organisation", "Unknown code 'nobody-csirt'"),
        ({"title": "x", "aware_at": AWARE, "affected_member_states": ["DE", "ZZ"]}, "affected_member_states",
         "Unknown code 'ZZ'"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(de_tool, body, field, message, freezer):
    freezer.move_to("2026-11-23T08:00:00Z")
    response = _post(de_tool, "/api/v1/incidents/", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert field in error["fields"] and message in " ".join(error["fields"][field])
    assert not Incident.objects.exists()


def test_codes_name_their_rows_whatever_the_case_of_a_member_state(de_tool):
    body = {"title": "x", "aware_at": AWARE, "affected_member_states": ["fr", "DE"], "sectors": ["energy.electricity"],
            "organisation": "de-csirt"}
    response = _post(de_tool, "/api/v1/incidents/", body)
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(pk=response.json()["id"])
    assert sorted(incident.affected_member_states.values_list("code", flat=True)) == ["DE", "FR"]
    assert list(incident.sectors.values_list("code", flat=True)) == ["energy.electricity"]
    assert incident.reporting_organisation.code == "de-csirt"


def test_malformed_json_is_a_400(de_tool):
    response = de_tool.post("/api/v1/incidents/", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "parse_error"


def test_retried_post_with_the_same_idempotency_key_creates_one_incident(de_tool):
    body = {"title": "Phishing wave", "aware_at": AWARE}
    first = _post(de_tool, "/api/v1/incidents/", body, HTTP_IDEMPOTENCY_KEY="k-1")
    second = _post(de_tool, "/api/v1/incidents/", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    assert Incident.objects.count() == 1
    reused = _post(de_tool, "/api/v1/incidents/", {**body, "title": "Other"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert reused.status_code == 422 and Incident.objects.count() == 1


def test_an_idempotency_key_older_than_a_day_is_forgotten_and_free_again(de_tool, freezer):
    freezer.move_to("2026-11-23T08:00:00Z")
    body = {"title": "Phishing wave", "aware_at": AWARE}
    assert _post(de_tool, "/api/v1/incidents/", body, HTTP_IDEMPOTENCY_KEY="k-old").status_code == 201
    freezer.move_to("2026-11-24T08:00:01Z")
    again = _post(de_tool, "/api/v1/incidents/", {**body, "title": "Other"}, HTTP_IDEMPOTENCY_KEY="k-old")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert sorted(Incident.objects.values_list("title", flat=True)) == ["Other", "Phishing wave"]


def test_failed_post_does_not_burn_the_idempotency_key(de_tool):
    bad = _post(de_tool, "/api/v1/incidents/", {"title": "x"}, HTTP_IDEMPOTENCY_KEY="k-2")
    assert bad.status_code == 400
    good = _post(de_tool, "/api/v1/incidents/", {"title": "x", "aware_at": AWARE}, HTTP_IDEMPOTENCY_KEY="k-2")
    assert good.status_code == 201


def test_patch_with_a_stale_etag_gets_412_and_keeps_the_colleagues_change(de_tool):
    created = _post(de_tool, "/api/v1/incidents/", {"title": "Outage", "aware_at": AWARE}).json()
    url = f"/api/v1/incidents/{created['id']}/"
    ok = de_tool.patch(url, json.dumps({"severity": "high"}), content_type="application/json", HTTP_IF_MATCH='"v1"')
    assert ok.status_code == 200 and ok["ETag"] == '"v2"'
    stale = de_tool.patch(url, json.dumps({"severity": "low"}), content_type="application/json", HTTP_IF_MATCH='"v1"')
    assert stale.status_code == 412 and "changed since you loaded it" in stale.json()["error"]["message"]
    assert de_tool.get(url).json()["severity"] == "high"
    assert de_tool.get(url, HTTP_IF_NONE_MATCH='"v2"').status_code == 304


def test_read_only_token_cannot_write(network, token_for):
    reader = bearer(token_for(network["orgs"]["de-csirt"], "read"))
    assert reader.get("/api/v1/incidents/").status_code == 200
    response = _post(reader, "/api/v1/incidents/", {"title": "x", "aware_at": AWARE})
    assert response.status_code == 403 and "'write' scope" in response.json()["error"]["message"]


@pytest.fixture
def shared_world(network, token_for):
    """A DE incident shared with FR only, with an observable; and tools for every party."""
    de = network["people"]["de_analyst"]
    incident = services.report_incident(actor=de, organisation=network["orgs"]["de-csirt"], title="Wiper",
                                        aware_at=timezone.now() - timedelta(hours=1), tlp="amber")
    services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    services.add_observables(actor=de, incident=incident, rows=[{"type": "ipv4", "value": "203.0.113.7"}])
    tools = {code: bearer(token_for(network["orgs"][code], "read")) for code in ["de-csirt", "fr-csirt", "pt-csirt", "enisa"]}
    return incident, tools


@pytest.mark.parametrize("who,sees", [("de-csirt", True), ("fr-csirt", True), ("pt-csirt", False), ("enisa", False)])
def test_every_api_read_path_agrees_on_who_sees_the_incident(shared_world, who, sees):
    incident, tools = shared_world
    client = tools[who]
    base = f"/api/v1/incidents/{incident.pk}/"
    listed = [i["id"] for i in client.get("/api/v1/incidents/").json()["results"]]
    assert (incident.pk in listed) is sees
    for path in ["", "observables/", "stix/", "reports/", "timeline/"]:
        assert client.get(base + path).status_code == (200 if sees else 404), path
    hits = client.get("/api/v1/observables/search/", {"value": "203.0.113.7"}).json()["results"]
    assert bool(hits) is sees
    events = client.get("/api/v1/events/", {"after": 0, "limit": 1000}).json()["results"]
    assert any(e["subject_type"] == "incident" and e["subject_id"] == incident.pk for e in events) is sees


def test_unknown_incident_and_invisible_incident_look_the_same(shared_world):
    incident, tools = shared_world
    invisible = tools["pt-csirt"].get(f"/api/v1/incidents/{incident.pk}/")
    missing = tools["pt-csirt"].get("/api/v1/incidents/999999/")
    assert invisible.status_code == missing.status_code == 404
    assert invisible.json() == missing.json()


def test_stix_export_over_the_api_parses_with_the_tlp_marking(shared_world):
    incident, tools = shared_world
    response = tools["fr-csirt"].get(f"/api/v1/incidents/{incident.pk}/stix/")
    bundle = stix2.parse(response.content.decode(), allow_custom=False)
    assert any(o.type == "indicator" and "203.0.113.7" in o.pattern for o in bundle.objects)
    assert any(o.type == "marking-definition" and o.name == "TLP:AMBER" for o in bundle.objects)


def test_shares_are_listed_to_the_originator_only(shared_world, network, token_for):
    incident, tools = shared_world
    assert tools["de-csirt"].get(f"/api/v1/incidents/{incident.pk}/").json()["shares"][0]["label"] == "CERT-FR"
    assert tools["fr-csirt"].get(f"/api/v1/incidents/{incident.pk}/").json()["shares"] == []


def test_share_over_the_api_refused_by_tlp_names_the_rule(de_tool, network):
    created = _post(de_tool, "/api/v1/incidents/", {"title": "x", "aware_at": AWARE, "tlp": "amber+strict"}).json()
    response = _post(de_tool, f"/api/v1/incidents/{created['id']}/share/", {"communities": ["eu-cyclone"]})
    assert response.status_code == 400
    assert "TLP:AMBER+STRICT is for the recipient organisation only" in response.json()["error"]["fields"]["targets"][0]
    ok = _post(de_tool, f"/api/v1/incidents/{created['id']}/share/", {"organisations": ["fr-csirt"]})
    assert ok.status_code == 200 and [s["label"] for s in ok.json()] == ["CERT-FR"]


def test_bulk_observables_over_the_api_report_invalid_rows(de_tool):
    created = _post(de_tool, "/api/v1/incidents/", {"title": "x", "aware_at": AWARE}).json()
    rows = [{"type": "ipv4", "value": f"10.0.{i // 250}.{i % 250}"} for i in range(1000)] + [{"type": "ipv4", "value": "bad"}]
    response = _post(de_tool, f"/api/v1/incidents/{created['id']}/observables/", {"observables": rows})
    assert response.status_code == 200
    assert response.json()["created"] == 1000 and response.json()["errors"][0]["index"] == 1000
    listed = de_tool.get(f"/api/v1/incidents/{created['id']}/observables/").json()
    assert len(listed["results"]) == 50 and listed["next"]


def test_list_filters(network, de_tool, freezer):
    freezer.move_to("2026-11-23T08:00:00Z")
    de = network["people"]["de_analyst"]
    org = network["orgs"]["de-csirt"]
    old = services.report_incident(actor=de, organisation=org, title="Old", aware_at=timezone.now() - timedelta(days=2),
                                   severity="critical", affected_member_states=[member_state("DE"), member_state("FR")])
    fresh = services.report_incident(actor=de, organisation=org, title="Fresh grid event", aware_at=timezone.now(),
                                     tlp="green", sectors=[])
    def ids(**params):
        response = de_tool.get("/api/v1/incidents/", params)
        assert response.status_code == 200, response.json()
        return {i["id"] for i in response.json()["results"]}
    assert ids(overdue="true") == {old.pk}
    assert ids(overdue="false") == {fresh.pk}
    assert ids(member_state="fr") == {old.pk}
    assert ids(severity="critical") == {old.pk}
    assert ids(tlp="green") == {fresh.pk}
    assert ids(q="grid") == {fresh.pk}
    assert ids(q=old.reference) == {old.pk}
    bad = de_tool.get("/api/v1/incidents/", {"member_state": "XX"})
    assert bad.status_code == 400 and "member_state" in bad.json()["error"]["fields"]


def test_list_costs_the_same_number_of_queries_for_3_and_30_incidents(network, de_tool, django_assert_max_num_queries):
    de, org = network["people"]["de_analyst"], network["orgs"]["de-csirt"]
    def make(n):
        for i in range(n):
            services.report_incident(actor=de, organisation=org, title=f"I{i}", aware_at=timezone.now(),
                                     affected_member_states=[member_state("DE")])
    make(3)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    with CaptureQueriesContext(connection) as small:
        assert de_tool.get("/api/v1/incidents/").status_code == 200
    make(27)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = de_tool.get("/api/v1/incidents/")
    assert len(response.json()["results"]) == 30


def test_reports_and_timeline_over_the_api(de_tool):
    created = _post(de_tool, "/api/v1/incidents/", {"title": "x", "aware_at": AWARE}).json()
    base = f"/api/v1/incidents/{created['id']}/"
    report = _post(de_tool, base + "reports/", {"kind": "early_warning", "content": {"summary": "Encrypted hosts"}},
                   HTTP_IDEMPOTENCY_KEY="r-1")
    again = _post(de_tool, base + "reports/", {"kind": "early_warning", "content": {"summary": "Encrypted hosts"}},
                  HTTP_IDEMPOTENCY_KEY="r-1")
    assert report.status_code == again.status_code == 201 and report.json() == again.json()
    assert [r["kind"] for r in de_tool.get(base + "reports/").json()["results"]] == ["early_warning"]
    missing = _post(de_tool, base + "reports/", {"kind": "final", "content": {"root_cause": "x"}})
    assert missing.status_code == 400
    entry = _post(de_tool, base + "timeline/", {"text": "Isolated the segment", "kind": "situation"})
    assert entry.status_code == 201 and entry.json()["tlp"] == "amber"
    assert [e["text"] for e in de_tool.get(base + "timeline/").json()["results"]] == ["Isolated the segment"]
