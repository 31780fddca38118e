"""Incident reviews on the pages and the API: the same rules, 404 for outsiders, 400 naming bad input."""

import sys
import types

import pytest

from awareness.documents import PrintDocument
from awareness.models import IncidentReview
from tests.awareness import reviews_support
from tests.awareness.reviews_support import review_in

review_network, significant_incident = reviews_support.review_network, reviews_support.significant_incident

pytestmark = pytest.mark.django_db


def test_the_workflow_over_the_api(review_network, significant_incident, login):
    p = review_network["people"]
    created = login(p["ec_decision"]).post("/api/v1/reviews/", {"incident": significant_incident.pk, "reason": "Wiper"},
                                           content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["state"] == "agreement" and body["report"] is None
    assert [s["member_state"] for s in body["states"]] == ["DE", "FR"]
    pk = body["id"]
    refused = login(p["de_analyst"]).post(f"/api/v1/reviews/{pk}/agreement/", {"agree": True, "member_state": "PT"},
                                          content_type="application/json")
    assert refused.status_code == 400 and "member_state" in refused.json()["error"]["fields"]
    for who in ("de_analyst", "fr_analyst"):
        answered = login(p[who]).post(f"/api/v1/reviews/{pk}/agreement/", {"agree": True},
                                      content_type="application/json")
        assert answered.status_code == 200
    assert answered.json()["state"] == "drafting"
    forbidden = login(p["de_analyst"]).post(f"/api/v1/reviews/{pk}/sections/", {"kind": "causes", "text": "x"},
                                            content_type="application/json")
    assert forbidden.status_code == 403
    enisa = login(p["enisa_triage"])
    section = enisa.post(f"/api/v1/reviews/{pk}/sections/", {"kind": "causes", "text": "DE only", "confidential": True,
                                                             "source_state": "DE"}, content_type="application/json")
    assert section.status_code == 200
    fr_view = login(p["fr_analyst"]).get(f"/api/v1/reviews/{pk}/").json()
    assert fr_view["report"]["omitted"] and fr_view["report"]["parts"][0]["sections"] == []
    assert "DE only" not in str(fr_view)
    assert login(p["pt_analyst"]).get(f"/api/v1/reviews/{pk}/").status_code == 404


def test_a_national_csirt_is_told_it_may_not_request_and_nothing_is_created(review_network, significant_incident,
                                                                            login):
    response = login(review_network["people"]["de_analyst"]).post(
        "/api/v1/reviews/", {"incident": significant_incident.pk, "reason": "x"}, content_type="application/json")
    assert response.status_code == 403
    page = login(review_network["people"]["de_analyst"]).get(f"/awareness/reviews/request/{significant_incident.pk}/")
    assert page.status_code == 403
    assert not IncidentReview.objects.exists()


def test_pages_let_each_person_do_their_step(review_network, significant_incident, login):
    p = review_network["people"]
    ec = login(p["ec_decision"])
    response = ec.post(f"/awareness/reviews/request/{significant_incident.pk}/", {"reason": "Cross-border wiper"})
    assert response.status_code == 302
    review = IncidentReview.objects.get()
    de = login(p["de_analyst"])
    page = de.get(f"/awareness/reviews/{review.pk}/")
    assert page.status_code == 200 and "Send your state" in page.content.decode()
    bad = de.post(f"/awareness/reviews/{review.pk}/answer/", {"member_state": "FR", "agree": "yes"})
    assert bad.status_code == 403
    assert de.post(f"/awareness/reviews/{review.pk}/answer/", {"member_state": "DE", "agree": "yes"}).status_code == 302
    assert review.agreements.get(member_state__code="DE").answer == "agreed"
    assert "Incident reviews" in de.get("/awareness/reviews/").content.decode()


def test_the_pdf_is_the_readers_document(review_network, significant_incident, login, monkeypatch):
    """The layout module is written alongside: the endpoint hands it this reader's document, nothing more."""
    seen = []
    fake = types.ModuleType("awareness.pdf")
    fake.render_pdf = lambda document: seen.append(document) or b"%PDF-1.7 fake"
    monkeypatch.setitem(sys.modules, "awareness.pdf", fake)
    p = review_network["people"]
    review = review_in("delivered", review_network, significant_incident)
    response = login(p["ec_decision"]).get(f"/awareness/reviews/{review.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{review.reference}.pdf"'
    assert response["Cache-Control"] == "private, no-store", "one reader's redacted version: no shared cache keeps it"
    assert isinstance(seen[0], PrintDocument) and seen[0].omitted_note
    assert "unpatched" not in str(seen[0])
    assert login(p["pt_analyst"]).get(f"/awareness/reviews/{review.pk}/pdf/").status_code == 404


def _page_and_actions(client, review) -> tuple[str, list[str]]:
    """The review's page as the person sees it, and the actions its API object offers them."""
    page = client.get(f"/awareness/reviews/{review.pk}/").content.decode()
    return page, client.get(f"/api/v1/reviews/{review.pk}/").json()["actions"]


def test_enisa_is_told_delivery_waits_for_the_comments_until_the_last_one_is_in(review_network, significant_incident,
                                                                                login):
    p = review_network["people"]
    review = review_in("comments", review_network, significant_incident)
    enisa = login(p["enisa_triage"])
    page, actions = _page_and_actions(enisa, review)
    assert "Delivery opens once every state that agreed has commented" in page
    assert "Deliver the report" not in page
    assert "deliver" not in actions

    from awareness.services import reviews as services
    services.add_comment(actor=p["de_analyst"], review=review, text="DE agrees with the causes.")
    services.add_comment(actor=p["fr_analyst"], review=review, text="FR adds nothing.")
    page, actions = _page_and_actions(enisa, review)
    assert "Deliver the report" in page and "Delivery opens once" not in page
    assert "deliver" in actions


def test_enisa_is_told_which_parts_the_draft_lacks_instead_of_a_send_button(review_network, significant_incident,
                                                                            login):
    p = review_network["people"]
    review = review_in("drafting", review_network, significant_incident)
    from awareness.services import reviews as services
    services.add_section(actor=p["enisa_triage"], review=review, kind="causes", text="An unpatched VPN.")
    enisa = login(p["enisa_triage"])
    page, actions = _page_and_actions(enisa, review)
    assert "The draft goes to the states once every part is written: response, lessons learned missing." in page
    assert "Send the draft to the states" not in page
    assert "circulate" not in actions

    services.add_section(actor=p["enisa_triage"], review=review, kind="response", text="Substations isolated.")
    services.add_section(actor=p["enisa_triage"], review=review, kind="lessons", text="Acknowledge within an hour.")
    page, actions = _page_and_actions(enisa, review)
    assert "Send the draft to the states" in page and "once every part is written" not in page
    assert "circulate" in actions
