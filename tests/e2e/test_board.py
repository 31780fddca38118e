"""The live crisis board in Chromium: officers see escalations and answers arrive without reloading.

Writes whose events the pages must receive are made through ``outside_browser_thread``
(see tests/e2e/browser.py), exactly as a service call elsewhere in the portal would, each
group in one transaction; while the pages are live the test reads the database only
through them (embedded mode's in-memory SQLite refuses a read while the server writes).

Scenario (default Blueprint, incidents/blueprint_defaults.py): the DE CSIRT's incident is
shared with the DE crisis authority and ENISA; "national capacity exceeded" makes it
level 2; levels are cumulative, so the CSIRTs Network (level 1) and EU-CyCLONe (level 2:
crisis authorities, ENISA, the Commission) are alerted — the DE authority and ENISA among
them — and the PT single point of contact (in neither network) is not.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from incidents import services
from incidents.models import Alert
from tests import factories
from tests.e2e.browser import LiveServer, login_in_browser, outside_browser_thread, served_application

pytestmark = pytest.mark.e2e

LIVE_WITHIN = 20_000  # ms: the first connection may wait out young id holes left by earlier tests


@pytest.fixture
def officers(network, settings):
    """Liaison officers of the DE crisis authority, ENISA and the PT single point of contact (in neither network)."""
    # Earlier tests' flushes leave holes in the event ids; readers wait this long for a hole to settle.
    settings.EVENT_GAP_GRACE_SECONDS = 1.0
    return {
        "de": network["people"]["de_liaison"],
        "enisa": factories.person("liaison@enisa.example", network["orgs"]["enisa"], ["liaison_officer"]),
        "pt": factories.person("liaison@pt-spoc.example", factories.organisation(
            "pt-spoc", "spoc", "PT", "Portugal NIS2 single point of contact"), ["liaison_officer"]),
    }


def _open_board(new_page, base_url, person):
    page = new_page()
    login_in_browser(page, base_url, person)
    page.get_by_role("link", name="Crisis board", exact=True).click()
    expect(page.get_by_role("heading", name="Crisis board", level=1)).to_be_visible()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=LIVE_WITHIN)
    expect(page.locator("#live-status")).to_have_text("Live")
    page.evaluate("window.boardNeverReloaded = true")  # gone if the page reloads
    return page


@transaction.atomic
def _report_shared_with(network, *codes, **facts):
    analyst = network["people"]["de_analyst"]
    incident = services.report_incident(
        actor=analyst, organisation=network["orgs"]["de-csirt"], title="Wiper at a transmission system operator",
        aware_at=timezone.now() - timedelta(hours=1), tlp="amber", severity="high", **facts)
    services.share_incident(actor=analyst, incident=incident, organisations=[network["orgs"][c] for c in codes])
    return incident


def _card(page, incident, level=None):
    where = f"#level-{level} " if level is not None else ""
    return page.locator(f"{where}#board-incident-{incident.pk}")


def test_de_and_enisa_see_an_escalation_live_and_the_pt_officer_sees_nothing(
    live_server_url, new_page, network, officers, screenshot
):
    boards = {name: _open_board(new_page, live_server_url, person) for name, person in officers.items()}
    de, enisa, pt = boards["de"], boards["enisa"], boards["pt"]
    pt_position = pt.locator("#live-status").get_attribute("data-last-event")

    # Shared with DE and ENISA at level 0: it appears on both boards.
    incident = outside_browser_thread(_report_shared_with, network, "de-authority", "enisa")
    expect(_card(de, incident, level=0)).to_be_visible()
    expect(_card(enisa, incident, level=0)).to_contain_text(incident.title)
    expect(de.locator('#board-map [data-ms="DE"]')).to_have_attribute("data-level", "")  # no member state given yet

    # The facts change: national capacity exceeded → level 2, EU-CyCLONe alerted.
    outside_browser_thread(transaction.atomic(services.update_incident), actor=network["people"]["de_analyst"],
                           incident=incident, national_capacity_exceeded=True,
                           affected_member_states=[factories.member_state("DE")])
    for board in (de, enisa):
        expect(_card(board, incident, level=2)).to_be_visible()
        expect(_card(board, incident, level=0)).to_have_count(0)
        expect(board.locator('#board-map [data-ms="DE"]')).to_have_attribute("data-level", "2")
        expect(board.locator("#board-stream")).to_contain_text(f"{incident.reference} escalated: level 0 → 2")
    de_alert = de.locator("#board-alerts .my-alert")
    expect(de_alert).to_have_count(1)
    expect(de_alert).to_contain_text(incident.title)
    expect(de_alert).to_contain_text("for BSI crisis management")
    expect(enisa.locator("#board-alerts .my-alert")).to_have_count(1)  # ENISA's own alert
    screenshot(de, "de-escalated")
    screenshot(enisa, "enisa-escalated")

    # DE acknowledges on its board.
    de_alert.get_by_role("button", name="Acknowledge").click()
    expect(de_alert).to_have_attribute("data-state", "acknowledged")
    expect(de_alert).to_contain_text("Answered")
    expect(de_alert).to_contain_text(f"by {officers['de'].get_full_name()}")
    expect(_card(de, incident).locator('[data-alert-org="de-authority"]')).to_have_attribute("data-state",
                                                                                             "acknowledged")
    screenshot(de, "de-acknowledged")

    # ENISA is drafting a situation update when DE posts one: ENISA reads DE's and keeps its draft.
    enisa_card, de_card = _card(enisa, incident, level=2), _card(de, incident, level=2)
    enisa_card.get_by_text("Post a situation update").click()
    enisa_card.get_by_role("textbox", name="Situation update").fill("ENISA draft: coordinating with CERT-EU")
    de_card.get_by_text("Post a situation update").click()
    de_card.get_by_role("textbox", name="Situation update").fill("Substations on manual control; no spread so far.")
    de_card.get_by_label("Outlook (next 6 hours)").select_option("stable")
    de_card.get_by_role("button", name="Post situation update").click()
    expect(de_card.get_by_role("status")).to_contain_text("Situation update posted")
    expect(enisa_card.locator(".latest-update")).to_contain_text("Substations on manual control; no spread so far.")
    expect(enisa_card.locator(".latest-situation")).to_contain_text("Outlook (next 6 hours): Stable")
    expect(enisa_card.get_by_role("textbox", name="Situation update")).to_have_value("ENISA draft: coordinating with CERT-EU")
    screenshot(enisa, "enisa-situation-update")

    # PT saw nothing: no card, no colour on the map, not one event on its socket.
    expect(pt.locator("[data-incident]")).to_have_count(0)
    expect(pt.locator('#board-map [data-ms="DE"]')).to_have_attribute("class", "tile lvl-none")
    assert incident.reference not in pt.content() and incident.title not in pt.content()
    expect(pt.locator("#live-status")).to_have_attribute("data-state", "live")
    assert pt.locator("#live-status").get_attribute("data-last-event") == pt_position
    screenshot(pt, "pt-nothing")
    for board in (de, enisa, pt):
        assert board.evaluate("window.boardNeverReloaded") is True


def test_enisa_sees_de_acknowledge_its_alert_live(live_server_url, new_page, network, officers):
    incident = _report_shared_with(network, "de-authority", national_capacity_exceeded=True)
    # TLP:AMBER: the alerted EU-CyCLONe (ENISA here) reads it once the originator agrees.
    services.consent_to_network_sharing(actor=network["people"]["de_analyst"], incident=incident)
    alert = Alert.objects.get(incident=incident, organisation__code="de-authority")
    enisa = _open_board(new_page, live_server_url, officers["enisa"])
    # Showing ENISA's own alert marked it seen: wait for that event's refresh, so nothing else moves the board.
    expect(enisa.locator('#board-stream [data-kind="alert.seen"]')).to_have_count(1)
    chip = _card(enisa, incident, level=2).locator('[data-alert-org="de-authority"]')
    expect(chip).to_have_attribute("data-state", "notified")
    de = _open_board(new_page, live_server_url, officers["de"])

    de.locator(f"#my-alert-{alert.pk}").get_by_role("button", name="Acknowledge").click()
    expect(de.locator(f"#my-alert-{alert.pk}")).to_have_attribute("data-state", "acknowledged")
    expect(chip).to_have_attribute("data-state", "acknowledged", timeout=5_000)


def test_a_filtered_board_keeps_its_filter_when_it_refreshes_live(live_server_url, new_page, network, officers):
    incident = outside_browser_thread(_report_shared_with, network, "de-authority")
    outside_browser_thread(transaction.atomic(services.add_timeline_entry), actor=officers["de"], incident=incident,
                           text="Substations down", kind="situation", impact_severity="red")
    de = _open_board(new_page, live_server_url, officers["de"])
    expect(_card(de, incident).locator(".latest-situation")).to_contain_text("Impact severity: Red — very large")

    # The officer keeps only very large impacts, from the board's own filter control.
    de.get_by_label("Impact severity").first.select_option("red")
    de.get_by_role("button", name="Filter").click()
    expect(de).to_have_url(f"{live_server_url}/incidents/board/?impact=red&outlook=&root_cause=&threat=")
    expect(de.locator("#live-status")).to_have_attribute("data-state", "live", timeout=LIVE_WITHIN)
    de.evaluate("window.boardNeverReloaded = true")
    expect(_card(de, incident)).to_be_visible()

    # A newer assessment says green: the live refresh applies the page's filter, and the card goes.
    outside_browser_thread(transaction.atomic(services.add_timeline_entry), actor=officers["de"], incident=incident,
                           text="Restored", kind="situation", impact_severity="green")
    expect(_card(de, incident)).to_have_count(0)
    assert de.evaluate("window.boardNeverReloaded") is True


def test_board_shows_reconnecting_while_the_server_is_away_and_catches_up_after(
    asgi_server, new_page, network, officers, browser_problems, screenshot
):
    # Chromium logs each refused reconnection attempt while the server is down.
    browser_problems.allow(r"WebSocket connection to .* failed")
    de = _open_board(new_page, asgi_server.url, officers["de"])
    status = de.locator("#live-status")

    asgi_server.stop()
    expect(status).to_have_attribute("data-state", "reconnecting")
    expect(status).to_have_text("Reconnecting…")
    screenshot(de, "reconnecting")
    # Meanwhile an incident is shared with DE: its events are in the log, no page is connected.
    incident = outside_browser_thread(_report_shared_with, network, "de-authority")
    expect(_card(de, incident)).to_have_count(0)

    restarted = LiveServer(served_application(), port=asgi_server.port).start()
    try:
        expect(status).to_have_attribute("data-state", "live", timeout=45_000)  # backoff stays under 30 s
        expect(_card(de, incident, level=0)).to_be_visible()
        expect(de.locator('#board-stream [data-kind="incident.shared"]')).to_contain_text(incident.reference)
        assert de.evaluate("window.boardNeverReloaded") is True
        screenshot(de, "caught-up")
    finally:
        restarted.stop()
