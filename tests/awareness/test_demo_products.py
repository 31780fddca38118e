"""load_demo shows a visitor the awareness products on the demo crisis: a published situation report (four eyes), one
waiting for review, and a circulated public warning one state agreed to; loaded once, seen by the right people."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from awareness.demo import CRISIS_TITLE, PUBLISHED_TITLE, REVIEW_TITLE, WARNING_TITLE
from awareness.models import PublicWarning, SituationReport
from csoa_portal.models import AuditEntry
from incidents.models import Incident
from liaison.models import User
from tests import factories
from tests.conftest import verified_client

pytestmark = pytest.mark.django_db

CHAIR = "liaison@ie-authority.demo"  # the Council Presidency's crisis authority: the EU-CyCLONe chair
ENISA = "liaison@enisa.demo"


@pytest.fixture
def demo(vocabularies):
    factories.presidency("IE")  # today's Presidency, whatever the date the suite runs on
    call_command("load_demo", "--quiet")
    return Incident.objects.get(title=CRISIS_TITLE)


def _counts():
    return (Incident.objects.count(), SituationReport.objects.count(), PublicWarning.objects.count(),
            AuditEntry.objects.order_by("-id").values_list("id", flat=True).first())


def test_the_demo_crisis_gets_a_published_report_one_in_review_and_a_warning_once(demo):
    assert demo.crisis_level == 2 and demo.affected_member_states.count() == 4
    published = SituationReport.objects.get(title=PUBLISHED_TITLE)
    in_review = SituationReport.objects.get(title=REVIEW_TITLE)
    assert (published.status, in_review.status) == ("published", "review")
    # Four eyes through the real services: drafted by the chair, published by ENISA; and the other way round.
    assert (published.author.email, published.submitted_by.email, published.published_by.email) == (CHAIR, CHAIR, ENISA)
    assert (in_review.author.email, in_review.published_by) == (ENISA, None)
    contributions = next(s for s in published.snapshot["sections"] if s["items"])
    assert contributions["items"]  # the member states' situation updates were frozen into it
    assert AuditEntry.objects.filter(action="sitrep.published", object_id=str(published.pk)).exists()

    warning = PublicWarning.objects.get(incident=demo)
    assert (warning.title, warning.status) == (WARNING_TITLE, "circulated")
    answers = dict(warning.participations.values_list("member_state__code", "response"))
    assert answers == {"BE": "pending", "DE": "agreed", "FR": "pending", "NL": "pending"}

    before = _counts()
    call_command("load_demo", "--quiet")
    assert _counts() == before


def _page(email, url):
    return verified_client(User.objects.get(email=email)).get(url)


def test_the_demo_people_see_the_reports_as_their_rights_allow(demo):
    published = SituationReport.objects.get(title=PUBLISHED_TITLE)
    in_review = SituationReport.objects.get(title=REVIEW_TITLE)
    listing = reverse("awareness:sitrep-list")

    for drafter in (CHAIR, ENISA):
        page = _page(drafter, listing).content.decode()
        assert PUBLISHED_TITLE in page and REVIEW_TITLE in page
        assert f"Draft a report on {demo.reference}" in page  # the next report starts from the list
    # The chair reviews ENISA's report: the page offers to publish it; ENISA is told another person must.
    review_page = _page(CHAIR, reverse("awareness:sitrep-detail", args=[in_review.pk])).content.decode()
    assert "Publish</button>" in review_page
    own_page = _page(ENISA, reverse("awareness:sitrep-detail", args=[in_review.pk])).content.decode()
    assert "Publish</button>" not in own_page and "four eyes" in own_page

    # A reader of the audience (the French crisis authority, alerted and shared with) reads the published one only.
    reader = "liaison@fr-authority.demo"
    page = _page(reader, listing).content.decode()
    assert PUBLISHED_TITLE in page and REVIEW_TITLE not in page and "Draft a report" not in page
    detail = _page(reader, reverse("awareness:sitrep-detail", args=[published.pk]))
    assert detail.status_code == 200 and "TLP:AMBER" in detail.content.decode()
    assert _page(reader, reverse("awareness:sitrep-detail", args=[in_review.pk])).status_code == 404
    # Outside the crisis's sharing: a provider's staff does not know the reports exist.
    assert _page("staff@provider-northwatch.demo", reverse("awareness:sitrep-detail", args=[published.pk])
                 ).status_code == 404


def test_the_concerned_authorities_see_the_warning_and_who_agreed(demo):
    warning = PublicWarning.objects.get(incident=demo)
    url = reverse("awareness:warning_detail", args=[warning.pk])
    assert WARNING_TITLE in _page("liaison@nl-authority.demo", reverse("awareness:warning_list")).content.decode()
    page = _page("liaison@nl-authority.demo", url)
    assert page.status_code == 200 and "Agreed" in page.content.decode()
    assert _page("liaison@pt-authority.demo", url).status_code == 404  # Portugal is not concerned
