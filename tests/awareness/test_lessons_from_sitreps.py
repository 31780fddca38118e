"""A published situation report is a source of lessons, like a review or a Reserve summary report."""

import pytest
from django.http import Http404

from awareness.models import LessonProposal
from awareness.selectors import lessons as selectors
from awareness.services import lessons as services
from tests.awareness.sitreps_support import draft, make_crisis, published

pytestmark = pytest.mark.django_db


@pytest.fixture
def crisis(network):
    return make_crisis(network)


def _propose(actor, report):
    return services.propose_lesson(actor=actor, source_kind="situation_report", source_id=report.pk,
                                   target="level_deadlines", change={"level": 2, "field": "ack_minutes", "value": 45},
                                   rationale="Reports came in after the situation-update interval.")


def test_a_lesson_from_a_published_report_links_its_source_and_enters_the_next_blueprint_draft(crisis, network):
    people = crisis["people"]
    report = published(crisis)

    lesson = _propose(people["de_analyst"], report)

    source = selectors.rows_for(network["people"]["enisa_triage"], [lesson])[0].source
    assert source["label"].startswith("Situation report 1.") and source["url"] == f"/awareness/sitreps/{report.pk}/"
    services.decide_lesson(actor=network["people"]["enisa_triage"], lesson=lesson, accept=True, reason="Agreed")
    blueprint = services.build_blueprint_draft(actor=network["people"]["enisa_admin"])
    assert blueprint.levels.get(number=2).ack_minutes == 45
    assert LessonProposal.objects.get(pk=lesson.pk).answered_in == blueprint


def test_a_draft_report_or_one_the_person_may_not_read_is_no_source(crisis, network):
    report = draft(crisis)
    with pytest.raises(Http404):  # a draft teaches nothing yet, even to its own author
        _propose(crisis["people"]["enisa_liaison"], report)
    published_report = published(crisis)
    with pytest.raises(Http404):  # not in the report's audience: the same answer as a missing report
        _propose(network["people"]["provider"], published_report)
    assert not LessonProposal.objects.exists()


def test_the_report_page_offers_a_lesson_exactly_where_the_proposal_form_accepts_one(crisis, network):
    from tests.conftest import verified_client

    people = crisis["people"]
    link = "Propose a lesson for the Blueprint"
    report, unpublished = published(crisis), draft(crisis)
    author = verified_client(people["enisa_liaison"])
    page = author.get(f"/awareness/sitreps/{report.pk}/")
    assert link in page.content.decode()
    form = author.get(f"/awareness/lessons/new/?source_kind=situation_report&source_id={report.pk}")
    assert form.status_code == 200
    assert link not in author.get(f"/awareness/sitreps/{unpublished.pk}/").content.decode()  # a draft is no source
