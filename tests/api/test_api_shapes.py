"""Shapes a client relies on whatever the endpoint: one envelope for every list, a Location on every 201.

Both are checked against the OpenAPI schema, so an endpoint added later is covered or
fails here: every list the schema documents is read, every create it documents is made.
"""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Incident, LevelProposal
from reserve.workflow import RequestStatus
from tests import factories
from tests.conftest import verified_client
from tests.reserve import factories as rf
from tests.reserve.conftest import reserve  # noqa: F401  (the Reserve's network: every list has rows)

pytestmark = pytest.mark.django_db

ENVELOPE = {"next", "previous", "results"}
# Lists that keep an envelope of their own, documented on their endpoints.
OWN_ENVELOPES = {
    "/api/v1/events/": "results and next_after: the resume protocol the websocket shares",
    "/api/v1/reserve-triage-queue/": "count and results: a short queue in a computed order, never paged",
}


def _schema(client) -> dict:
    return client.get("/api/schema/", {"format": "json"}).json()


def _documented_lists(schema: dict) -> list[str]:
    """Paths whose GET answers a list: a bare array, or an object with a ``results`` array (a page)."""
    found = []
    for path, operations in schema["paths"].items():
        body = operations.get("get", {}).get("responses", {}).get("200", {}).get("content", {})
        ref = body.get("application/json", {}).get("schema", {})
        if "$ref" in ref:
            ref = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
        if ref.get("type") == "array" or ref.get("properties", {}).get("results", {}).get("type") == "array":
            found.append(path)
    return found


def _post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


# --- One list envelope ---------------------------------------------------------------------------------

@pytest.fixture
def world(reserve):  # noqa: F811
    """An incident with a report, timeline entries, an observable and an escalation; a deployed Reserve request
    with work logged and an update: a row in every list."""
    people = reserve["people"]
    incident = reserve["incident"]
    incident_services.add_timeline_entry(actor=people["de_analyst"], incident=incident, text="Contained")
    incident_services.add_timeline_entry(actor=people["de_analyst"], incident=incident, text="Restored")
    incident_services.add_observables(actor=people["de_analyst"], incident=incident,
                                      rows=[{"type": "ipv4", "value": "203.0.113.9"}])
    incident_services.submit_report(actor=people["de_analyst"], incident=incident, kind="early_warning",
                                    content={"summary": "Grid control encrypted"})
    request = rf.request_in(RequestStatus.DEPLOYED, reserve)
    engagement = request.engagements.get()
    from reserve import services as reserve_services

    reserve_services.log_work(actor=people["provider"], engagement=engagement, day=timezone.localdate(),
                              person_days="1.0", activity="Triage")
    reserve_services.post_update(actor=people["de_analyst"], engagement=engagement, text="OT network isolated")
    return {"incident": incident, "request": request, "engagement": engagement, "people": people}


def _reader(world, path: str) -> Client:
    """Who reads this list: de-csirt's analyst for its incident, ENISA triage for the Reserve."""
    incident_side = path.startswith(("/api/v1/incidents/", "/api/v1/observables/", "/api/v1/level-proposals/",
                                     "/api/v1/alerts/"))
    return verified_client(world["people"]["de_analyst" if incident_side else "enisa_triage"])


def _url(world, path: str) -> str:
    owner = {"/api/v1/incidents/": world["incident"], "/api/v1/assistance-requests/": world["request"],
             "/api/v1/engagements/": world["engagement"]}
    for prefix, obj in owner.items():
        if path.startswith(prefix + "{id}"):
            return path.replace("{id}", str(obj.pk))
    return path


def test_the_schema_documents_every_list_with_results_next_and_previous(client):
    schema = _schema(client)
    lists = _documented_lists(schema)
    assert "/api/v1/incidents/{id}/timeline/" in lists and "/api/v1/level-proposals/" in lists
    for path in lists:
        if path in OWN_ENVELOPES:
            continue
        ref = schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in ref, f"{path} documents a bare array"
        component = schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]
        assert ENVELOPE <= set(component["properties"]), (path, component["properties"].keys())


