"""Incident review (CSoA Art. 21): who requests, which incidents, each state's agreement, drafting, delivery."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from awareness.models import IncidentReview, ReviewAgreement, ReviewSection
from awareness.services import reviews as services
from liaison.models import Event
from tests import factories
from tests.awareness import reviews_support
from tests.awareness.reviews_support import incident_of, review_in

review_network, significant_incident = reviews_support.review_network, reviews_support.significant_incident

pytestmark = pytest.mark.django_db


def test_the_commission_requests_a_review_and_each_state_concerned_is_asked(review_network, significant_incident):
    review = services.request_review(actor=review_network["people"]["ec_decision"], incident=significant_incident,
                                     reason="Cross-border wiper")
    assert review.state == "agreement" and review.requester_body == "commission"
    assert sorted(review.agreements.values_list("member_state__code", "answer")) == [("DE", "pending"),
                                                                                      ("FR", "pending")]
    clock = review.clocks.get(clock="agreement")
    assert clock.due_at - review.created_at == services.policy.DUE_AFTER["agreement"]
    event = Event.objects.get(kind="review.requested")
    assert event.payload["recipient_groups"] == ["ms:DE", "ms:FR"]


def test_the_eu_cyclone_chair_requests_a_review(review_network, significant_incident):
    review = services.request_review(actor=review_network["people"]["de_liaison"], incident=significant_incident,
                                     reason="EU-CyCLONe asks")
    assert review.requester_body == "eu_cyclone"
    assert review.requester_organisation.code == "de-authority"


def test_a_national_csirt_may_not_request_a_review(review_network, significant_incident):
    with pytest.raises(PermissionDenied, match="Commission"):
        services.request_review(actor=review_network["people"]["de_analyst"], incident=significant_incident,
                                reason="We want one")
    assert not IncidentReview.objects.exists()


def test_a_review_of_an_incident_that_is_neither_significant_nor_large_scale_is_refused(review_network):
    incident = incident_of(review_network, significance="voluntary", severity="low", states=("DE",))
    assert incident.crisis_level < 2
    with pytest.raises(ValidationError) as refused:
        services.request_review(actor=review_network["people"]["ec_decision"], incident=incident, reason="Why not")
    assert "neither significant nor large-scale" in refused.value.message_dict["incident"][0]
    assert not IncidentReview.objects.exists()


def test_a_requester_who_does_not_see_the_incident_gets_404(review_network):
    incident = incident_of(review_network)
    other = factories.organisation("ec-dg", "commission", None, "DG CONNECT")
    stranger = factories.person("decision@dg.example", other, ["decision_maker"])
    with pytest.raises(Http404):
        services.request_review(actor=stranger, incident=incident, reason="x")


def test_each_state_concerned_agrees_and_drafting_starts(review_network, significant_incident):
    p = review_network["people"]
    review = review_in("agreement", review_network, significant_incident)
    services.answer_agreement(actor=p["de_analyst"], review=review, agree=True)
    review.refresh_from_db()
    assert review.state == "agreement"  # FR has not answered
    services.answer_agreement(actor=p["fr_analyst"], review=review, agree=False, note="Our information stays ours")
    review.refresh_from_db()
    assert review.state == "drafting"
    assert dict(review.agreements.values_list("member_state__code", "answer")) == {"DE": "agreed", "FR": "refused"}
    assert review.clocks.get(clock="agreement").met_at is not None
    assert review.clocks.get(clock="drafting").met_at is None


def test_a_state_not_concerned_cannot_answer_and_nothing_changes(review_network, significant_incident):
    p = review_network["people"]
    review = review_in("agreement", review_network, significant_incident)
    with pytest.raises(ValidationError) as refused:
        services.answer_agreement(actor=p["de_analyst"], review=review, agree=True,
                                  member_state=factories.member_state("PT"))
    assert refused.value.message_dict["member_state"] == [
        f"PT is not a member state concerned by {review.reference}; the states concerned are DE, FR."]
    with pytest.raises(PermissionDenied):  # DE's CSIRT does not answer for FR
        services.answer_agreement(actor=p["de_analyst"], review=review, agree=True,
                                  member_state=factories.member_state("FR"))
    with pytest.raises(Http404):  # PT is not concerned: it does not see the review
        services.answer_agreement(actor=p["pt_analyst"], review=review, agree=True)
    assert set(review.agreements.values_list("answer", flat=True)) == {"pending"}


def test_answering_twice_is_refused(review_network, significant_incident):
    p = review_network["people"]
    review = review_in("agreement", review_network, significant_incident)
    services.answer_agreement(actor=p["de_analyst"], review=review, agree=True)
    with pytest.raises(ValidationError, match="already answered"):
        services.answer_agreement(actor=p["de_analyst"], review=review, agree=False)
    assert review.agreements.get(member_state__code="DE").answer == "agreed"


def test_no_state_agreeing_declines_the_review(review_network, significant_incident):
    p = review_network["people"]
    review = review_in("agreement", review_network, significant_incident)
    services.answer_agreement(actor=p["de_analyst"], review=review, agree=False)
    services.answer_agreement(actor=p["fr_analyst"], review=review, agree=False)
    review.refresh_from_db()
    assert review.state == "declined"
    with pytest.raises(ValidationError):
        services.add_section(actor=p["enisa_triage"], review=review, kind="causes", text="x")


def test_only_enisa_drafts_and_a_confidential_part_names_an_agreeing_source(review_network, significant_incident):
    p = review_network["people"]
    review = review_in("drafting", review_network, significant_incident)
    with pytest.raises(PermissionDenied):
        services.add_section(actor=p["de_analyst"], review=review, kind="causes", text="x")
    with pytest.raises(ValidationError) as refused:
        services.add_section(actor=p["enisa_triage"], review=review, kind="causes", text="x", confidential=True)
    assert "source_state" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        services.add_section(actor=p["enisa_triage"], review=review, kind="causes", text="x", confidential=True,
                             source_state=factories.member_state("PT"))
    assert "agreed" in refused.value.message_dict["source_state"][0]
    with pytest.raises(ValidationError, match="not a part"):
        services.add_section(actor=p["enisa_triage"], review=review, kind="gossip", text="x")
    with pytest.raises(ValidationError, match="lessons learned missing"):
        services.add_section(actor=p["enisa_triage"], review=review, kind="causes", text="Unpatched VPN")
        services.add_section(actor=p["enisa_triage"], review=review, kind="response", text="Isolation")
        services.circulate_draft(actor=p["enisa_triage"], review=review)
    assert ReviewSection.objects.filter(review=review).count() == 2
    assert IncidentReview.objects.get(pk=review.pk).state == "drafting"


def test_delivery_waits_for_the_comments_then_the_report_is_immutable(review_network, significant_incident):
    p = review_network["people"]
    review = review_in("comments", review_network, significant_incident)
    services.add_comment(actor=p["de_analyst"], review=review, text="DE agrees")
    with pytest.raises(ValidationError, match="FR may still comment"):
        services.deliver_review(actor=p["enisa_triage"], review=review)
    services.add_comment(actor=p["fr_analyst"], review=review, text="FR agrees")
    with pytest.raises(PermissionDenied):
        services.deliver_review(actor=p["ec_decision"], review=review)
    delivered = services.deliver_review(actor=p["enisa_triage"], review=review)
    assert delivered.state == "delivered" and delivered.delivered_at is not None
    section = review.sections.first()
    for attempt in (
        lambda: services.edit_section(actor=p["enisa_triage"], section=section, text="rewritten"),
        lambda: services.add_section(actor=p["enisa_triage"], review=review, kind="lessons", text="more"),
        lambda: services.add_comment(actor=p["de_analyst"], review=review, text="late"),
        lambda: services.deliver_review(actor=p["enisa_triage"], review=review),
    ):
        with pytest.raises(ValidationError, match="delivered"):
            attempt()
    section.refresh_from_db()
    assert section.text != "rewritten" and review.comments.count() == 2
    assert IncidentReview.objects.get(pk=review.pk).delivered_at == delivered.delivered_at


def test_a_state_that_refused_takes_no_part(review_network, significant_incident):
    p = review_network["people"]
    review = services.request_review(actor=p["ec_decision"], incident=significant_incident, reason="x")
    services.answer_agreement(actor=p["de_analyst"], review=review, agree=True)
    services.answer_agreement(actor=p["fr_analyst"], review=review, agree=False)
    services.add_section(actor=p["enisa_triage"], review=review, kind="causes", text="c")
    services.add_section(actor=p["enisa_triage"], review=review, kind="response", text="r")
    services.add_section(actor=p["enisa_triage"], review=review, kind="lessons", text="l")
    services.circulate_draft(actor=p["enisa_triage"], review=review)
    with pytest.raises(PermissionDenied):
        services.add_comment(actor=p["fr_analyst"], review=review, text="We refused but comment")
    assert not review.comments.exists()
    assert ReviewAgreement.objects.get(review=review, member_state__code="FR").answer == "refused"
