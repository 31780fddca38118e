"""Long pickers in Chromium: member states and sectors are searched and ticked, several without Ctrl-click."""

import pytest
from playwright.sync_api import expect

from incidents.models import Incident
from tests.e2e.browser import login_in_browser

pytestmark = pytest.mark.e2e


def test_an_analyst_filters_and_ticks_member_states_and_sectors_in_the_report_form(
        live_server_url, page, network, screenshot):
    login_in_browser(page, live_server_url, network["people"]["de_analyst"])
    page.goto(f"{live_server_url}/incidents/new/")
    page.fill("#id_title", "Wiper at two grid operators")
    page.locator("summary", has_text="More details").click()
    states = page.locator('input.picker-search[aria-controls]').nth(0)
    states.fill("germ")
    page.get_by_label("Germany (DE)").check()
    states.fill("fran")
    expect(page.get_by_label("Germany (DE)")).to_be_hidden()  # filtered out, still ticked
    page.get_by_label("France (FR)").check()
    expect(page.locator(".picker-chosen").first).to_have_text("2 chosen: France (FR), Germany (DE)")
    sectors = page.locator('input.picker-search[aria-controls]').nth(1)
    sectors.fill("electricity")
    page.get_by_label("Energy — Electricity").check()
    screenshot(page, "picker")
    page.get_by_role("button", name="Report").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Wiper at two grid operators")
    incident = Incident.objects.get(title="Wiper at two grid operators")
    assert sorted(incident.affected_member_states.values_list("code", flat=True)) == ["DE", "FR"]
    assert list(incident.sectors.values_list("code", flat=True)) == ["energy.electricity"]
