"""The API does what the browser does: relabel, record the initial response, attach files; no field is
dropped in silence; lists count on request; reports name codes; every event subject id is an integer."""

import importlib
import json
from datetime import timedelta

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from csoa_portal.models import AuditEntry
from incidents import services
from incidents.models import IncidentCategory, Report, Sector, TimelineEntry
from liaison import services as liaison_services
from liaison.models import Event
from tests.api.support import assert_error
from tests.factories import member_state


@pytest.fixture
def incident(network):
    """An AMBER incident of de-csirt affecting DE and FR, shared with fr-csirt."""
    de = network["people"]["de_analyst"]
    incident = services.report_incident(
        actor=de, organisation=network["orgs"]["de-csirt"], title="Wiper at a DSO", tlp="amber",
        aware_at=timezone.now() - timedelta(hours=2), affected_member_states=[member_state("DE"), member_state("FR")],
        sectors=[Sector.objects.get(code="energy.electricity")],
        category=IncidentCategory.objects.get(code="malicious-code/infected-system"))
    services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    return incident


@pytest.fixture
def tools(network, token_for, bearer):
    return {code: bearer(token_for(network["orgs"][code], "read,write")) for code in ("de-csirt", "fr-csirt", "pt-csirt")}


def _patch(client, incident, body, **headers):
    return client.patch(f"/api/v1/incidents/{incident.pk}/", body, content_type="application/json", **headers)


# --- The TLP over the API ---------------------------------------------------------------------------


def test_patch_with_tlp_relabels_the_incident_under_the_tlp_rules(incident, tools):
    response = _patch(tools["de-csirt"], incident, {"tlp": "amber+strict"}, HTTP_IF_MATCH=f'"v{incident.version}"')

    assert response.status_code == 200, response.content
    assert response.json()["tlp"] == "amber+strict" and response["ETag"] == f'"v{incident.version + 1}"'
    entry = AuditEntry.objects.get(action="incident.tlp_changed")
    assert (entry.before["tlp"], entry.after["tlp"]) == ("amber", "amber+strict")


def test_a_label_its_shares_forbid_is_refused_naming_tlp_and_nothing_changes(incident, tools):
    response = _patch(tools["de-csirt"], incident, {"tlp": "red", "title": "Renamed"})

    assert_error(response, 400, fields=["tlp"], says="does not allow the existing shares with an organisation")
    incident.refresh_from_db()
    assert (incident.tlp, incident.title) == ("amber", "Wiper at a DSO")


def test_a_recipient_may_not_relabel(incident, tools):
    response = _patch(tools["fr-csirt"], incident, {"tlp": "red"})

    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.tlp == "amber"


def test_a_field_the_patch_does_not_change_is_refused_by_name_not_dropped(incident, tools):
    response = _patch(tools["de-csirt"], incident, {"organisation": "fr-csirt", "early_warning": {"summary": "x"}})

    error = assert_error(response, 400, fields=["organisation", "early_warning"], says="cannot be changed here")
    assert "non_field_errors" not in error["fields"]


# --- The initial response (NIS2 Art. 23(5)) ---------------------------------------------------------


def test_the_reporting_states_csirt_records_the_initial_response_over_the_api(incident, network, tools):
    services.submit_report(actor=network["people"]["de_analyst"], incident=incident, kind="early_warning",
                           content={"summary": "Wiper"})  # starts the CSIRT's 24-hour clock
    url = f"/api/v1/incidents/{incident.pk}/initial-response/"
    assert incident.deadlines.get(clock="initial_response").met_at is None

    by_pt = tools["pt-csirt"].post(url, {"text": "Seen"}, content_type="application/json")
    by_fr = tools["fr-csirt"].post(url, {"text": "Seen"}, content_type="application/json")
    blank = tools["de-csirt"].post(url, {"text": "  "}, content_type="application/json")
    response = tools["de-csirt"].post(url, {"text": "Isolate the SCADA segment; we send a team."},
                                      content_type="application/json")

    assert (by_pt.status_code, by_fr.status_code, blank.status_code) == (404, 403, 400)
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "response" and response.json()["organisation"] == "de-csirt"
    assert incident.deadlines.get(clock="initial_response").met_at is not None
    assert TimelineEntry.objects.filter(incident=incident, kind="response").count() == 1


# --- Attachments ------------------------------------------------------------------------------------


