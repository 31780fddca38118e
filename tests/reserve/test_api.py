"""The Reserve over the REST API: every endpoint's happy path, isolation, bad input, transitions and scopes."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from reserve import services
from reserve.models import AssistanceRequest, Engagement, ProviderProfile, WorkLog
from reserve.workflow import EngagementStatus, RequestStatus
from tests import factories
from tests.api.support import assert_error
from tests.conftest import verified_client
from tests.reserve import factories as rf

BASE = "/api/v1/assistance-requests/"


def _json(client, method, url, body=None, **headers):
    payload = json.dumps(body if body is not None else {})
    return getattr(client, method)(url, payload, content_type="application/json", **headers)


def post(client, url, body=None, **headers):
    return _json(client, "post", url, body, **headers)


def patch(client, url, body, **headers):
    return _json(client, "patch", url, body, **headers)


def api_content(incident, **overrides) -> dict:
    """The factories' complete request content, as JSON an API client sends."""
    values = rf.content([incident])
    values.update(sector="energy.electricity", incidents=[incident.pk],
                  window_start=values["window_start"].isoformat(), window_end=values["window_end"].isoformat())
    values.update(overrides)
    return values


class _Sessions(dict):
    """Signed-in browser sessions (MFA passed), each opened the first time a test asks for it."""

    def __init__(self, users):
        super().__init__()
        self.users = users

    def __missing__(self, name):
        self[name] = verified_client(self.users[name])
        return self[name]


@pytest.fixture
def people(reserve):
    return _Sessions(reserve["people"])


@pytest.fixture
def de_tool(reserve, token_for):
    return Client(headers={"Authorization": f"Bearer {token_for(reserve['orgs']['de-csirt'], 'read,write')}"})


def _states(pk):
    return AssistanceRequest.objects.get(pk=pk).status


# --- Drafting and submitting --------------------------------------------------------------------------

def test_soc_tool_saves_a_draft_completes_it_and_submits_through_the_spoc(reserve, de_tool):
    created = post(de_tool, BASE, {"affected_entity": "Stadtwerke Beispiel", "urgency": "urgent"})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft" and body["requester_organisation"] == "de-csirt"
    assert body["reference"].startswith("RSV-") and created["ETag"] == '"v1"'
    assert "incidents" in body["missing"] and "measures_confirmed" in body["missing"]
    assert "submit" in body["actions"]
    url = f"{BASE}{body['id']}/"

    completed = patch(de_tool, url, api_content(reserve["incident"]), HTTP_IF_MATCH='"v1"')
    assert completed.status_code == 200, completed.json()
    assert completed.json()["missing"] == {} and completed["ETag"] == '"v2"'
    assert [i["id"] for i in completed.json()["incidents"]] == [reserve["incident"].pk]

    submitted = post(de_tool, f"{url}submit/", HTTP_IF_MATCH='"v2"')
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "awaiting_spoc" and submitted.json()["spoc_organisation"] == "de-spoc"

    listed = de_tool.get(BASE).json()["results"]
    assert [(r["id"], r["status"], r["member_state"]) for r in listed] == [(body["id"], "awaiting_spoc", "DE")]
    assert de_tool.get(url, HTTP_IF_NONE_MATCH=submitted["ETag"]).status_code == 304


def test_submitting_an_incomplete_draft_names_every_missing_field_and_changes_nothing(reserve, de_tool):
    draft = post(de_tool, BASE, {"affected_entity": "Stadtwerke"}).json()
    response = post(de_tool, f"{BASE}{draft['id']}/submit/")
    error = assert_error(response, 400, fields=["incidents", "services", "measures_confirmed", "window_start"])
    assert "Art. 15(2)" in error["fields"]["measures_confirmed"][0]
    assert _states(draft["id"]) == RequestStatus.DRAFT


@pytest.mark.parametrize("body,field,says", [
    ({"services": ["teleportation"]}, "services.0", "not a valid choice"),  # list items are named by position
    ({"sector": "energy.nuclear"}, "sector", "Unknown sector"),
    ({"person_days": 0}, "person_days", "greater than or equal to 1"),
    ({"window_start": "2026-05-10", "window_end": "2026-05-01"}, "window_end", "ends before it starts"),
    ({"languages": ["deutsch"]}, "languages", "ISO 639-1"),
    ({"urgency": "yesterday"}, "urgency", "not a valid choice"),
    ({"security_clearance": "cosmic"}, "security_clearance", "not a valid choice"),
    ({"measures_confirmed": "maybe"}, "measures_confirmed", "valid boolean"),
])
def test_bad_content_is_a_400_naming_the_field_and_creates_nothing(reserve, de_tool, body, field, says):
    response = post(de_tool, BASE, body)
    assert_error(response, 400, fields=[field], says=says)
    assert not AssistanceRequest.objects.exists()


