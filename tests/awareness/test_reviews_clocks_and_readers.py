"""The review's clocks (reminded once, alarmed once) and who reads which part of the report."""

from datetime import timedelta

import pytest
from django.http import Http404

from awareness.selectors import reviews as selectors
from awareness.services import reviews as services
from csoa_portal import sweep
from liaison.models import Event
from tests.awareness import reviews_support
from tests.awareness.reviews_support import review_in

review_network, significant_incident = reviews_support.review_network, reviews_support.significant_incident

pytestmark = pytest.mark.django_db


def _fired(kind):
    return list(Event.objects.filter(kind=kind).values_list("payload__clock", flat=True))


def test_the_agreement_clock_reminds_once_then_lapses_once_and_the_review_goes_ahead_on_those_who_agreed(
        review_network, significant_incident, freezer):
    p = review_network["people"]
    review = review_in("agreement", review_network, significant_incident)
    services.answer_agreement(actor=p["de_analyst"], review=review, agree=True)
    clock = review.clocks.get(clock="agreement")
    freezer.move_to(clock.remind_at - timedelta(minutes=1))
    assert services.sweep_review_clocks() == 0
    freezer.move_to(clock.remind_at + timedelta(minutes=1))
    assert services.sweep_review_clocks() == 1
    assert services.sweep_review_clocks() == 0  # idempotent
    reminder = Event.objects.get(kind="review.reminder")
    assert reminder.payload["recipient_groups"] == ["ms:FR"]  # only the state that has not answered
    freezer.move_to(clock.due_at + timedelta(seconds=1))
    assert services.sweep_review_clocks() == 1
    sweep.run_sweep()  # the registered job: nothing fires twice
    assert _fired("review.reminder") == ["agreement"] and _fired("review.overdue") == ["agreement"]
    review.refresh_from_db()
    assert review.state == "drafting"
    assert dict(review.agreements.values_list("member_state__code", "answer")) == {"DE": "agreed", "FR": "lapsed"}


def test_the_drafting_and_comment_clocks_fire_once_each_and_stop_when_met(
        review_network, significant_incident, freezer):
    review = review_in("drafted", review_network, significant_incident)
    drafting = review.clocks.get(clock="drafting")
    freezer.move_to(drafting.due_at + timedelta(hours=1))
    assert services.sweep_review_clocks() == 1  # overdue (reminder stamped with it: one event)
    assert services.sweep_review_clocks() == 0
    assert _fired("review.overdue") == ["drafting"]
    services.circulate_draft(actor=review_network["people"]["enisa_triage"], review=review)
    comments = review.clocks.get(clock="comments")
    freezer.move_to(comments.remind_at + timedelta(minutes=1))
    services.add_comment(actor=review_network["people"]["de_analyst"], review=review, text="ok")
    assert services.sweep_review_clocks() == 1
    assert Event.objects.filter(kind="review.reminder").last().payload["recipient_groups"] == ["ms:FR"]
    services.add_comment(actor=review_network["people"]["fr_analyst"], review=review, text="ok")
    services.deliver_review(actor=review_network["people"]["enisa_triage"], review=review)
    freezer.move_to(comments.due_at + timedelta(days=1))
    assert services.sweep_review_clocks() == 0  # met by the delivery


def _read(user, review):
    report = selectors.report_for(user, review)
    return report, {s.text for part in report.parts for s in part.sections}


def test_each_reader_reads_the_confidential_parts_of_their_own_source_only(review_network, significant_incident):
    p = review_network["people"]
    review = review_in("delivered", review_network, significant_incident)
    de_part, fr_part = "DE: the vendor's VPN was unpatched.", "FR: our SOC isolated 40 substations."
    shared = "Acknowledge cross-border alerts within an hour."

    enisa, enisa_text = _read(p["enisa_triage"], review)
    assert enisa_text == {de_part, fr_part, shared} and not enisa.omitted

    de, de_text = _read(p["de_analyst"], review)
    assert de_text == {de_part, shared} and de.omitted_note

    fr, fr_text = _read(p["fr_analyst"], review)
    assert fr_text == {fr_part, shared} and fr.omitted

    commission, ec_text = _read(p["ec_decision"], review)
    assert ec_text == {shared} and commission.omitted

    document = selectors.print_document(p["ec_decision"], review)
    printed = " ".join(" ".join(s.paragraphs) + s.omitted_note for s in document.sections)
    assert shared in printed and de_part not in printed and fr_part not in printed
    assert document.omitted_note and "were left out" in printed
    assert "unpatched" not in document.omitted_note  # the note never says what


def test_the_requester_reads_the_report_only_once_delivered(review_network, significant_incident):
    p = review_network["people"]
    review = review_in("comments", review_network, significant_incident)
    assert not selectors.report_for(p["ec_decision"], review).readable
    assert selectors.report_for(p["de_analyst"], review).readable


def test_outsiders_do_not_know_a_review_exists(review_network, significant_incident, login):
    p = review_network["people"]
    review = review_in("delivered", review_network, significant_incident)
    with pytest.raises(Http404):
        selectors.review_visible_to(p["pt_analyst"], review.pk)
    assert selectors.visible_review_ids(p["pt_analyst"], {str(review.pk)}) == set()
    assert selectors.visible_review_ids(p["fr_analyst"], {str(review.pk)}) == {str(review.pk)}
    for url in (f"/awareness/reviews/{review.pk}/", f"/api/v1/reviews/{review.pk}/",
                f"/awareness/reviews/{review.pk}/pdf/", f"/awareness/reviews/{review.pk + 99}/"):
        assert login(p["pt_analyst"]).get(url).status_code == 404, url


def test_the_inbox_and_the_live_stream_follow_who_may_see_the_review(review_network, significant_incident):
    from liaison.events import visible_subject_ids
    from liaison.selectors import inbox_for

    p = review_network["people"]
    review = review_in("agreement", review_network, significant_incident)
    def reviews_in_inbox(user):
        return [(e.kind, e.subject_id) for e in inbox_for(user)[0] if e.subject_type == "incident_review"]

    assert reviews_in_inbox(p["fr_analyst"]) == [("review.requested", str(review.pk))]
    assert reviews_in_inbox(p["pt_analyst"]) == []
    assert reviews_in_inbox(p["ec_decision"]) == []  # the requester is told of answers, not of its own request
    assert visible_subject_ids(p["pt_analyst"], "incident_review", {str(review.pk)}) == set()
    assert visible_subject_ids(p["fr_analyst"], "incident_review", {str(review.pk)}) == {str(review.pk)}
