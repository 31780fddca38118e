"""``POST /api/v1/incidents/{id}/import/``: a MISP event or STIX bundle, all or nothing, with the per-item report."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incidents import services

from .support import assert_error

EVENT = {"Event": {"info": "Phishing wave", "Tag": [{"name": "tlp:amber"}], "Attribute": [
    {"type": "domain", "value": "c2.example", "uuid": "8c3f3a4e-6d0f-4c57-9d8e-2f4b7c2a9f10"},
    {"type": "ip-dst", "value": "192.0.2.1", "Tag": [{"name": "tlp:red"}]},
]}}
BAD_EVENT = {"Event": {"info": "x", "Attribute": [*EVENT["Event"]["Attribute"],
                                                  {"type": "btc", "value": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}]}}
BUNDLE = {"type": "bundle", "id": "bundle--2f0e33a6-55c1-4d6f-bb62-1b6c2f4a0d11", "objects": [{
    "type": "indicator", "spec_version": "2.1", "id": "indicator--6b0e0c57-7b6f-4b61-9c2e-2b8b0d7c4f11",
    "created": "2026-11-20T08:00:00.000Z", "modified": "2026-11-20T08:00:00.000Z",
    "pattern": "[url:value = 'https://evil.example/login']", "pattern_type": "stix", "valid_from": "2026-11-20T08:00:00Z",
}]}


@pytest.fixture
def incident(network):
    return services.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title="Phishing at a DSO",
        aware_at=timezone.now() - timedelta(hours=2), tlp="amber", severity="high")


def url(incident) -> str:
    return f"/api/v1/incidents/{incident.pk}/import/"


def test_a_misp_event_as_multipart_file_is_imported_with_its_report(de_client, incident):
    upload = SimpleUploadedFile("event.json", json.dumps(EVENT).encode(), content_type="application/json")
    response = de_client.post(url(incident), {"file": upload, "format": "misp"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["imported"] and body["created"] == 2 and body["failed"] == 0
    assert [(i["index"], i["ref"], i["source"], i["outcome"], i["tlp"]) for i in body["items"]] == [
        (1, "8c3f3a4e-6d0f-4c57-9d8e-2f4b7c2a9f10", "domain", "import", "amber"),
        (2, body["items"][1]["ref"], "ip-dst", "import", "red")]
    assert sorted(incident.observables.values_list("value", "tlp")) == [("192.0.2.1", "red"), ("c2.example", "amber")]


def test_a_stix_bundle_as_a_json_body_is_recognised(de_client, incident):
    response = de_client.post(url(incident), BUNDLE, content_type="application/json")
    assert response.status_code == 200 and response.json()["format"] == "stix"
    assert list(incident.observables.values_list("type", "value")) == [("url", "https://evil.example/login")]


def test_a_wrapped_json_body_names_its_format(de_client, incident):
    response = de_client.post(url(incident), {"format": "misp", "content": EVENT}, content_type="application/json")
    assert response.status_code == 200 and incident.observables.count() == 2


def test_any_failing_item_answers_400_with_the_report_and_imports_nothing(de_client, incident):
    response = de_client.post(url(incident), BAD_EVENT, content_type="application/json")
    error = assert_error(response, 400, code="import_refused", says="1 item(s) cannot be imported")
    report = response.json()["report"]
    assert error and not report["imported"] and report["failed"] == 1
    assert [i["outcome"] for i in report["items"]] == ["import", "import", "error"]
    assert "btc" in report["items"][2]["reason"]
    assert incident.observables.count() == 0


@pytest.mark.parametrize("body, says", [
    ([1, 2], "JSON list"),
    ({"hello": "world"}, "neither a MISP event"),
    ({"format": "misp", "content": BUNDLE}, "STIX bundle, not a MISP event"),
    ({"format": "stix", "content": {"type": "bundle", "id": "bundle--1", "objects": [7]}}, "objects[0]"),
])
def test_a_file_that_cannot_be_read_answers_400_naming_the_problem(de_client, incident, body, says):
    response = de_client.post(url(incident), body, content_type="application/json")
    assert_error(response, 400, code="import_refused", says=says)
    assert response.json()["report"]["items"] == [] and incident.observables.count() == 0


def test_not_json_and_a_wrong_format_are_400(de_client, incident):
    upload = SimpleUploadedFile("event.json", b"{nope", content_type="application/json")
    assert_error(de_client.post(url(incident), {"file": upload}), 400, says="not JSON")
    response = de_client.post(url(incident), {"format": "openioc", "content": EVENT}, content_type="application/json")
    assert_error(response, 400, fields=["format"])
    assert_error(de_client.post(url(incident), {"format": "misp"}), 400, fields=["file"])


def test_a_deeply_nested_body_is_refused_before_anything_reads_it(de_client, incident):
    body = '{"Event": {"info": "x", "Attribute": ' + "[" * 200 + "]" * 200 + "}}"
    response = de_client.post(url(incident), body, content_type="application/json")
    assert_error(response, 400, says="nested more than")
    assert incident.observables.count() == 0


def test_a_token_without_write_is_refused(network, token_for, bearer, incident):
    client = bearer(token_for(network["orgs"]["de-csirt"], "read"))
    assert_error(client.post(url(incident), EVENT, content_type="application/json"), 403)
    assert incident.observables.count() == 0


def test_a_recipient_gets_403_and_an_outsider_404(network, token_for, bearer, incident):
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"]])
    fr = bearer(token_for(network["orgs"]["fr-csirt"], "read,write"))
    pt = bearer(token_for(network["orgs"]["pt-csirt"], "read,write"))
    assert_error(fr.post(url(incident), EVENT, content_type="application/json"), 403, says="reporting organisation")
    assert_error(pt.post(url(incident), EVENT, content_type="application/json"), 404)
    assert incident.observables.count() == 0