def test_every_documented_list_answers_results_with_next_and_previous(world, client):
    queries = {"/api/v1/observables/search/": {"value": "203.0.113.9"}}
    read = []
    for path in _documented_lists(_schema(client)):
        if path in OWN_ENVELOPES:
            continue
        response = _reader(world, path).get(_url(world, path), queries.get(path, {}))
        assert response.status_code == 200, (path, response.content)
        body = response.json()
        assert set(body) == ENVELOPE and isinstance(body["results"], list), (path, body)
        read.append(path)
    assert {"/api/v1/incidents/{id}/reports/", "/api/v1/incidents/{id}/escalations/", "/api/v1/observables/search/",
            "/api/v1/engagements/{id}/work/", "/api/v1/engagements/{id}/updates/",
            "/api/v1/assistance-requests/{id}/engagements/"} <= set(read)


def test_a_long_timeline_is_read_page_by_page_following_next(world):
    reader = _reader(world, "/api/v1/incidents/")
    url = f"/api/v1/incidents/{world['incident'].pk}/timeline/"
    first = reader.get(url, {"page_size": 1}).json()
    texts = [entry["text"] for entry in first["results"]]
    page = first
    while page["next"]:
        page = reader.get(page["next"]).json()
        texts += [entry["text"] for entry in page["results"]]
    assert first["previous"] is None and page["previous"] is not None
    assert texts[-2:] == ["Contained", "Restored"]  # oldest first, each once
    assert len(texts) == len(set(texts)) == len(reader.get(url).json()["results"])


# --- Location on every 201 -----------------------------------------------------------------------------

def _crisis_bodies():
    """The Council Presidency (Ireland) and a French crisis authority in EU-CyCLONe."""
    factories.presidency("IE")
    ie = factories.organisation("ie-authority", "crisis_authority", "IE", "NCSC Ireland crisis")
    fr = factories.organisation("fr-authority", "crisis_authority", "FR", "ANSSI crisis")
    return (factories.person("liaison@ie-authority.example", ie, ["liaison_officer"]),
            factories.person("liaison@fr-authority.example", fr, ["liaison_officer"]))


def _level_2_incident(r) -> Incident:
    incident = incident_services.report_incident(
        actor=r["people"]["de_analyst"], organisation=r["orgs"]["de-csirt"], title="Grid control encrypted",
        aware_at=timezone.now() - timedelta(hours=1), tlp="green", national_capacity_exceeded=True)
    incident_services.evaluate_incident(incident_id=incident.pk)
    incident.refresh_from_db()
    assert incident.crisis_level == 2
    return incident


def _token(r, token_for, org="de-csirt") -> Client:
    return Client(headers={"Authorization": f"Bearer {token_for(r['orgs'][org], 'read,write')}"})


def _report_incident(r, token_for):
    body = {"title": "DDoS on the TSO", "aware_at": (timezone.now() - timedelta(hours=1)).isoformat()}
    return _token(r, token_for), "/api/v1/incidents/", body, "/api/v1/incidents/{new}/"


def _submit_report(r, token_for):
    url = f"/api/v1/incidents/{r['incident'].pk}/"
    return (_token(r, token_for), url + "reports/", {"kind": "early_warning", "content": {"summary": "Encrypted"}},
            url + "reports/")


def _add_timeline_entry(r, token_for):
    url = f"/api/v1/incidents/{r['incident'].pk}/"
    return _token(r, token_for), url + "timeline/", {"text": "Isolated the segment"}, url + "timeline/"


def _record_initial_response(r, token_for):
    url = f"/api/v1/incidents/{r['incident'].pk}/"  # de-csirt: the reporting state's CSIRT answers its entity
    return (verified_client(r["people"]["de_analyst"]), url + "initial-response/",
            {"text": "Isolate the PLCs; we are on our way"}, url + "timeline/")


def _add_task(r, token_for):
    url = f"/api/v1/incidents/{r['incident'].pk}/tasks/"
    return _token(r, token_for), url, {"title": "Image the engineering workstation"}, "/api/v1/tasks/{new}/"


def _declare(r, token_for):
    presidency, _ = _crisis_bodies()
    url = f"/api/v1/incidents/{_level_2_incident(r).pk}/"
    return verified_client(presidency), url + "declare/", {"level": 3, "reason": "Council informed"}, \
        url + "escalations/"


def _deescalate(r, token_for):
    presidency, _ = _crisis_bodies()
    incident = _level_2_incident(r)
    incident_services.declare_level(actor=presidency, incident=incident, level=3, reason="Council informed")
    url = f"/api/v1/incidents/{incident.pk}/"
    return verified_client(presidency), url + "deescalate/", {"level": 2, "reason": "Contained"}, \
        url + "escalations/"


def _propose(r, token_for):
    _, cyclone = _crisis_bodies()
    url = f"/api/v1/incidents/{_level_2_incident(r).pk}/"
    return verified_client(cyclone), url + "propose/", {"level": 3, "reason": "Coordinated attack on grids"}, url


