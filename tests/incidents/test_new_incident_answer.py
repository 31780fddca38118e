"""The answer to a report is rendered from memory (``incidents.api.new_incident``), not by the detail serializer:
for every kind of report it must be, byte for byte, what reading the incident back answers."""

import json
import uuid

import pytest
from django.test import Client

from tests.exercises import support

pytestmark = pytest.mark.django_db(transaction=True)

AWARE = "2026-11-23T06:00:00Z"

REPORTS = {
    "minimal early notice": {"title": "Phishing wave", "aware_at": AWARE, "tlp": "amber"},
    "early warning in two states and a sector": {
        "title": "DDoS on TSO", "aware_at": AWARE, "tlp": "amber", "severity": "medium",
        "affected_member_states": ["FR", "PT"], "sectors": ["energy.electricity"],
        "early_warning": {"summary": "Load shedding in two grids."}},
    "every fact, tags and a category": {
        "title": "Wiper at a DSO", "aware_at": AWARE, "tlp": "amber+strict", "severity": "critical",
        "description": "Field devices wiped.", "entity_type": "essential", "category": "availability/ddos",
        "suspected_malicious": True, "cross_border_impact": None, "national_capacity_exceeded": True,
        "technical_cooperation_requested": True, "significance": "significant",
        "significance_grounds": ["operational_disruption"], "significance_explanation": "Grid down.",
        "affected_member_states": ["DE"], "sectors": ["energy.electricity", "transport.rail"],
        "tags": ["wiper", "ours"]},
    "voluntary notification (no clocks)": {
        "title": "Near miss", "aware_at": AWARE, "tlp": "clear", "significance": "voluntary"},
    "early warning of a single state": {
        "title": "Ransomware", "aware_at": AWARE, "tlp": "red", "affected_member_states": ["DE"],
        "early_warning": {"summary": "Encrypted file servers.", "threat_type": "ransomware"},
        "suspected_malicious": True},
}


@pytest.fixture
def reporter(network, token_for, freezer, monkeypatch):
    from incidents import tasks

    # Read back before the escalation engine looks at it (it runs in a worker, after the answer).
    monkeypatch.setattr(tasks.evaluate_incident, "delay", lambda *args: None)
    freezer.move_to("2026-11-23T08:00:00Z")
    return Client(headers={"Authorization": f"Bearer {token_for(network['orgs']['de-csirt'])}"})


def _report(client, body: dict):
    return client.post("/api/v1/incidents/", json.dumps(body), content_type="application/json",
                       headers={"Idempotency-Key": str(uuid.uuid4())})


def _assert_answer_is_the_read_back(client, body: dict):
    created = _report(client, body)
    assert created.status_code == 201, created.json()
    read = client.get(created["Location"])
    assert read.status_code == 200
    assert created.content == read.content, (created.json(), read.json())
    assert created["ETag"] == read["ETag"]
    return created.json()


@pytest.mark.parametrize("body", REPORTS.values(), ids=REPORTS.keys())
def test_the_answer_to_each_kind_of_report_is_what_reading_it_back_answers(reporter, body):
    answer = _assert_answer_is_the_read_back(reporter, body)
    assert answer["title"] == body["title"] and answer["tlp"] == body["tlp"]


def test_the_answers_cover_met_and_open_deadlines_reports_and_cross_border_targets(reporter):
    warned = _assert_answer_is_the_read_back(reporter, REPORTS["early warning in two states and a sector"])
    assert [d["met_at"] is not None for d in warned["deadlines"]].count(True) == 1  # the early warning's
    assert warned["reports"] and warned["cross_border"] and warned["next_deadline"]["met_at"] is None
    voluntary = _assert_answer_is_the_read_back(reporter, REPORTS["voluntary notification (no clocks)"])
    assert voluntary["deadlines"] == [] and voluntary["next_deadline"] is None


def test_the_answer_to_a_report_in_an_exercise_names_the_exercise(network, reporter):
    support.add_people(network)
    exercise = support.create_exercise(network)
    reporter.defaults["HTTP_X_EXERCISE"] = str(exercise.pk)
    answer = _assert_answer_is_the_read_back(reporter, REPORTS["minimal early notice"])
    assert answer["exercise"] == {"id": exercise.pk, "name": exercise.name}