def test_csoa_art17_a_request_states_the_security_clearance_its_deployed_staff_need(reserve, de_tool):
    created = post(de_tool, BASE, {"affected_entity": "Ministry of Defence supplier", "security_clearance": "secret"})
    assert created.status_code == 201, created.json()
    assert created.json()["security_clearance"] == "secret"
    assert AssistanceRequest.objects.get().security_clearance == "secret"


def test_linking_an_incident_the_requester_cannot_see_is_refused_naming_incidents(reserve, de_tool):
    fr_incident = rf.incident(reserve["people"]["fr_analyst"], reserve["orgs"]["fr-csirt"], title="FR only")
    response = post(de_tool, BASE, api_content(reserve["incident"], incidents=[reserve["incident"].pk, fr_incident.pk]))
    error = assert_error(response, 400, fields=["incidents"])
    assert f"Incident {fr_incident.pk} does not exist or is not visible to you" in error["fields"]["incidents"][0]
    assert not AssistanceRequest.objects.exists()


def test_an_organisation_kind_that_may_not_request_is_refused(reserve, people):
    response = post(people["de_hub"], BASE, {"affected_entity": "Stadtwerke"})
    error = assert_error(response, 400, fields=["organisation"])
    assert "may not request Reserve support" in error["fields"]["organisation"][0]
    assert not AssistanceRequest.objects.exists()


def test_a_token_requests_only_for_its_own_organisation(reserve, de_tool):
    response = post(de_tool, BASE, {"organisation": "fr-csirt", "affected_entity": "x"})
    assert_error(response, 400, fields=["organisation"], says="its own organisation")
    assert not AssistanceRequest.objects.exists()


