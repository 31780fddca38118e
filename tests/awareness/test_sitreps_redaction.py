"""One published situation report, three readers with different rights: each gets the version their TLP allows.

The report says that something was left out, never what or how many.
"""

import pytest
from django.http import Http404

from awareness.selectors.sitreps import REPORT_NOTE, SECTION_NOTE, print_document, report_for_reader
from incidents import services as incident_services
from tests.awareness.sitreps_support import DE_R2_TEXT, FR_SECRET, PT_TEXT, published, make_crisis

pytestmark = pytest.mark.django_db


@pytest.fixture
def crisis(network):
    return make_crisis(network)


def _contributions(reader) -> dict[str, str]:
    section = next(s for s in reader.sections if s.key == "contributions")
    return {item.source["organisation"]: item.text for item in section.items}


def _section(reader, key):
    return next(s for s in reader.sections if s.key == key)


def _everything(reader) -> str:
    parts = [reader.omitted_note]
    for s in reader.sections:
        parts += [s.heading, s.omitted_note]
        parts += [f"{i.label} {i.text} {i.fields} {i.source}" for i in s.items]
    return " ".join(map(str, parts))


def test_enisa_reads_every_contribution_and_nothing_is_said_to_be_left_out(crisis):
    report = published(crisis)
    reader = report_for_reader(report=report, user=crisis["people"]["enisa_admin"])
    assert _contributions(reader) == {"de-csirt": DE_R2_TEXT, "fr-csirt": FR_SECRET, "pt-csirt": PT_TEXT}
    assert reader.omitted_note == ""
    assert all(s.omitted_note == "" for s in reader.sections)
    assert reader.map_states == {"DE": "contributed", "FR": "contributed", "PT": "contributed"}
    affected = _section(reader, "affected")
    assert {i.source["incident"] for i in affected.items} == {
        crisis["primary"].pk, crisis["related"].pk, crisis["related2"].pk}


def test_a_state_csirt_does_not_get_another_states_amber_strict_update_and_is_told_only_that_something_is_missing(crisis):
    report = published(crisis)
    reader = report_for_reader(report=report, user=crisis["people"]["de_analyst"])
    assert _contributions(reader) == {"de-csirt": DE_R2_TEXT, "pt-csirt": PT_TEXT}
    contributions = _section(reader, "contributions")
    assert contributions.omitted_note == SECTION_NOTE
    assert reader.omitted_note == REPORT_NOTE
    text = _everything(reader)
    assert FR_SECRET not in text
    assert "Metro signalling" not in text  # the related incident's title
    assert crisis["related"].reference not in text
    assert "1" not in SECTION_NOTE and "FR" not in SECTION_NOTE  # never how many nor whose
    assert {i.source["incident"] for i in _section(reader, "affected").items} == {
        crisis["primary"].pk, crisis["related2"].pk}
    # FR is still affected by the primary incident (its own fact), but its contribution is not shown.
    assert reader.map_states == {"DE": "contributed", "FR": "affected", "PT": "contributed"}


def test_a_third_csirt_with_even_less_sees_only_the_primary_incidents_items(crisis):
    report = published(crisis)
    reader = report_for_reader(report=report, user=crisis["people"]["pt_analyst"])
    assert _contributions(reader) == {"pt-csirt": PT_TEXT}
    text = _everything(reader)
    for hidden in (FR_SECRET, DE_R2_TEXT, "Substations tripped", "Metro signalling", crisis["related2"].reference):
        assert hidden not in text
    assert _section(reader, "contributions").omitted_note == SECTION_NOTE
    assert _section(reader, "affected").omitted_note == SECTION_NOTE
    assert [i.source["incident"] for i in _section(reader, "affected").items] == [crisis["primary"].pk]
    document = print_document(reader)
    assert document.omitted_note == REPORT_NOTE
    assert document.map_states == {"DE": "affected", "FR": "affected", "PT": "contributed"}
    assert FR_SECRET not in str(document) and DE_R2_TEXT not in str(document)
    assert [c.title for c in document.charts][0] == "Impact severity reported by member states"
    assert document.charts[0].bars == (("Green — minor", 1),)


def test_outside_the_audience_or_without_the_incident_the_report_is_404(crisis):
    report = published(crisis)
    for person in ("provider", "de_liaison"):  # not addressed, and not seeing the incident
        with pytest.raises(Http404):
            report_for_reader(report=report, user=crisis["people"][person])


def test_a_share_revoked_after_publishing_also_removes_the_items_from_that_incident(crisis):
    report = published(crisis)
    share = crisis["related2"].shares.get(group__name="org:enisa")
    incident_services.unshare_incident(actor=crisis["people"]["de_analyst"], share=share)
    reader = report_for_reader(report=report, user=crisis["people"]["enisa_admin"])
    assert DE_R2_TEXT not in _everything(reader)
    assert reader.omitted_note == REPORT_NOTE
