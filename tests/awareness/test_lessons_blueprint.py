"""Lessons learned: proposed from a source the person reads, decided by ENISA, answered in the next Blueprint draft."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from awareness.models import LessonProposal
from awareness.selectors import lessons as selectors
from awareness.services import lessons as services
from incidents.models import Blueprint
from liaison.models import Event
from reserve.workflow import RequestStatus
from tests.awareness import reviews_support
from tests.awareness.reviews_support import review_in
from tests.reserve import conftest as reserve_conftest
from tests.reserve.factories import request_in

pytestmark = pytest.mark.django_db

review_network, significant_incident = reviews_support.review_network, reviews_support.significant_incident
reserve = reserve_conftest.reserve

ACK = {"level": 2, "field": "ack_minutes", "value": 45}
THRESHOLD = {"rule": "l2-large-scale", "fact": "affected_member_states", "value": 3}


@pytest.fixture
def delivered(review_network, significant_incident):
    return review_in("delivered", review_network, significant_incident)


def _propose(actor, review, **overrides):
    values = {"source_kind": "incident_review", "source_id": review.pk, "target": "level_deadlines", "change": ACK,
              "rationale": "Cross-border alerts were acknowledged after four hours."}
    values.update(overrides)
    return services.propose_lesson(actor=actor, **values)


def test_enisa_accepts_a_lesson_from_a_review_and_the_next_draft_applies_it_and_names_it(review_network, delivered,
                                                                                          login):
    p = review_network["people"]
    active = Blueprint.objects.get(is_active=True)
    old_ack = active.levels.get(number=2).ack_minutes
    lesson = _propose(p["fr_analyst"], delivered)
    assert lesson.state == "proposed" and lesson.organisation.code == "fr-csirt"
    assert Event.objects.get(kind="lesson.proposed").payload["recipient_groups"] == ["org:enisa"]
    services.decide_lesson(actor=p["enisa_triage"], lesson=lesson, accept=True, reason="Matches the review")

    draft = services.build_blueprint_draft(actor=p["enisa_admin"], title="v-next from lessons")
    assert not draft.is_active and draft.version > active.version
    assert draft.levels.get(number=2).ack_minutes == 45
    assert Blueprint.objects.get(is_active=True).levels.get(number=2).ack_minutes == old_ack  # active untouched
    lesson.refresh_from_db()
    assert lesson.answered_in == draft
    assert f"Lesson {lesson.pk}" in draft.notes
    assert Event.objects.filter(kind="lesson.answered", subject_id=str(lesson.pk)).exists()

    versions = {v.blueprint.version: v for v in selectors.blueprint_versions(p["enisa_triage"])}
    assert [row.lesson for row in versions[draft.version].lessons] == [lesson]
    assert versions[draft.version].lessons[0].source["url"] == f"/awareness/reviews/{delivered.pk}/"
    page = login(p["fr_analyst"]).get("/awareness/lessons/blueprint-versions/")
    assert page.status_code == 200 and f"Lesson {lesson.pk}" in page.content.decode()
    with pytest.raises(ValidationError, match="No accepted lesson"):  # nothing left to answer
        services.build_blueprint_draft(actor=p["enisa_admin"])


def test_a_lesson_from_a_reserve_summary_report_changes_a_rule_threshold(reserve):
    p = reserve["people"]
    request = request_in(RequestStatus.REPORTED, reserve)
    lesson = services.propose_lesson(actor=p["de_analyst"], source_kind="reserve_after_action",
                                     source_id=request.report.pk, target="rule_threshold", change=THRESHOLD,
                                     rationale="Two states at high severity is too early for EU-CyCLONe.")
    assert selectors.rows_for(p["enisa_triage"], [lesson])[0].source["label"].startswith("Reserve summary report")
    with pytest.raises(Http404):  # a provider does not read the requester's summary report
        services.propose_lesson(actor=p["provider"], source_kind="reserve_after_action", source_id=request.report.pk,
                                target="other", rationale="x")
    services.decide_lesson(actor=p["enisa_triage"], lesson=lesson, accept=True, reason="Agreed")
    draft = services.build_blueprint_draft(actor=p["enisa_admin"])
    conditions = draft.rules.get(code="l2-large-scale").conditions
    assert {"fact": "affected_member_states", "op": ">=", "value": 3} in conditions
    assert LessonProposal.objects.get(pk=lesson.pk).answered_in == draft


def test_enisa_rejects_with_a_reason_and_a_lesson_is_decided_once(review_network, delivered):
    p = review_network["people"]
    lesson = _propose(p["de_analyst"], delivered)
    with pytest.raises(PermissionDenied):
        services.decide_lesson(actor=p["de_analyst"], lesson=lesson, accept=True, reason="self-approval")
    with pytest.raises(ValidationError, match="reason"):
        services.decide_lesson(actor=p["enisa_triage"], lesson=lesson, accept=False, reason=" ")
    services.decide_lesson(actor=p["enisa_triage"], lesson=lesson, accept=False, reason="One hour is not realistic")
    with pytest.raises(ValidationError, match="already rejected"):
        services.decide_lesson(actor=p["enisa_triage"], lesson=lesson, accept=True, reason="Changed my mind")
    lesson.refresh_from_db()
    assert lesson.state == "rejected" and lesson.decision_reason == "One hour is not realistic"
    with pytest.raises(ValidationError, match="No accepted lesson"):
        services.build_blueprint_draft(actor=p["enisa_admin"])


def test_accepting_twice_is_refused(review_network, delivered):
    p = review_network["people"]
    lesson = _propose(p["de_analyst"], delivered)
    services.decide_lesson(actor=p["enisa_triage"], lesson=lesson, accept=True, reason="Yes")
    with pytest.raises(ValidationError, match="already accepted"):
        services.decide_lesson(actor=p["enisa_triage"], lesson=lesson, accept=True, reason="Yes again")
    with pytest.raises(PermissionDenied):  # ENISA's triage decides; its administrators maintain the Blueprint
        services.build_blueprint_draft(actor=p["enisa_triage"])


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"source_kind": "tweet"}, "source_kind", "'tweet' is not a source of lessons"),
    ({"change": {"level": 7, "field": "ack_minutes", "value": 30}}, "change", "Level 7 does not exist"),
    ({"change": {"level": 2, "field": "colour", "value": 30}}, "change", "'colour' is not a level's deadline"),
    ({"change": {"level": 2, "field": "ack_minutes", "value": 0}}, "change", "out of range 1–43200"),
    ({"change": {"level": 2, "field": "ack_minutes", "value": 99999}}, "change", "out of range 1–43200"),
    ({"target": "rule_threshold", "change": {"rule": "l9-none", "fact": "severity", "value": "high"}}, "change",
     "Rule 'l9-none' does not exist"),
    ({"target": "rule_threshold", "change": {"rule": "l2-large-scale", "fact": "reserve_requested", "value": True}},
     "change", "has no condition on 'reserve_requested'"),
    ({"target": "rule_threshold", "change": THRESHOLD | {"value": 99}}, "change", "out of range 1–40"),
    ({"target": "rule_conditions", "change": {"rule": "l2-large-scale", "conditions": [
        {"fact": "moon_phase", "op": "is", "value": True}]}}, "change", "unknown fact 'moon_phase'"),
    ({"target": "everything"}, "target", "'everything' is not a target"),
    ({"rationale": ""}, "rationale", "Say what the lesson is"),
])
def test_bad_input_is_refused_naming_the_problem_and_nothing_is_proposed(review_network, delivered, overrides,
                                                                         field, message):
    with pytest.raises(ValidationError) as refused:
        _propose(review_network["people"]["fr_analyst"], delivered, **overrides)
    assert message in " ".join(refused.value.message_dict[field])
    assert not LessonProposal.objects.exists()


def test_a_source_the_person_may_not_read_is_404(review_network, delivered, significant_incident):
    p = review_network["people"]
    with pytest.raises(Http404):  # PT is not concerned by the review
        _propose(p["pt_analyst"], delivered)
    with pytest.raises(Http404):
        _propose(p["fr_analyst"], delivered, source_id=delivered.pk + 100)
    assert not LessonProposal.objects.exists()


def test_lessons_over_the_api_and_outsiders_get_404(review_network, delivered, login):
    p = review_network["people"]
    fr = login(p["fr_analyst"])
    created = fr.post("/api/v1/lessons/", {"source_kind": "incident_review", "source_id": str(delivered.pk),
                                           "target": "level_deadlines", "change": ACK, "rationale": "Faster"},
                      content_type="application/json")
    assert created.status_code == 201, created.content
    lesson_id = created.json()["id"]
    bad = fr.post("/api/v1/lessons/", {"source_kind": "incident_review", "source_id": str(delivered.pk),
                                       "target": "level_deadlines", "change": ACK | {"level": 9}, "rationale": "x"},
                  content_type="application/json")
    assert bad.status_code == 400 and "change" in bad.json()["error"]["fields"]
    assert login(p["pt_analyst"]).get(f"/api/v1/lessons/{lesson_id}/").status_code == 404
    enisa = login(p["enisa_triage"])
    decided = enisa.post(f"/api/v1/lessons/{lesson_id}/decision/", {"accept": True, "reason": "ok"},
                         content_type="application/json")
    assert decided.status_code == 200 and decided.json()["state"] == "accepted"
    again = enisa.post(f"/api/v1/lessons/{lesson_id}/decision/", {"accept": True, "reason": "ok"},
                       content_type="application/json")
    assert again.status_code == 400
    built = login(p["enisa_admin"]).post("/api/v1/lessons/blueprint-draft/", {}, content_type="application/json")
    assert built.status_code == 201 and built.json()["lessons"] == [lesson_id]


def test_a_lesson_is_proposed_and_decided_on_the_pages(review_network, delivered, login):
    p = review_network["people"]
    fr = login(p["fr_analyst"])
    review_page = fr.get(f"/awareness/reviews/{delivered.pk}/").content.decode()
    assert "Propose a lesson for the Blueprint" in review_page
    url = f"/awareness/lessons/new/?source_kind=incident_review&source_id={delivered.pk}"
    assert fr.get(url).status_code == 200
    bad = fr.post("/awareness/lessons/new/", {"source_kind": "incident_review", "source_id": delivered.pk,
                                              "target": "level_deadlines", "rationale": "Faster",
                                              "change": '{"level": 2, "field": "ack_minutes", "value": -5}'})
    assert bad.status_code == 400 and "out of range" in bad.content.decode()
    assert not LessonProposal.objects.exists()
    assert login(p["pt_analyst"]).get(url).status_code == 404
    assert fr.post("/awareness/lessons/new/", {"source_kind": "incident_review", "source_id": delivered.pk,
                                               "target": "level_deadlines", "rationale": "Faster",
                                               "change": '{"level": 2, "field": "ack_minutes", "value": 45}'}
                   ).status_code == 302
    lesson = LessonProposal.objects.get()
    enisa = login(p["enisa_triage"])
    assert enisa.post(f"/awareness/lessons/{lesson.pk}/decide/", {"accept": "no", "reason": "Too fast"}).status_code == 302
    assert LessonProposal.objects.get().state == "rejected"
    assert enisa.post(f"/awareness/lessons/{lesson.pk}/decide/", {"accept": "yes", "reason": "x"}).status_code == 400
    assert "Lesson" in enisa.get("/awareness/lessons/").content.decode()
