"""A published situation report downloaded as PDF (page and API) by three organisations with different rights.

The real renderer (``awareness.pdf``) runs; pypdf reads the pages back. Each reader's PDF is their
version of the report: the TLP marking in the header and footer of every page, the sections they may
read, the "left out" note (never the content) where they may not, the ISAA summary on the first page
at level 3. A person who may not read the report gets the 404 of a report that does not exist.
"""

import re

import pytest

from awareness.selectors.sitreps import REPORT_NOTE, SECTION_NOTE, SECTIONS, report_for_reader
from tests.awareness.sitreps_pdf_support import (
    API_PDF,
    ISAA,
    PAGE_PDF,
    everything,
    level3_report,
    long_report,
    pages,
)
from tests.awareness.sitreps_support import DE_R2_TEXT, FR_SECRET, PT_TEXT, draft, make_crisis

pytestmark = pytest.mark.django_db

PATHS = pytest.mark.parametrize("path", [PAGE_PDF, API_PDF], ids=["page", "api"])
READERS = ("enisa_admin", "de_analyst", "pt_analyst")  # sees everything; not FR's update; the primary incident only


@pytest.fixture
def crisis(network):
    return make_crisis(network)


def _answer(response) -> bytes:
    """The body without the CSRF token's per-response mask (the page's log-out form)."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", response.content)


def _download(login, person, path, report):
    response = login(person).get(path.format(pk=report.pk))
    assert response.status_code == 200, response.content[:300]
    return response


@PATHS
@pytest.mark.parametrize("reader", READERS)
def test_every_page_carries_the_reports_tlp_marking_in_its_header_and_its_footer(crisis, login, path, reader):
    report = long_report(crisis)
    assert report.tlp == "amber+strict"
    document = pages(_download(login, crisis["people"][reader], path, report).content)
    assert len(document) >= 2
    for number, page in enumerate(document, start=1):
        assert page.header_labels() == ["TLP:AMBER+STRICT"], f"page {number}"
        assert page.footer_labels() == ["TLP:AMBER+STRICT"], f"page {number}"
        assert page.says(f"page {number}")


@PATHS
def test_a_tlp_amber_report_is_marked_amber_not_amber_strict(crisis, login, path):
    report = long_report(crisis, related_incidents=[crisis["related2"].pk], tlp="amber")
    document = pages(_download(login, crisis["people"]["pt_analyst"], path, report).content)
    assert len(document) >= 2
    assert all(p.header_labels() == p.footer_labels() == ["TLP:AMBER"] for p in document)


def _section_notes(report, person) -> int:
    return sum(1 for s in report_for_reader(report=report, user=person).sections if s.omitted_note)


@PATHS
def test_enisa_reads_every_section_and_is_told_nothing_was_left_out(crisis, login, path):
    report = long_report(crisis)
    text = everything(pages(_download(login, crisis["people"]["enisa_admin"], path, report).content))
    for _, heading in SECTIONS:
        assert text.says(heading), heading
    for content in (FR_SECRET, DE_R2_TEXT, PT_TEXT, "Metro signalling down", "Substations tripped",
                    crisis["related"].reference, crisis["related2"].reference, "Assessment paragraph 24"):
        assert text.says(content), content
    assert not text.says("left out")


@PATHS
def test_a_state_csirt_gets_its_sections_without_another_states_amber_strict_update_only_a_note(crisis, login, path):
    report = long_report(crisis)
    person = crisis["people"]["de_analyst"]
    text = everything(pages(_download(login, person, path, report).content))
    for content in (DE_R2_TEXT, PT_TEXT, "Substations tripped", crisis["related2"].reference):
        assert text.says(content), content
    for hidden in (FR_SECRET, "Metro signalling", crisis["related"].reference):
        assert not text.says(hidden), hidden
    assert text.says(REPORT_NOTE)
    assert text.squashed.count("".join(SECTION_NOTE.split())) == _section_notes(report, person) >= 1


@PATHS
def test_the_csirt_with_least_rights_gets_only_the_primary_incidents_items_and_the_notes(crisis, login, path):
    report = long_report(crisis)
    person = crisis["people"]["pt_analyst"]
    document = pages(_download(login, person, path, report).content)
    text = everything(document)
    assert text.says(PT_TEXT) and text.says(crisis["primary"].reference)
    for hidden in (FR_SECRET, DE_R2_TEXT, "Metro signalling", "Substations tripped", crisis["related"].reference,
                   crisis["related2"].reference):
        assert not text.says(hidden), hidden
    for _, heading in SECTIONS:  # a section that lost items is still there, saying so
        assert text.says(heading), heading
    assert document[0].says(REPORT_NOTE)
    assert text.squashed.count("".join(SECTION_NOTE.split())) == _section_notes(report, person) >= 2
    assert text.says("Assessment paragraph 24")  # the author's own text is the report's, for every reader


@PATHS
@pytest.mark.parametrize("reader", ["enisa_admin", "pt_analyst"])
def test_a_level_3_report_has_the_isaa_summary_on_its_first_page(crisis, login, path, reader):
    report = level3_report(crisis)
    assert report.level == 3
    document = pages(_download(login, crisis["people"][reader], path, report).content)
    assert len(document) >= 2
    first = document[0]
    for label, value in zip(("What", "Where", "Impact", "Outlook", "Options"), ISAA.values(), strict=True):
        assert first.says(label) and first.says(value), value
    whole = everything(document).squashed
    assert whole.index("ISAA-OPTIONS") < whole.index("Memberstatesinvolved") < whole.index("Assessmentparagraph1:")
    assert all(not p.says("ISAA-") for p in document[1:])
    assert all(p.header_labels() == p.footer_labels() == [report.get_tlp_display()] for p in document)


@PATHS
def test_a_level_2_report_has_no_isaa_summary(crisis, login, path):
    report = long_report(crisis, summary_what="ISAA-WHAT never printed at level 2")
    text = everything(pages(_download(login, crisis["people"]["enisa_admin"], path, report).content))
    assert not text.says("ISAA-WHAT")


@PATHS
def test_the_pdf_is_served_as_a_named_pdf_attachment(crisis, login, path):
    report = long_report(crisis)
    response = _download(login, crisis["people"]["pt_analyst"], path, report)
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="sitrep-{crisis["primary"].pk}-{report.number}-v{report.version}.pdf"')
    assert response.content.startswith(b"%PDF-")
    # The reader's own version of a TLP-marked report: kept by no shared cache, nor on the browser's disk
    # (as the portal serves every restricted download: attachments, STIX exports).
    assert response["Cache-Control"] == "private, no-store"


@PATHS
def test_the_author_downloads_a_draft_marked_as_not_published(crisis, login, path):
    report = draft(crisis, title="Draft SITREP")
    document = pages(_download(login, crisis["people"]["enisa_liaison"], path, report).content)
    assert document[0].says("draft, not published")
    assert all(p.header_labels() == p.footer_labels() == ["TLP:AMBER+STRICT"] for p in document)


@PATHS
@pytest.mark.parametrize("person", ["provider", "de_liaison"])
def test_an_outsider_gets_the_404_of_a_missing_report(crisis, login, path, person):
    report = long_report(crisis)
    client = login(crisis["people"][person])
    refused, missing = client.get(path.format(pk=report.pk)), client.get(path.format(pk=report.pk + 1000))
    assert refused.status_code == missing.status_code == 404
    assert _answer(refused) == _answer(missing)
    assert b"%PDF" not in refused.content


@PATHS
@pytest.mark.parametrize("person", ["pt_analyst", "de_analyst", "enisa_admin"])
def test_a_draft_is_404_to_anyone_but_its_drafting_bodies_as_a_missing_report_is(crisis, login, path, person):
    report = draft(crisis, assessment=FR_SECRET)
    client = login(crisis["people"][person])
    refused, missing = client.get(path.format(pk=report.pk)), client.get(path.format(pk=report.pk + 1000))
    assert refused.status_code == missing.status_code == 404
    assert _answer(refused) == _answer(missing)