def _accept_proposal(r, token_for):
    presidency, cyclone = _crisis_bodies()
    incident = _level_2_incident(r)
    incident_services.propose_level(actor=cyclone, incident=incident, level=3, reason="Coordinated attack")
    proposal = LevelProposal.objects.get(incident=incident, state="open")
    return (verified_client(presidency), f"/api/v1/level-proposals/{proposal.pk}/accept/",
            {"reason": "IPCR activated"}, f"/api/v1/incidents/{incident.pk}/escalations/")


def _start_request(r, token_for):
    body = {"affected_entity": "Stadtwerke Beispiel", "urgency": "urgent"}
    return _token(r, token_for), "/api/v1/assistance-requests/", body, "/api/v1/assistance-requests/{new}/"


def _engage_provider(r, token_for):
    request = rf.request_in(RequestStatus.APPROVED, r)
    return (verified_client(r["people"]["enisa_triage"]), f"/api/v1/assistance-requests/{request.pk}/engagements/",
            {"provider": "provider-acme"}, "/api/v1/engagements/{new}/")


def _submit_after_action_report(r, token_for):
    request = rf.request_in(RequestStatus.CLOSED, r)
    url = f"/api/v1/assistance-requests/{request.pk}/report/"
    body = {"service_provided": "Forensics", "results": "Restored", "lessons_learned": "Segment earlier"}
    return verified_client(r["people"]["de_analyst"]), url, body, url


def _log_work(r, token_for):
    engagement = rf.request_in(RequestStatus.DEPLOYED, r).engagements.get()
    url = f"/api/v1/engagements/{engagement.pk}/work/"
    body = {"day": timezone.localdate().isoformat(), "person_days": "1.5", "activity": "Triage of PLCs"}
    return verified_client(r["people"]["provider"]), url, body, url


def _post_update(r, token_for):
    engagement = rf.request_in(RequestStatus.DEPLOYED, r).engagements.get()
    url = f"/api/v1/engagements/{engagement.pk}/updates/"
    return verified_client(r["people"]["de_analyst"]), url, {"text": "OT network isolated"}, url


def _register_provider(r, token_for):
    factories.organisation("provider-delta", "reserve_provider", "FR", "Delta Response")
    body = {"organisation": "provider-delta", "services": ["malware_analysis"], "languages": ["fr"],
            "member_states": ["FR"], "response_hours": 6}
    return (verified_client(r["people"]["enisa_triage"]), "/api/v1/reserve-providers/", body,
            "/api/v1/reserve-providers/provider-delta/")


def _draft_warning(r, token_for):
    incident = incident_services.report_incident(
        actor=r["people"]["de_analyst"], organisation=r["orgs"]["de-csirt"], title="Rail DDoS", tlp="clear",
        aware_at=timezone.now() - timedelta(hours=1),
        affected_member_states=[factories.member_state("DE"), factories.member_state("FR")])
    body = {"incident": incident.pk, "title": "Rail outages: what travellers should know"}
    return verified_client(r["people"]["de_analyst"]), "/api/v1/warnings/", body, "/api/v1/warnings/{new}/"
def _draft_sitrep(r, token_for):
    presidency, _ = _crisis_bodies()
    body = {"incident": _level_2_incident(r).pk, "title": "SITREP 1"}
    return verified_client(presidency), "/api/v1/sitreps/", body, "/api/v1/sitreps/{new}/"


def _correct_sitrep(r, token_for):
    from awareness.services import sitreps as sitrep_services

    presidency, _ = _crisis_bodies()
    other = factories.person("crisis@ie-authority.example", presidency.memberships.get().organisation,
                             ["crisis_manager"])
    report = sitrep_services.draft_report(actor=presidency, incident=_level_2_incident(r))
    sitrep_services.submit_report(actor=presidency, report=report)
    sitrep_services.publish_report(actor=other, report=report)
    return verified_client(other), f"/api/v1/sitreps/{report.pk}/correct/", {}, "/api/v1/sitreps/{new}/"
def _request_review(r, token_for):
    from tests.awareness.reviews_support import incident_of

    incident = incident_of(r)
    return (verified_client(r["people"]["ec_decision"]), "/api/v1/reviews/", {"incident": incident.pk, "reason": "x"},
            "/api/v1/reviews/{new}/")