def test_an_update_with_attachments_is_posted_as_multipart_and_downloaded_back(incident, tools, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    notes = SimpleUploadedFile("notes.txt", b"wiper hashes\n", content_type="application/octet-stream")
    shot = SimpleUploadedFile("shot.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, content_type="text/plain")

    response = tools["de-csirt"].post(f"/api/v1/incidents/{incident.pk}/timeline/",
                                      {"text": "Evidence attached", "kind": "update", "files": [notes, shot]})

    assert response.status_code == 201, response.content
    attachments = response.json()["attachments"]
    assert [(a["name"], a["content_type"]) for a in attachments] == [("notes.txt", "text/plain"),
                                                                      ("shot.png", "image/png")]
    download = tools["fr-csirt"].get(f"/api/v1/incidents/{incident.pk}/attachments/{attachments[0]['id']}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"wiper hashes\n"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert tools["pt-csirt"].get(f"/api/v1/incidents/{incident.pk}/attachments/{attachments[0]['id']}/").status_code \
        == 404


def test_a_file_of_a_refused_type_is_a_400_naming_files_and_no_update_is_posted(incident, tools, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    program = SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\xff\xff", content_type="application/pdf")

    response = tools["de-csirt"].post(f"/api/v1/incidents/{incident.pk}/timeline/",
                                      {"text": "Sample", "files": [program]})

    assert_error(response, 400, fields=["files"], says="only PDF, PNG, JPEG, GIF, ZIP and plain-text")
    assert not TimelineEntry.objects.filter(incident=incident, text="Sample").exists()


# --- Counts ---------------------------------------------------------------------------------------


def test_a_list_gives_its_total_count_when_asked(incident, network, tools):
    for n in range(3):
        services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                 title=f"Phishing {n}", aware_at=timezone.now() - timedelta(hours=1))
    de = tools["de-csirt"]

    counted = de.get("/api/v1/incidents/", {"count": "true", "page_size": 2, "q": "phishing"}).json()
    plain = de.get("/api/v1/incidents/", {"page_size": 2}).json()
    observables = de.get(f"/api/v1/incidents/{incident.pk}/observables/", {"count": "true"}).json()

    assert counted["count"] == 3 and len(counted["results"]) == 2 and counted["next"]
    assert "count" not in plain
    assert observables["count"] == 0
    assert_error(de.get("/api/v1/incidents/", {"count": "maybe"}), 400, fields=["count"])


# --- Reports carry codes ---------------------------------------------------------------------------


def test_a_reports_facts_name_codes_not_internal_ids(incident, tools):
    tools["de-csirt"].post(f"/api/v1/incidents/{incident.pk}/reports/",
                           {"kind": "early_warning", "content": {"summary": "Wiper"}}, content_type="application/json")

    (report,) = tools["fr-csirt"].get(f"/api/v1/incidents/{incident.pk}/reports/").json()["results"]

    facts = report["content"]["facts"]
    assert facts["reporting_organisation"] == "de-csirt"
    assert facts["affected_member_states"] == ["DE", "FR"]
    assert facts["sectors"] == ["energy.electricity"]
    assert facts["category"] == "malicious-code/infected-system"


def test_reports_submitted_before_keep_their_facts_but_named_by_code(incident, network):
    report = services.submit_report(actor=network["people"]["de_analyst"], incident=incident, kind="early_warning",
                                    content={"summary": "Wiper"})
    facts = dict(report.content["facts"], reporting_organisation=incident.reporting_organisation_id,
                 category=incident.category_id, sectors=[Sector.objects.get(code="energy.electricity").pk],
                 affected_member_states=[member_state("DE").pk, member_state("FR").pk])
    Report.objects.filter(pk=report.pk).update(content={**report.content, "facts": facts})  # as written until now

    importlib.import_module("incidents.migrations.0012_tags_tasks").report_facts_as_codes(apps, None)

    report.refresh_from_db()
    assert {k: report.content["facts"][k] for k in ("reporting_organisation", "category", "sectors",
                                                     "affected_member_states")} == {
        "reporting_organisation": "de-csirt", "category": "malicious-code/infected-system",
        "sectors": ["energy.electricity"], "affected_member_states": ["DE", "FR"]}
    assert report.content["summary"] == "Wiper"


# --- Event subject ids --------------------------------------------------------------------------------


def test_every_event_subject_id_is_an_integer_in_the_feed_and_on_the_live_stream(incident, network, token_for,
                                                                                    bearer):
    from liaison.consumers import _load

    organisation = liaison_services.create_organisation(actor=network["people"]["enisa_admin"], code="de-hub",
                                                        name="German hub", kind="national_hub",
                                                        member_state=member_state("DE"))
    feed = bearer(token_for(network["orgs"]["de-csirt"], "read")).get(
        "/api/v1/events/", {"after": 0, "limit": 1000}).json()["results"]
    frames, _, _ = _load(0, 1000)
    streamed = [json.loads(frame.frame)["event"] for frame in frames]

    assert feed and all(isinstance(e["subject_id"], int) for e in feed)
    assert any(e["subject_type"] == "incident" and e["subject_id"] == incident.pk for e in feed)
    assert streamed and all(isinstance(e["subject_id"], int) for e in streamed)
    created = next(e for e in streamed if e["kind"] == "organisation.created" and e["payload"]["code"] == "de-hub")
    assert created["subject_id"] == organisation.pk


def test_events_recorded_with_codes_are_given_their_ids(network):
    organisation = network["orgs"]["fr-csirt"]
    legacy = Event.objects.create(kind="organisation.updated", subject_type="organisation", subject_id="fr-csirt")

    importlib.import_module("liaison.migrations.0007_event_subject_ids").codes_to_ids(apps, None)

    legacy.refresh_from_db()
    assert legacy.subject_id == str(organisation.pk)
