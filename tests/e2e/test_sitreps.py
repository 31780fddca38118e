"""A situation report through Chromium: the EU-CyCLONe chair drafts it on a level-2 incident and submits it for
review, ENISA (another drafting body: four eyes) publishes it, and the PDF downloaded from the page carries the TLP
marking on every page."""

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from awareness.models import SituationReport
from tests.awareness.sitreps_support import make_crisis
from tests.e2e.browser import login_in_browser

pytestmark = pytest.mark.e2e

TITLE = "Grid control encrypted in three member states: situation report"
ASSESSMENT = "Operators in DE, FR and PT run on manual procedures; no loss of supply so far."
NEXT_STEPS = "EU-CyCLONe meets again at 18:00 CET; the Reserve request is assessed."


def test_the_chair_drafts_enisa_publishes_and_the_pdf_is_marked_on_every_page(
        live_server_url, network, new_page, screenshot):
    crisis = make_crisis(network)
    people, primary = crisis["people"], crisis["primary"]

    # The chair (the Council Presidency's crisis authority) finds the level-2 incident on the reports page.
    chair = new_page()
    login_in_browser(chair, live_server_url, people["ie_chair"])
    chair.get_by_role("link", name="Crisis products", exact=True).click()
    chair.get_by_role("link", name="Situation reports", exact=True).click()
    chair.get_by_role("link", name=f"Draft a report on {primary.reference}").click()
    expect(chair.locator("h1")).to_contain_text(f"New situation report on {primary.reference}")
    chair.get_by_label("Title").fill(TITLE)
    expect(chair.get_by_role("combobox", name="TLP")).to_have_value("amber")  # the incident's, by default
    chair.get_by_role("combobox", name="TLP").select_option("amber")
    audience = chair.get_by_role("group", name="Audience")
    expect(audience.get_by_role("checkbox").first).to_be_checked()  # everyone who sees the incident, by default
    chair.get_by_label("Assessment").fill(ASSESSMENT)
    chair.get_by_label("Next steps").fill(NEXT_STEPS)
    screenshot(chair, "draft-form")
    chair.get_by_role("button", name="Save draft").click()
    expect(chair.locator(".messages")).to_contain_text("drafted")
    expect(chair.locator("h1")).to_have_text(TITLE)
    chair.get_by_role("button", name="Submit for review").click()
    expect(chair.locator(".messages")).to_contain_text("Submitted for review")
    # Four eyes: the page does not offer the author to publish, and says why.
    expect(chair.get_by_role("button", name="Publish")).to_have_count(0)
    expect(chair.locator("main")).to_contain_text("Another person must publish it")
    report = SituationReport.objects.get(title=TITLE)
    assert (report.status, report.author, report.submitted_by) == ("review", people["ie_chair"], people["ie_chair"])

    # ENISA, EU-CyCLONe's secretariat, reviews and publishes it.
    enisa = new_page()
    login_in_browser(enisa, live_server_url, people["enisa_liaison"])
    enisa.get_by_role("link", name="Crisis products", exact=True).click()
    enisa.get_by_role("link", name="Situation reports", exact=True).click()
    row = enisa.locator("tr", has_text=TITLE)
    expect(row).to_contain_text("In review")
    row.get_by_role("link", name=report.label).click()
    expect(enisa.locator("main")).to_contain_text("the portal's facts as of now")
    enisa.get_by_role("button", name="Publish").click()
    expect(enisa.locator(".messages")).to_contain_text("Published")

    # The published page: the TLP banner at the top and the bottom, the author's text and the portal's sections.
    banners = enisa.locator(".tlp-banner")
    expect(banners).to_have_count(2)
    for banner in (banners.first, banners.last):
        expect(banner).to_have_text("TLP:AMBER")
    main = enisa.locator("main")
    expect(main).to_contain_text("Published")
    expect(main).to_contain_text(ASSESSMENT)
    expect(main).to_contain_text(NEXT_STEPS)
    for heading in ("Member state contributions", "Affected member states and sectors", "Escalation history",
                    "Open clocks"):
        expect(enisa.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(enisa.locator("#section-contributions")).to_contain_text("PT-PORTS-NORMAL")
    screenshot(enisa, "published")
    report.refresh_from_db()
    assert (report.status, report.published_by) == ("published", people["enisa_liaison"])

    # The PDF through the page's link: the title, and the TLP marking on every page (header and footer).
    with enisa.expect_download() as download_info:
        enisa.get_by_role("link", name="PDF", exact=True).click()
    download = download_info.value
    assert re.fullmatch(r"sitrep-\d+-\d+-v1\.pdf", download.suggested_filename)
    with open(download.path(), "rb") as pdf:
        data = pdf.read()
    assert data.startswith(b"%PDF")
    pages = [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]
    assert pages
    for number, text in enumerate(pages, start=1):
        assert text.count("TLP:AMBER") >= 2, f"page {number} lacks its TLP marking in header and footer"
    everything = "\n".join(pages)
    assert TITLE in everything.replace("\n", " ")
    assert "Member state contributions" in everything