def _propose_lesson(r, token_for):
    request = rf.request_in(RequestStatus.REPORTED, r)
    body = {"source_kind": "reserve_after_action", "source_id": str(request.report.pk), "target": "other",
            "rationale": "Segment earlier"}
    return verified_client(r["people"]["de_analyst"]), "/api/v1/lessons/", body, "/api/v1/lessons/{new}/"


def _build_blueprint_draft(r, token_for):
    from awareness.services import lessons

    request = rf.request_in(RequestStatus.REPORTED, r)
    lesson = lessons.propose_lesson(actor=r["people"]["de_analyst"], source_kind="reserve_after_action",
                                    source_id=request.report.pk, target="other", rationale="Segment earlier")
    lessons.decide_lesson(actor=r["people"]["enisa_triage"], lesson=lesson, accept=True, reason="Yes")
    return (verified_client(r["people"]["enisa_admin"]), "/api/v1/lessons/blueprint-draft/", {},
            "/api/v1/lessons/blueprint-versions/")


# Schema path of each create -> how to make one: (client, url, body, the Location expected; {new} is the new id).
CREATES = {
    "/api/v1/incidents/": _report_incident,
    "/api/v1/incidents/{id}/reports/": _submit_report,
    "/api/v1/incidents/{id}/timeline/": _add_timeline_entry,
    "/api/v1/incidents/{id}/initial-response/": _record_initial_response,
    "/api/v1/incidents/{id}/tasks/": _add_task,
    "/api/v1/incidents/{id}/declare/": _declare,
    "/api/v1/incidents/{id}/deescalate/": _deescalate,
    "/api/v1/incidents/{id}/propose/": _propose,
    "/api/v1/level-proposals/{id}/accept/": _accept_proposal,
    "/api/v1/assistance-requests/": _start_request,
    "/api/v1/assistance-requests/{id}/engagements/": _engage_provider,
    "/api/v1/assistance-requests/{id}/report/": _submit_after_action_report,
    "/api/v1/engagements/{id}/work/": _log_work,
    "/api/v1/engagements/{id}/updates/": _post_update,
    "/api/v1/reserve-providers/": _register_provider,
    "/api/v1/warnings/": _draft_warning,
    "/api/v1/sitreps/": _draft_sitrep,
    "/api/v1/sitreps/{id}/correct/": _correct_sitrep,
    "/api/v1/reviews/": _request_review,
    "/api/v1/lessons/": _propose_lesson,
    "/api/v1/lessons/blueprint-draft/": _build_blueprint_draft,
}


def test_every_create_in_the_schema_is_checked_here_and_documents_its_location(client):
    schema = _schema(client)
    created = {path: operations["post"]["responses"]["201"] for path, operations in schema["paths"].items()
               if "201" in operations.get("post", {}).get("responses", {})}
    assert set(created) == set(CREATES)
    for path, response in created.items():
        assert response["headers"]["Location"]["schema"] == {"type": "string", "format": "uri"}, path


def _shown_at(client, location: str, created: dict) -> bool:
    """The Location answers, and shows what was created: itself, or the list (or incident) that holds it."""
    page = client.get(location)
    assert page.status_code == 200, (location, page.content)
    body = page.json()
    if isinstance(body.get("results"), list):
        return created["id"] in [row["id"] for row in body["results"]]
    if "level_proposals" in body and "level" in created and "incident" in created:
        return created["id"] in [p["id"] for p in body["level_proposals"]]
    key = "id" if "id" in created else "code" if "code" in created else None
    return body[key] == created[key] if key else body == created


@pytest.mark.parametrize("path", list(CREATES))
def test_every_create_answers_201_with_the_location_of_what_it_created(reserve, token_for, path):  # noqa: F811
    client, url, body, expected = CREATES[path](reserve, token_for)

    response = _post(client, url, body)

    assert response.status_code == 201, response.content
    created = response.json()
    expected = "http://testserver" + expected.replace("{new}", str(created.get("id")))
    assert response["Location"] == expected
    assert _shown_at(client, response["Location"], created)


def test_a_replayed_create_carries_the_same_location(reserve, token_for):  # noqa: F811
    client, url, body, _ = _report_incident(reserve, token_for)

    first = _post(client, url, body, HTTP_IDEMPOTENCY_KEY="shape-1")
    again = _post(client, url, body, HTTP_IDEMPOTENCY_KEY="shape-1")

    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert again["Location"] == first["Location"] == f"http://testserver/api/v1/incidents/{first.json()['id']}/"
    assert again["ETag"] == first["ETag"]
