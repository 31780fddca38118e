"""Draft → review → published, who may act at each step, corrections as new versions, and bad input refused
with nothing changed."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from awareness.models import SituationReport
from awareness.selectors.sitreps import report_for_reader, reports_visible_to
from awareness.services import sitreps as services
from csoa_portal.models import AuditEntry
from incidents import services as incident_services
from incidents.models import Incident
from liaison.models import Event
from tests.awareness.sitreps_support import FR_SECRET, draft, published, make_crisis

pytestmark = pytest.mark.django_db


@pytest.fixture
def crisis(network):
    return make_crisis(network)


def _state(report):
    report.refresh_from_db()
    return (report.status, report.published_at, report.snapshot, report.title, report.tlp, list(report.audience))


def test_the_drafting_bodies_draft_at_level_2_and_numbers_count_per_incident(crisis):
    first = draft(crisis, actor="enisa_liaison")
    second = draft(crisis, actor="ie_chair")
    assert (first.number, first.version, first.status, first.level) == (1, 1, "draft", 2)
    assert (second.number, second.author_organisation.code) == (2, "ie-authority")
    assert AuditEntry.objects.filter(action="sitrep.drafted").count() == 2


@pytest.mark.parametrize("person", ["de_analyst", "fr_analyst", "enisa_admin", "ie_analyst"])
def test_others_may_not_draft_even_when_they_see_the_incident(crisis, person):
    with pytest.raises(PermissionDenied, match="drafted by"):
        draft(crisis, actor=person)
    assert not SituationReport.objects.exists()


def test_at_level_3_enisa_is_not_the_body_in_charge_but_the_presidency_is(crisis):
    Incident.objects.filter(pk=crisis["primary"].pk).update(crisis_level=3)
    crisis["primary"].refresh_from_db()
    with pytest.raises(PermissionDenied):
        draft(crisis, actor="enisa_liaison")
    report = draft(crisis, actor="ie_chair", summary_what="Grid control systems encrypted",
                   summary_options="Activate the Reserve")
    reader = report_for_reader(report=report, user=crisis["people"]["ie_chair"])
    assert reader.summary[0] == ("What", "Grid control systems encrypted")
    assert dict(reader.summary)["Options"] == "Activate the Reserve"


def test_drafts_are_seen_by_the_drafting_bodies_only_until_published(crisis):
    report = draft(crisis)
    people = crisis["people"]
    assert set(reports_visible_to(people["ie_chair"])) == {report}  # the chair reviews ENISA's draft
    for person in ("de_analyst", "pt_analyst", "enisa_admin"):
        assert not reports_visible_to(people[person]).exists()


def test_the_reports_a_drafting_body_sees_cost_the_same_queries_however_many_there_are(crisis):
    people = crisis["people"]
    reports = [draft(crisis)]

    def visible_reports(person):
        with CaptureQueriesContext(connection) as queries:
            seen = set(reports_visible_to(people[person]))
        return seen, len(queries)

    visible_reports("ie_chair")  # anything read once per process is read now
    seen_one, queries_one = visible_reports("ie_chair")
    reports += [draft(crisis) for _ in range(2)] + [published(crisis, title="Published")]
    seen_four, queries_four = visible_reports("ie_chair")

    assert seen_one == {reports[0]} and seen_four == set(reports)
    assert queries_four == queries_one


def test_publishing_needs_review_and_another_person_then_the_audience_is_told(crisis):
    people = crisis["people"]
    report = draft(crisis, title="SITREP 1")
    before = _state(report)
    with pytest.raises(ValidationError, match="submit it for review before publishing"):
        services.publish_report(actor=people["enisa_crisis"], report=report)
    assert _state(report) == before
    with pytest.raises(PermissionDenied):
        services.submit_report(actor=people["ie_chair"], report=report)  # not the author's organisation
    services.submit_report(actor=people["enisa_liaison"], report=report)
    with pytest.raises(ValidationError, match="only a draft is edited"):
        services.edit_report(actor=people["enisa_liaison"], report=report, title="changed in review")
    with pytest.raises(PermissionDenied, match="four eyes"):
        services.publish_report(actor=people["enisa_liaison"], report=report)
    assert _state(report)[0] == "review"
    services.publish_report(actor=people["ie_chair"], report=report)
    report.refresh_from_db()
    assert report.status == "published" and report.published_by == people["ie_chair"]
    assert report.snapshot["sections"]
    event = Event.objects.get(kind="sitrep.published")
    assert event.subject_type == "situationreport" and event.subject_id == str(report.pk)
    audience = set(event.audience.values_list("name", flat=True))
    assert {"org:enisa", "org:de-csirt", "org:pt-csirt", "org:fr-csirt"} <= audience
    assert [a for a in AuditEntry.objects.filter(
        object_type="awareness.situationreport", object_id=str(report.pk)).order_by("id").values_list("action", flat=True)] == [
        "sitrep.drafted", "sitrep.submitted", "sitrep.published"]


def test_a_reviewer_returns_a_report_to_draft(crisis):
    people = crisis["people"]
    report = draft(crisis)
    services.submit_report(actor=people["enisa_liaison"], report=report)
    with pytest.raises(PermissionDenied):
        services.return_to_draft(actor=people["de_analyst"], report=report)
    services.return_to_draft(actor=people["ie_chair"], report=report, reason="Add the outlook")
    report.refresh_from_db()
    assert report.status == "draft"


def test_a_published_report_never_changes_and_a_correction_is_a_new_version(crisis):
    people = crisis["people"]
    report = published(crisis, title="SITREP 1")
    frozen = _state(report)
    with pytest.raises(ValidationError, match="publish a correction instead"):
        services.edit_report(actor=people["enisa_liaison"], report=report, title="rewritten")
    # New facts after publishing do not reach the published report.
    incident_services.add_timeline_entry(actor=people["pt_analyst"], incident=crisis["primary"], text="PT later",
                                         tlp="amber", kind="situation")
    assert _state(report) == frozen
    reader = report_for_reader(report=report, user=people["pt_analyst"])
    assert "PT later" not in str(reader.sections)

    correction = services.correct_report(actor=people["ie_chair"], report=report)
    assert (correction.number, correction.version, correction.corrects_id, correction.status) == (1, 2, report.pk, "draft")
    with pytest.raises(ValidationError, match="already being drafted"):
        services.correct_report(actor=people["enisa_liaison"], report=report)
    services.edit_report(actor=people["ie_chair"], report=correction, title="SITREP 1 (corrected)")
    services.submit_report(actor=people["ie_chair"], report=correction)
    services.publish_report(actor=people["enisa_liaison"], report=correction)
    report.refresh_from_db()
    assert report.superseded_at is not None and report.status == "published" and report.title == "SITREP 1"
    assert report.snapshot == frozen[2]
    assert "PT later" in str(report_for_reader(report=correction, user=people["pt_analyst"]).sections)
    assert set(reports_visible_to(people["pt_analyst"])) == {report, correction}  # the old stays readable
    with pytest.raises(ValidationError, match="correct the newest version"):
        services.correct_report(actor=people["ie_chair"], report=report)


def test_drafting_below_level_2_is_refused(crisis):
    Incident.objects.filter(pk=crisis["primary"].pk).update(crisis_level=1)
    crisis["primary"].refresh_from_db()
    with pytest.raises(ValidationError, match="levels 2 and 3 only"):
        draft(crisis)
    assert not SituationReport.objects.exists()


def test_a_related_incident_the_author_does_not_see_is_refused_without_saying_whether_it_exists(crisis):
    people = crisis["people"]
    hidden = incident_services.report_incident(actor=people["pt_analyst"], organisation=crisis["orgs"]["pt-csirt"],
                                               title="PT only", aware_at=crisis["primary"].aware_at)
    for pk in (hidden.pk, 999_999):
        with pytest.raises(ValidationError) as refused:
            draft(crisis, related_incidents=[pk])
        assert refused.value.message_dict["related_incidents"] == [f"No incident you may see has the id {pk}."]
    assert not SituationReport.objects.exists()


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"tlp": "green"}, "tlp", "less restricted than the incidents"),
    ({"tlp": "purple"}, "tlp", "Unknown TLP"),
    ({"audience": ["community:eu-cyclone"]}, "audience", "never widens"),
    ({"audience": ["org:provider-acme"]}, "audience", "never widens"),
    ({"tlp": "amber+strict", "related_incidents": [], "audience": ["ms:DE"]}, "audience", "never widens"),
    ({"tlp": "red", "related_incidents": [], "audience": ["org:pt-csirt"]}, "audience", "TLP:RED"),
    ({"audience": []}, "audience", "at least one"),
])
def test_bad_tlp_or_audience_is_refused_naming_the_field(crisis, fields, field, says):
    with pytest.raises(ValidationError) as refused:
        draft(crisis, **fields)
    assert says in " ".join(refused.value.message_dict[field])
    assert not SituationReport.objects.exists()


def test_the_default_audience_is_who_sees_the_incident_within_the_reports_tlp(crisis):
    report = draft(crisis, related_incidents=[crisis["related"].pk])
    assert report.tlp == "amber+strict"  # the strictest of the incidents it covers
    assert set(report.audience) == {"org:de-csirt", "org:enisa", "org:fr-csirt", "org:pt-csirt", "org:ie-authority"}
    assert FR_SECRET  # the FR update on the related incident is still filtered per reader (test_sitreps_redaction)


def test_the_menu_and_the_event_feed_follow_who_may_read(crisis):
    from awareness.hooks.menu import product_links
    from liaison.events import visible_subject_ids
    from liaison.menu import menu_for

    people = crisis["people"]
    report = published(crisis)
    labels = lambda person: [link.label for link in product_links(people[person])]  # noqa: E731
    assert "Situation reports" in labels("enisa_liaison") and "Situation reports" in labels("pt_analyst")
    assert "Situation reports" not in labels("provider")
    # The main menu has one entry for all the products, and none for those who may use none of them.
    main = lambda person: [link["label"] for link in menu_for(people[person])]  # noqa: E731
    assert main("pt_analyst").count("Crisis products") == 1 and "Situation reports" not in main("pt_analyst")
    assert "Crisis products" not in main("provider")
    assert visible_subject_ids(people["pt_analyst"], "situationreport", {str(report.pk)}) == {str(report.pk)}
    share = crisis["primary"].shares.get(group__name="org:pt-csirt")
    incident_services.unshare_incident(actor=people["de_analyst"], share=share)
    assert visible_subject_ids(people["pt_analyst"], "situationreport", {str(report.pk)}) == set()
