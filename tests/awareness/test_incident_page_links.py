"""The incident page links to the crisis products its reader may read or start, and to nothing else."""

import pytest

from tests.awareness.sitreps_support import make_crisis, published

pytestmark = pytest.mark.django_db


@pytest.fixture
def crisis(network):
    return make_crisis(network)


def _links(client, incident) -> str:
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    start = page.find('id="related-products"')
    return page[start:page.find("</p>", start)] if start >= 0 else ""


def test_a_drafting_body_is_offered_to_draft_and_readers_see_the_published_reports(crisis, login):
    people, primary = crisis["people"], crisis["primary"]
    published(crisis)

    enisa = _links(login(people["enisa_liaison"]), primary)
    assert f"/awareness/sitreps/new/?incident={primary.pk}" in enisa
    assert f"/awareness/sitreps/?incident={primary.pk}" in enisa and "Situation reports" in enisa

    reader = _links(login(people["pt_analyst"]), primary)  # in the report's audience, not a drafting body
    assert "Situation reports" in reader and "Draft a situation report" not in reader
    listing = login(people["pt_analyst"]).get(f"/awareness/sitreps/?incident={primary.pk}").content.decode()
    assert "/awareness/sitreps/" in listing and "Situation report" in listing


def test_a_national_analyst_is_not_offered_what_only_the_commission_or_eu_cyclone_may_request(crisis, login):
    links = _links(login(crisis["people"]["pt_analyst"]), crisis["primary"])
    assert "Request an incident review" not in links and "Draft a situation report" not in links


def test_the_commission_is_offered_an_incident_review_of_a_large_scale_incident(crisis, network, login):
    from tests import factories as f

    decision_maker = f.person("crisis@ec.example", network["orgs"]["ec"], ["crisis_manager"])
    from incidents import services as incident_services

    incident_services.share_incident(actor=crisis["people"]["de_analyst"], incident=crisis["primary"],
                                     organisations=[network["orgs"]["ec"]])
    links = _links(login(decision_maker), crisis["primary"])
    assert f"/awareness/reviews/request/{crisis['primary'].pk}/" in links
