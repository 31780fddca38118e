"""A Reserve request through Chromium: submitted by a DE CSIRT analyst, forwarded by the SPOC, triaged by ENISA
in the priority queue, approved by a decision-maker, and matched against the provider registry."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reserve.models import AssistanceRequest
from reserve.workflow import RequestStatus
from tests.e2e.browser import login_in_browser
from tests.reserve.conftest import reserve  # noqa: F401  (the Reserve's network, providers and an incident)
from tests.reserve.factories import provider

pytestmark = pytest.mark.e2e


@pytest.fixture
def person_page(browser, browser_problems, live_server_url):
    """``person_page(user)``: a fresh browser context, logged in as that person through the real pages."""
    contexts = []

    def open_as(user):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        browser_problems.attach(page)
        login_in_browser(page, live_server_url, user)
        return page

    yield open_as
    for context in contexts:
        context.close()


def test_request_goes_from_a_de_analyst_through_triage_and_decision_to_the_provider_ranking(
        live_server_url, page, reserve, person_page, screenshot):  # noqa: F811
    people = reserve["people"]
    # A provider that cannot serve: its certification ends before the support window does.
    provider(people["enisa_admin"], "provider-lapsing", certified_until=timezone.localdate() + timedelta(days=3))
    today = timezone.localdate()

    # The DE CSIRT analyst writes and submits the request from the Reserve link.
    login_in_browser(page, live_server_url, people["de_analyst"])
    page.get_by_role("link", name="Reserve", exact=True).click()
    page.get_by_role("link", name="Request Reserve support").click()
    page.get_by_label("Affected entity").fill("Stadtwerke Beispiel GmbH")
    page.get_by_label("Type of entity").select_option("essential")
    page.get_by_label("Sector (NIS2)").select_option("energy.electricity")
    page.get_by_label("Incidents it concerns").select_option(str(reserve["incident"].pk))
    page.get_by_label("Potential impact").fill("Grid control encrypted; 200,000 households at risk.")
    page.get_by_label("Impact level").select_option("severe")
    page.get_by_label("Risk of spill-over").select_option("medium")
    page.get_by_label("Planned use of the support").fill("Forensics and recovery of the SCADA network.")
    page.get_by_label("Incident response and handling").check()
    page.get_by_label("Digital forensics").check()
    page.get_by_label("Estimated effort (person-days)").fill("20")
    page.get_by_label("Support needed from").fill((today + timedelta(days=1)).isoformat())
    page.get_by_label("Support needed until").fill((today + timedelta(days=14)).isoformat())
    page.get_by_label("Urgency").select_option("immediate")
    page.get_by_label("Working languages").fill("de, en")
    page.get_by_label("Mitigation measures already taken").fill("OT network segmented; CSIRT on site.")
    page.get_by_label("How far the measures go").select_option("substantial")
    page.get_by_label("We confirm that all appropriate mitigation measures have been taken").check()
    page.get_by_label("Other support available").fill("No IR retainer; insurance excludes state actors.")
    screenshot(page, "request-form")
    page.get_by_role("button", name="Submit the request").click()
    expect(page.locator(".messages")).to_contain_text("submitted")
    request = AssistanceRequest.objects.get()
    expect(page.locator("h1")).to_contain_text(request.reference)
    expect(page.locator(".tags")).to_contain_text("Awaiting the single point of contact")

    # The German SPOC forwards (endorses) it: the 48-hour clock starts.
    spoc = person_page(people["de_spoc"])
    spoc.goto(f"{live_server_url}/reserve/requests/{request.pk}/")
    spoc.get_by_label("Endorsement note (optional)").fill("Endorsed by the German SPOC.")
    spoc.get_by_role("button", name="Forward (endorse)").click()
    expect(spoc.locator(".messages")).to_contain_text("48-hour clock is running")

    # ENISA triage: the request in the queue with its priority, explanation and clock.
    triage = person_page(people["enisa_triage"])
    triage.get_by_role("link", name="Reserve", exact=True).click()
    expect(triage).to_have_url(re.compile(r"/reserve/triage/$"))
    item = triage.locator(".queue-item", has_text=request.reference)
    expect(item.locator(".queue-score .score")).to_have_text(re.compile(r"^\d+$"))
    expect(item.locator(".queue-clock .time-left")).to_have_text(re.compile(r"4\d h \d+ min left"))
    item.locator("details.explanation summary").click()
    expect(item.locator(".priority-explanation")).to_contain_text("essential entity (CSoA Art. 16, criterion (b))")
    screenshot(triage, "triage-queue")
    item.get_by_role("link", name="Assess").click()
    expect(triage.locator("#completeness")).to_contain_text("Every item CSoA Art. 15 asks for is filled in")
    triage.get_by_label("Complete: everything Art. 15(4) asks for is there").check()
    triage.get_by_label("Approve").check()
    triage.get_by_label("Reasons for the recommendation").fill("Essential entity, severe impact, measures taken.")
    triage.get_by_role("button", name="Record the assessment").click()
    expect(triage.locator(".messages")).to_contain_text("assessed")

    # The contracting authority's decision-maker approves within the clock.
    decider = person_page(people["enisa_decision"])
    decider.goto(f"{live_server_url}/reserve/requests/{request.pk}/decide/")
    expect(decider.locator("#recommendation")).to_contain_text("Recommends: approve")
    expect(decider.locator(".big-clock .time-left")).to_contain_text("left")
    decider.get_by_label("Reasons for the decision").fill("Meets CSoA Art. 15; priority high.")
    screenshot(decider, "decision")
    decider.get_by_role("button", name="Approve").click()
    expect(decider.locator(".messages")).to_contain_text("approved")
    expect(decider.locator("#decision")).to_contain_text("Meets CSoA Art. 15")
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED

    # ENISA ranks the providers: each rank with its reasons, each exclusion with its reason.
    triage.goto(f"{live_server_url}/reserve/requests/{request.pk}/")
    triage.get_by_role("link", name="Provider ranking").click()
    ranked = triage.locator("#ranked tbody tr")
    expect(ranked).to_have_count(3)
    expect(ranked.first).to_have_attribute("data-provider", "provider-acme")
    expect(ranked.first).to_contain_text("Offers 2 of 2 requested services")
    expect(ranked.first).to_contain_text("Commits to respond within 4 h")
    lapsing = triage.locator("#excluded tr[data-provider='provider-lapsing']")
    expect(lapsing).to_contain_text("Certification")
    expect(lapsing).to_contain_text("Certification expires on")
    expect(triage.get_by_role("button", name="Engage ACME Incident Response")).to_be_visible()
    screenshot(triage, "ranking")

    # The dashboard counts it; the requester sees the decision and its reasons on the request.
    triage.get_by_role("link", name="Dashboard").last.click()
    expect(triage.locator("#by-status tr[data-status='approved'] td.num")).to_have_text("1")
    expect(triage.locator("#time-to-decision")).to_contain_text("median, against the 48 h 0 min legal clock")
    screenshot(triage, "dashboard")
    page.goto(f"{live_server_url}/reserve/requests/{request.pk}/")
    expect(page.locator("#decision")).to_contain_text("Approved")
    expect(page.locator("#decision")).to_contain_text("Meets CSoA Art. 15")
    expect(page.locator("#assessments")).to_have_count(0)  # the recommendation stays inside the authority
    screenshot(page, "requester-detail")
