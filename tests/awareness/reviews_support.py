"""Data for the review and lessons tests, built through the real services.

``review_network`` adds the Commission's decision-maker and gives DE the Council Presidency
(so BSI's liaison officer chairs EU-CyCLONe); ``significant_incident`` is a DE+FR incident of
de-csirt shared with the Commission and BSI; ``review_in(state, r)`` drives a review to a state.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from awareness.services import reviews as services
from incidents import services as incident_services
from tests import factories


@pytest.fixture
def review_network(network):
    orgs, people = dict(network["orgs"]), dict(network["people"])
    people["ec_decision"] = factories.person("decision@ec.example", orgs["ec"], ["decision_maker"])
    factories.presidency("DE")
    return {"orgs": orgs, "people": people}


def incident_of(r: dict, *, significance: str = "significant", states=("DE", "FR"), **fields):
    p, o = r["people"], r["orgs"]
    incident = incident_services.report_incident(
        actor=p["de_analyst"], organisation=o["de-csirt"], title=fields.pop("title", "Wiper at a grid operator"),
        aware_at=timezone.now() - timedelta(hours=2), tlp="amber", severity=fields.pop("severity", "high"),
        significance=significance,
        significance_grounds=["operational_disruption"] if significance == "significant" else [], affected_member_states=[factories.member_state(c) for c in states], **fields)
    incident_services.share_incident(actor=p["de_analyst"], incident=incident,
                                     organisations=[o["ec"], o["de-authority"], o["enisa"]])
    return incident


@pytest.fixture
def significant_incident(review_network):
    return incident_of(review_network)


def review_in(state: str, r: dict, incident, *, sections: bool = True):
    """A review requested by the Commission, brought to ``state`` (DE and FR agree)."""
    p = r["people"]
    review = services.request_review(actor=p["ec_decision"], incident=incident, reason="Cross-border wiper")
    if state == "agreement":
        return _fresh(review)
    services.answer_agreement(actor=p["de_analyst"], review=review, agree=True)
    services.answer_agreement(actor=p["fr_analyst"], review=review, agree=True)
    if state == "drafting" or not sections:
        return _fresh(review)
    de, fr = factories.member_state("DE"), factories.member_state("FR")
    add = services.add_section
    add(actor=p["enisa_triage"], review=review, kind="causes", text="DE: the vendor's VPN was unpatched.",
        confidential=True, source_state=de)
    add(actor=p["enisa_triage"], review=review, kind="response", text="FR: our SOC isolated 40 substations.",
        confidential=True, source_state=fr)
    add(actor=p["enisa_triage"], review=review, kind="lessons", text="Acknowledge cross-border alerts within an hour.")
    if state == "drafted":
        return _fresh(review)
    services.circulate_draft(actor=p["enisa_triage"], review=review)
    if state == "comments":
        return _fresh(review)
    services.add_comment(actor=p["de_analyst"], review=review, text="DE agrees with the causes.")
    services.add_comment(actor=p["fr_analyst"], review=review, text="FR adds nothing.")
    services.deliver_review(actor=p["enisa_triage"], review=review)
    assert state == "delivered", state
    return _fresh(review)


def _fresh(review):
    review.refresh_from_db()
    return review