def test_retried_create_with_the_same_idempotency_key_makes_one_draft(reserve, de_tool):
    first = post(de_tool, BASE, {"affected_entity": "Stadtwerke"}, HTTP_IDEMPOTENCY_KEY="rsv-1")
    again = post(de_tool, BASE, {"affected_entity": "Stadtwerke"}, HTTP_IDEMPOTENCY_KEY="rsv-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert AssistanceRequest.objects.count() == 1


def test_patch_with_a_stale_etag_is_412_and_keeps_the_newer_content(reserve, de_tool):
    draft = post(de_tool, BASE, {"affected_entity": "First"}).json()
    url = f"{BASE}{draft['id']}/"
    assert patch(de_tool, url, {"affected_entity": "Second"}, HTTP_IF_MATCH='"v1"').status_code == 200
    stale = patch(de_tool, url, {"affected_entity": "Third"}, HTTP_IF_MATCH='"v1"')
    assert_error(stale, 412, says="changed since you loaded it")
    assert de_tool.get(url).json()["affected_entity"] == "Second"


def test_a_submitted_request_cannot_be_edited_only_moved_through_its_workflow(reserve, de_tool):
    request = rf.request_in(RequestStatus.SUBMITTED, reserve)
    response = patch(de_tool, f"{BASE}{request.pk}/", {"affected_entity": "Changed"})
    assert_error(response, 409, code="invalid_transition", says="cannot be edited")
    request.refresh_from_db()
    assert request.affected_entity == "Stadtwerke Beispiel GmbH"


# --- Routing, triage, decision ------------------------------------------------------------------------

def test_spoc_forwards_and_enisa_sees_the_request_in_its_queue_with_priority_and_clock(reserve, people, freezer):
    freezer.move_to("2026-11-23T08:00:00Z")
    request = rf.request_in(RequestStatus.AWAITING_SPOC, reserve)
    forwarded = post(people["de_spoc"], f"{BASE}{request.pk}/forward/", {"note": "Endorsed"})
    assert forwarded.status_code == 200, forwarded.json()
    assert forwarded.json()["status"] == "submitted"

    freezer.move_to("2026-11-23T20:00:00Z")
    queue = people["enisa_triage"].get("/api/v1/reserve-triage-queue/")
    assert queue.status_code == 200, queue.json()
    (item,) = queue.json()["results"]
    assert item["id"] == request.pk and item["position"] == 1
    assert item["priority"]["score"] == sum(f["points"] for f in item["priority"]["factors"])
    assert item["priority"]["explanation"].startswith(f"Priority {item['priority']['score']}/100 (CSoA Art. 16 ")
    assert "NIS2 essential entity" in item["priority"]["explanation"]
    # Beside the score, no points: the crisis level and the declared urgency.
    assert {f["name"] for f in item["priority"]["factors"]}.isdisjoint({"crisis_level", "urgency"})
    assert item["priority"]["urgency"] == "immediate" and isinstance(item["priority"]["crisis_level"], int)
    assert [b["name"] for b in item["priority"]["beside"]] == ["crisis_level", "urgency"]
    clock = item["response_clock"]
    assert clock["clock"] == "response" and clock["due_at"] == "2026-11-25T08:00:00Z"
    assert clock["seconds_left"] == 36 * 3600 and clock["overdue"] is False


def test_the_queue_is_ordered_by_priority_and_filtered(reserve, people):
    low = rf.request_in(RequestStatus.SUBMITTED, reserve, entity_type="other", impact_level="limited",
                        urgency="routine", affected_entity="Low")
    high = rf.request_in(RequestStatus.SUBMITTED, reserve, impact_level="critical", spill_over_risk="high",
                         affected_entity="High")
    client = people["enisa_triage"]
    results = client.get("/api/v1/reserve-triage-queue/").json()["results"]
    assert [r["id"] for r in results] == [high.pk, low.pk]
    assert results[0]["priority"]["score"] > results[1]["priority"]["score"]
    assert [r["id"] for r in client.get("/api/v1/reserve-triage-queue/?urgency=routine").json()["results"]] == [low.pk]
    assert client.get("/api/v1/reserve-triage-queue/?member_state=FR").json()["count"] == 0
    assert_error(client.get("/api/v1/reserve-triage-queue/?member_state=XX"), 400, fields=["member_state"])
    assert_error(client.get("/api/v1/reserve-triage-queue/?status=draft"), 400, fields=["status"])


def test_the_queue_is_for_the_contracting_authority_side_only(reserve, people):
    rf.request_in(RequestStatus.SUBMITTED, reserve)
    assert_error(people["de_analyst"].get("/api/v1/reserve-triage-queue/"), 403, says="triage queue")
    assert people["ec_decision"].get("/api/v1/reserve-triage-queue/").json()["count"] == 1


def test_triage_asks_for_information_the_requester_answers_and_triage_assesses(reserve, people):
    request = rf.request_in(RequestStatus.SUBMITTED, reserve)
    url = f"{BASE}{request.pk}/"
    asked = post(people["enisa_triage"], f"{url}request-info/", {"question": "Which PLC vendor?"})
    assert asked.status_code == 200 and asked.json()["status"] == "info_requested"
    answered = post(people["de_analyst"], f"{url}answer-info/", {"answer": "Siemens S7"})
    assert answered.status_code == 200 and answered.json()["status"] == "submitted"
    assert answered.json()["information_requests"][0]["answer"] == "Siemens S7"
    assert answered.json()["assessments"] == []  # the requester never sees triage's advice

    assessed = post(people["enisa_triage"], f"{url}assess/",
                    {"complete": True, "recommendation": "approve", "reasons": "Severe impact on an essential entity"})
    assert assessed.status_code == 200, assessed.json()
    (assessment,) = assessed.json()["assessments"]
    assert assessment["recommendation"] == "approve" and assessment["priority_explanation"].startswith("Priority ")
    assert people["de_analyst"].get(url).json()["assessments"] == []


def test_decision_maker_approves_and_the_requester_sees_the_decision(reserve, people):
    request = rf.request_in(RequestStatus.ASSESSED, reserve)
    decided = post(people["enisa_decision"], f"{BASE}{request.pk}/decide/",
                   {"outcome": "approved", "reasons": "Meets Art. 15"})
    assert decided.status_code == 200, decided.json()
    seen = people["de_analyst"].get(f"{BASE}{request.pk}/").json()
    assert seen["status"] == "approved" and seen["decision"]["outcome"] == "approved"
    assert seen["decision"]["organisation"] == "enisa"


def test_illegal_transitions_are_409_with_a_clear_message_and_change_nothing(reserve, people):
    request = rf.request_in(RequestStatus.SUBMITTED, reserve)
    response = post(people["enisa_decision"], f"{BASE}{request.pk}/decide/", {"outcome": "approved", "reasons": "x"})
    assert_error(response, 409, code="invalid_transition", says="cannot approve now")
    again = post(people["de_analyst"], f"{BASE}{request.pk}/submit/")
    assert_error(again, 409, says="only when draft")
    assert _states(request.pk) == RequestStatus.SUBMITTED
    assert not hasattr(AssistanceRequest.objects.get(pk=request.pk), "decision")


def test_the_wrong_role_is_403_and_changes_nothing(reserve, people):
    request = rf.request_in(RequestStatus.ASSESSED, reserve)
    response = post(people["de_analyst"], f"{BASE}{request.pk}/decide/", {"outcome": "approved", "reasons": "Mine"})
    assert_error(response, 403, says="decision-makers of the contracting authority")
    assert _states(request.pk) == RequestStatus.ASSESSED


def test_decision_without_reasons_is_a_400_naming_reasons(reserve, people):
    request = rf.request_in(RequestStatus.ASSESSED, reserve)
    response = post(people["enisa_decision"], f"{BASE}{request.pk}/decide/", {"outcome": "rejected", "reasons": " "})
    assert_error(response, 400, fields=["reasons"])
    assert _states(request.pk) == RequestStatus.ASSESSED


def test_spoc_returns_and_requester_withdraws(reserve, people):
    request = rf.request_in(RequestStatus.AWAITING_SPOC, reserve)
    returned = post(people["de_spoc"], f"{BASE}{request.pk}/return/", {"reason": "Add the IR contract"})
    assert returned.status_code == 200 and returned.json()["status"] == "draft"
    withdrawn = post(people["de_analyst"], f"{BASE}{request.pk}/withdraw/", {"reason": "Handled nationally"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"


# --- Matching and engagement ----------------------------------------------------------------------------

def test_enisa_sees_the_ranking_with_reasons_and_exclusions(reserve, people):
    admin = reserve["people"]["enisa_triage"]
    rf.provider(admin, "provider-delta", certified=False)
    request = rf.request_in(RequestStatus.APPROVED, reserve)
    response = people["enisa_triage"].get(f"{BASE}{request.pk}/ranking/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert [(r["provider"], r["rank"]) for r in body["ranked"]] == [
        ("provider-acme", 1), ("provider-beta", 2), ("provider-gamma", 3)]
    assert "Commits to respond within 4 h (+20/20)" in body["ranked"][0]["reasons"]
    (delta,) = body["excluded"]
    assert delta["provider"] == "provider-delta" and delta["code"] == "certification"
    assert "certification" in delta["reason"].lower()
    assert body["need"]["member_state"] == "DE" and body["need"]["person_days"] == 20


def test_only_enisa_triage_sees_the_ranking(reserve, people):
    """ENISA matches providers (DESIGN.md "Who uses it"); the decision-makers decide on ENISA's assessment."""
    request = rf.request_in(RequestStatus.APPROVED, reserve)
    assert_error(people["de_analyst"].get(f"{BASE}{request.pk}/ranking/"), 403, says="ranking")
    assert_error(people["enisa_decision"].get(f"{BASE}{request.pk}/ranking/"), 403, says="ENISA triage")
    assert_error(people["pt_analyst"].get(f"{BASE}{request.pk}/ranking/"), 404)
    assert people["enisa_triage"].get(f"{BASE}{request.pk}/ranking/").status_code == 200


def test_engaging_an_uncertified_provider_is_refused_and_books_nothing(reserve, people):
    rf.provider(reserve["people"]["enisa_triage"], "provider-delta", certified=False)
    request = rf.request_in(RequestStatus.APPROVED, reserve)
    response = post(people["enisa_triage"], f"{BASE}{request.pk}/engagements/", {"provider": "provider-delta"})
    error = assert_error(response, 400, fields=["provider"])
    assert "cannot be engaged (certification)" in error["fields"]["provider"][0]
    assert not Engagement.objects.exists()


def test_overbooking_a_provider_is_refused_and_books_nothing(reserve, people):
    request = rf.request_in(RequestStatus.APPROVED, reserve, person_days=50)
    response = post(people["enisa_triage"], f"{BASE}{request.pk}/engagements/", {"provider": "provider-gamma"})
    error = assert_error(response, 400, fields=["provider"])
    assert "(capacity)" in error["fields"]["provider"][0] and "40 free person-days" in error["fields"]["provider"][0]
    assert not Engagement.objects.exists()


def test_engaging_on_a_request_not_yet_approved_is_409(reserve, people):
    request = rf.request_in(RequestStatus.ASSESSED, reserve)
    response = post(people["enisa_triage"], f"{BASE}{request.pk}/engagements/", {"provider": "provider-acme"})
    assert_error(response, 409, says="only on approved requests")
    assert not Engagement.objects.exists()


def test_engage_accept_log_work_update_close_and_report(reserve, people):
    request = rf.request_in(RequestStatus.APPROVED, reserve)
    url = f"{BASE}{request.pk}/"
    engaged = post(people["enisa_triage"], f"{url}engagements/", {"provider": "provider-acme"})
    assert engaged.status_code == 201, engaged.json()
    engagement = engaged.json()
    assert engagement["status"] == "offered" and engagement["rank"] == 1 and engagement["person_days"] == 20
    e_url = f"/api/v1/engagements/{engagement['id']}/"

    mine = people["provider"].get(e_url).json()
    assert set(mine["actions"]) == {"accept", "decline"}
    accepted = post(people["provider"], f"{e_url}accept/")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert _states(request.pk) == RequestStatus.DEPLOYED

    day = timezone.localdate().isoformat()
    early = post(people["provider"], f"{e_url}work/", {"day": day, "person_days": "1.5", "activity": "Triage of PLCs"})
    assert early.status_code == 409  # CSoA Art. 16: not before the specific agreement
    assert set(people["provider"].get(e_url).json()["actions"]) == {"confirm_agreement"}
    assert set(people["de_analyst"].get(e_url).json()["actions"]) == {"confirm_agreement"}
    agreement = {"template_reference": "ENISA-RSV-SA-2025", "agreement_date": day, "liability_accepted": True}
    for side in ("provider", "de_analyst"):
        confirmed = post(people[side], f"{e_url}agreement/", agreement)
        assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["agreement"]["in_force"] is True and confirmed.json()["actions"] == []
    logged = post(people["provider"], f"{e_url}work/", {"day": day, "person_days": "1.5", "activity": "Triage of PLCs"})
    assert logged.status_code == 201, logged.json()
    assert people["enisa_triage"].get(f"{e_url}work/").json()["results"][0]["person_days"] == "1.5"
    assert people["enisa_triage"].get(e_url).json()["logged_days"] == "1.5"

    update = post(people["de_analyst"], f"{e_url}updates/", {"text": "OT network isolated"})
    assert update.status_code == 201 and update.json()["organisation"] == "de-csirt"
    assert [u["text"] for u in people["provider"].get(f"{e_url}updates/").json()["results"]] == ["OT network isolated"]

    closed = post(people["de_analyst"], f"{url}close/")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert any(d["clock"] == "after_action_report" for d in closed.json()["deadlines"])

    report = post(people["de_analyst"], f"{url}report/",
                  {"service_provided": "Forensics", "results": "Restored", "lessons_learned": "Segment earlier"})
    assert report.status_code == 201, report.json()
    assert people["ec_decision"].get(f"{url}report/").json()["lessons_learned"] == "Segment earlier"
    assert_error(people["provider"].get(f"{url}report/"), 404)


def test_logging_more_days_than_booked_is_refused(reserve, people):
    request = rf.request_in(RequestStatus.DEPLOYED, reserve, person_days=2)
    engagement = request.engagements.get()
    day = timezone.localdate().isoformat()
    response = post(people["provider"], f"/api/v1/engagements/{engagement.pk}/work/",
                    {"day": day, "person_days": "2.5", "activity": "Too much"})
    assert_error(response, 400, fields=["person_days"], says="exceed the booking")
    assert not WorkLog.objects.exists()


def test_a_decline_proposes_the_next_ranked_provider(reserve, people):
    request = rf.request_in(RequestStatus.APPROVED, reserve)
    engaged = post(people["enisa_triage"], f"{BASE}{request.pk}/engagements/", {"provider": "provider-acme"}).json()
    declined = post(people["provider"], f"/api/v1/engagements/{engaged['id']}/decline/", {"reason": "Team busy"})
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    rows = people["enisa_triage"].get(f"{BASE}{request.pk}/engagements/").json()["results"]
    assert [(r["provider"], r["status"], r["offered_by"]) for r in rows] == [
        ("provider-acme", "declined", "triage@enisa.example"), ("provider-beta", "offered", None)]
    assert_error(post(people["provider"], f"/api/v1/engagements/{engaged['id']}/decline/", {"reason": "x"}), 409)


def test_decline_without_a_reason_is_400_and_keeps_the_offer(reserve, people):
    request = rf.request_in(RequestStatus.APPROVED, reserve)
    engaged = post(people["enisa_triage"], f"{BASE}{request.pk}/engagements/", {"provider": "provider-acme"}).json()
    assert_error(post(people["provider"], f"/api/v1/engagements/{engaged['id']}/decline/", {"reason": ""}), 400,
                 fields=["reason"])
    assert Engagement.objects.get(pk=engaged["id"]).status == EngagementStatus.OFFERED


def test_enisa_cancels_an_unanswered_offer(reserve, people):
    request = rf.request_in(RequestStatus.APPROVED, reserve)
    engaged = post(people["enisa_triage"], f"{BASE}{request.pk}/engagements/", {"provider": "provider-beta"}).json()
    cancelled = post(people["enisa_triage"], f"/api/v1/engagements/{engaged['id']}/cancel/", {"reason": "Wrong share"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


# --- Isolation ------------------------------------------------------------------------------------------

@pytest.fixture
def two_engagements(reserve, people):
    """A deployed request with acme accepted, and beta offered a share on it."""
    request = rf.request_in(RequestStatus.DEPLOYED, reserve, person_days=10)
    beta = post(people["enisa_triage"], f"{BASE}{request.pk}/engagements/",
                {"provider": "provider-beta", "services": ["digital_forensics"], "person_days": 5}).json()
    acme = request.engagements.get(provider__code="provider-acme")
    return request, acme, Engagement.objects.get(pk=beta["id"])


def test_a_provider_sees_its_own_engagements_only_on_every_read_path(reserve, people, two_engagements):
    request, acme, beta = two_engagements
    acme_client, beta_client = people["provider"], people["beta"]
    assert [e["id"] for e in acme_client.get("/api/v1/engagements/").json()["results"]] == [acme.pk]
    assert [e["id"] for e in beta_client.get("/api/v1/engagements/").json()["results"]] == [beta.pk]
    for path in ["", "work/", "updates/"]:
        assert_error(beta_client.get(f"/api/v1/engagements/{acme.pk}/{path}"), 404)
        assert_error(acme_client.get(f"/api/v1/engagements/{beta.pk}/{path}"), 404)
    assert_error(post(beta_client, f"/api/v1/engagements/{acme.pk}/updates/", {"text": "hi"}), 404)
    assert_error(post(acme_client, f"/api/v1/engagements/{beta.pk}/accept/"), 404)
    assert Engagement.objects.get(pk=beta.pk).status == EngagementStatus.OFFERED
    detail = acme_client.get(f"{BASE}{request.pk}/").json()
    assert [e["provider"] for e in detail["engagements"]] == ["provider-acme"]
    assert detail["information_requests"] == [] and detail["assessments"] == [] and detail["decision"] is None
    assert [e["provider"] for e in acme_client.get(f"{BASE}{request.pk}/engagements/").json()["results"]] == ["provider-acme"]
    enisa = people["enisa_triage"].get(f"{BASE}{request.pk}/engagements/").json()["results"]
    assert sorted(e["provider"] for e in enisa) == ["provider-acme", "provider-beta"]
    # the event feed agrees: beta gets the events of its own engagement, none of acme's
    feed = beta_client.get("/api/v1/events/", {"limit": 500}).json()["results"]
    engagement_events = [e for e in feed if e["subject_type"] == "engagement"]
    assert engagement_events and {e["subject_id"] for e in engagement_events} == {beta.pk}
    assert all(e["payload"].get("provider") != "provider-acme" for e in feed)


def test_a_provider_never_engaged_on_a_request_gets_404(reserve, people):
    request = rf.request_in(RequestStatus.DEPLOYED, reserve)
    for path in ["", "engagements/", "report/", "ranking/"]:
        assert_error(people["gamma"].get(f"{BASE}{request.pk}/{path}"), 404)
    assert people["gamma"].get(BASE).json()["results"] == []
    assert people["gamma"].get("/api/v1/engagements/").json()["results"] == []


@pytest.mark.parametrize("who", ["pt_analyst", "fr_analyst", "no_analyst"])
def test_an_unrelated_member_state_gets_404_and_an_empty_list(reserve, people, who):
    request = rf.request_in(RequestStatus.SUBMITTED, reserve)
    client = people[who]
    assert_error(client.get(f"{BASE}{request.pk}/"), 404)
    assert_error(post(client, f"{BASE}{request.pk}/withdraw/", {"reason": "x"}), 404)
    assert client.get(BASE).json()["results"] == []
    assert _states(request.pk) == RequestStatus.SUBMITTED


def test_linked_incidents_are_shown_only_to_those_who_may_see_them(reserve, people):
    request = rf.request_in(RequestStatus.SUBMITTED, reserve)
    assert [i["id"] for i in people["de_analyst"].get(f"{BASE}{request.pk}/").json()["incidents"]] == [
        reserve["incident"].pk]
    assert people["enisa_triage"].get(f"{BASE}{request.pk}/").json()["incidents"] == []


def test_list_filters_by_status_member_state_and_urgency(reserve, people):
    draft = rf.request_in(RequestStatus.DRAFT, reserve, urgency="routine")
    submitted = rf.request_in(RequestStatus.SUBMITTED, reserve, urgency="immediate")
    client = people["enisa_triage"]
    assert [r["id"] for r in client.get(f"{BASE}?status=submitted").json()["results"]] == [submitted.pk]
    assert [r["id"] for r in client.get(f"{BASE}?member_state=de").json()["results"]] == [submitted.pk]  # not the draft
    assert [r["id"] for r in people["de_analyst"].get(f"{BASE}?urgency=routine").json()["results"]] == [draft.pk]
    assert_error(client.get(f"{BASE}?member_state=XX"), 400, fields=["member_state"])
    assert_error(client.get(f"{BASE}?status=lost"), 400, fields=["status"])


# --- Scopes ---------------------------------------------------------------------------------------------

def test_a_read_token_reads_but_cannot_write(reserve, token_for):
    reader = Client(headers={"Authorization": f"Bearer {token_for(reserve['orgs']['de-csirt'], 'read')}"})
    request = rf.request_in(RequestStatus.DRAFT, reserve)
    assert reader.get(f"{BASE}{request.pk}/").status_code == 200
    assert_error(post(reader, BASE, {"affected_entity": "x"}), 403, says="'write' scope")
    assert_error(patch(reader, f"{BASE}{request.pk}/", {"affected_entity": "x"}), 403, says="'write' scope")
    assert_error(post(reader, f"{BASE}{request.pk}/withdraw/", {"reason": "x"}), 403, says="'write' scope")
    assert AssistanceRequest.objects.count() == 1 and _states(request.pk) == RequestStatus.DRAFT


def test_unauthenticated_calls_are_401(db):
    assert_error(Client().get(BASE), 401)
    assert_error(Client().get("/api/v1/reserve-providers/"), 401)


# --- Providers ------------------------------------------------------------------------------------------

def test_enisa_registers_a_provider_and_sets_its_capacity(reserve, people):
    factories.organisation("provider-delta", "reserve_provider", "FR", "Delta Response")
    body = {"organisation": "provider-delta", "services": ["malware_analysis", "threat_hunting"],
            "sectors": ["health"], "languages": ["fr", "en"], "member_states": ["FR", "BE"],
            "certification_status": "vetted", "certified_from": "2026-01-01", "certified_until": "2027-12-31",
            "conflicts_of_interest": ["Hôpital Exemple"], "response_hours": 6}
    created = post(people["enisa_triage"], "/api/v1/reserve-providers/", body)
    assert created.status_code == 201, created.json()
    assert created.json()["member_states"] == ["BE", "FR"] and created.json()["capacities"] == []
    capacity = post(people["enisa_triage"], "/api/v1/reserve-providers/provider-delta/capacity/",
                    {"period_start": "2026-01-01", "period_end": "2026-12-31", "person_days": 80})
    assert capacity.status_code == 200, capacity.json()
    assert capacity.json()["capacities"] == [
        {"period_start": "2026-01-01", "period_end": "2026-12-31", "person_days": 80, "booked": 0}]
    changed = patch(people["enisa_triage"], "/api/v1/reserve-providers/provider-delta/", {"response_hours": 3})
    assert changed.status_code == 200 and changed.json()["response_hours"] == 3


@pytest.mark.parametrize("body,field,says", [
    ({"organisation": "de-csirt"}, "organisation", "not a Reserve provider organisation"),
    ({"organisation": "provider-acme"}, "organisation", "already registered"),
    ({"organisation": "provider-nobody"}, "organisation", "Unknown code"),
    ({"organisation": "provider-delta", "member_states": ["XX"]}, "member_states", "Unknown code"),
    ({"organisation": "provider-delta", "services": ["magic"]}, "services.0", "not a valid choice"),
])
def test_bad_provider_registrations_are_400_naming_the_field(reserve, people, body, field, says):
    factories.organisation("provider-delta", "reserve_provider", "FR", "Delta Response")
    full = {"services": ["incident_response"], "languages": ["en"], "member_states": ["FR"], "response_hours": 4, **body}
    assert_error(post(people["enisa_triage"], "/api/v1/reserve-providers/", full), 400, fields=[field], says=says)
    assert ProviderProfile.objects.count() == 3


def test_a_provider_sees_only_itself_in_the_registry_and_cannot_register(reserve, people):
    listed = people["provider"].get("/api/v1/reserve-providers/").json()["results"]
    assert [p["code"] for p in listed] == ["provider-acme"]
    assert_error(people["provider"].get("/api/v1/reserve-providers/provider-beta/"), 404)
    everyone = people["enisa_triage"].get("/api/v1/reserve-providers/").json()["results"]
    assert [p["code"] for p in everyone] == ["provider-acme", "provider-beta", "provider-gamma"]
    factories.organisation("provider-delta", "reserve_provider", "FR", "Delta Response")
    attempt = post(people["provider"], "/api/v1/reserve-providers/", {
        "organisation": "provider-delta", "services": ["incident_response"], "languages": ["en"],
        "member_states": ["FR"], "response_hours": 4})
    assert_error(attempt, 403, says="provider registry")
    assert_error(patch(people["provider"], "/api/v1/reserve-providers/provider-acme/", {"response_hours": 1}), 403)
    assert ProviderProfile.objects.get(organisation__code="provider-acme").response_hours == 4


def test_provider_filters(reserve, people):
    client = people["enisa_triage"]
    services.update_provider(actor=reserve["people"]["enisa_triage"], profile=reserve["profiles"]["gamma"],
                             services=["malware_analysis"], member_states=[factories.member_state("PT")])
    assert [p["code"] for p in client.get("/api/v1/reserve-providers/?service=malware_analysis").json()["results"]] == [
        "provider-gamma"]
    assert [p["code"] for p in client.get("/api/v1/reserve-providers/?member_state=pt").json()["results"]] == [
        "provider-beta", "provider-gamma"]  # acme does not deploy to PT
    assert_error(client.get("/api/v1/reserve-providers/?service=magic"), 400, fields=["service"])


def test_provider_detail_shows_booked_capacity(reserve, people):
    rf.request_in(RequestStatus.DEPLOYED, reserve)  # acme booked for 20 person-days
    capacities = people["enisa_triage"].get("/api/v1/reserve-providers/provider-acme/").json()["capacities"]
    assert [(c["person_days"], c["booked"]) for c in capacities] == [(100, 20)]


def test_the_api_root_lists_the_reserve_collections(reserve, de_tool):
    links = de_tool.get("/api/v1/").json()
    assert {"assistance-requests", "engagements", "reserve-providers", "reserve-triage-queue"} <= set(links)


def test_a_window_that_already_ended_cannot_be_submitted(reserve, de_tool):
    past = (timezone.localdate() - timedelta(days=3)).isoformat()
    draft = post(de_tool, BASE, api_content(reserve["incident"], window_start=past, window_end=past)).json()
    assert_error(post(de_tool, f"{BASE}{draft['id']}/submit/"), 400, fields=["window_end"], says="already ended")
