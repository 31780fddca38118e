"""An exercise in Chromium: a controller releases an inject, a participant sees it live on the exercise board
and acknowledges the alert, and the live board of the same person stays as it was.

Scenario (default Blueprint, incidents/blueprint_defaults.py): Cyber Europe runs now with DE CSIRT, FR CSIRT and
ENISA (which runs it; its analyst is the controller). The inject "New incident reported by DE" is a high-severity
incident in two member states (DE, FR): the engine makes it level 2 and alerts the CSIRTs Network and EU-CyCLONe,
FR CSIRT among them — inside the exercise only. The FR analyst works in two browser windows: one switched into the
exercise (its board follows the exercise's stream), one in live work.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from csoa_portal.models import AuditEntry
from incidents.models import Alert
from incidents.selectors import own_alerts
from liaison import services as liaison_services
from liaison.exercises import using_exercise
from scenarios import services as scenario_services
from tests import factories
from tests.e2e.browser import login_in_browser

pytestmark = pytest.mark.e2e

LIVE_WITHIN = 20_000  # ms: the first connection may wait out young id holes left by earlier tests
INJECT_TITLE = "New incident reported by DE"
INCIDENT_TITLE = "Ransomware at a hospital group"
HOSPITALS = {"title": INCIDENT_TITLE, "severity": "high", "tlp": "green", "member_states": ["DE", "FR"],
             "sectors": ["health"], "aware_minutes_before": 20}


@pytest.fixture
def drill(network, settings):
    """Cyber Europe 2026, running since a minute ago, with one inject waiting to be released by hand."""
    settings.EVENT_GAP_GRACE_SECONDS = 1.0  # earlier tests' flushes leave holes in the event ids
    orgs, people = network["orgs"], network["people"]
    crisis = factories.person("crisis@enisa.example", orgs["enisa"], ["crisis_manager"])
    controller = factories.person("control@enisa.example", orgs["enisa"], ["analyst"])
    now = timezone.now()
    plan = {"name": "Cyber Europe 2026", "kind": "cyber_europe", "starts_at": now - timedelta(minutes=1),
            "ends_at": now + timedelta(days=1), "participants": [orgs["de-csirt"], orgs["fr-csirt"], orgs["enisa"]],
            "controllers": [controller]}
    exercise = liaison_services.create_exercise(actor=crisis, organisation=orgs["enisa"], **plan)
    exercise = liaison_services.update_exercise(actor=crisis, exercise=exercise, status="running", **plan)
    inject = scenario_services.create_inject(actor=controller, exercise=exercise, kind="incident", title=INJECT_TITLE,
                                             organisation=orgs["de-csirt"], payload=HOSPITALS, offset=None)
    return {"exercise": exercise, "inject": inject, "controller": controller, "player": people["fr_analyst"],
            "fr": orgs["fr-csirt"]}


def _open_board(page):
    page.get_by_role("link", name="Crisis board", exact=True).click()
    expect(page.get_by_role("heading", name="Crisis board", level=1)).to_be_visible()
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=LIVE_WITHIN)
    page.evaluate("window.boardNeverReloaded = true")  # gone if the page reloads
    return page


def _nothing_of_the_exercise(board):
    expect(board.locator("[data-incident]")).to_have_count(0)
    expect(board.locator("#board-alerts .my-alert")).to_have_count(0)
    expect(board.locator(".exercise-banner")).to_have_count(0)
    content = board.content()
    assert INCIDENT_TITLE not in content and "Cyber Europe 2026" not in board.locator("main").inner_text()


def test_a_released_inject_reaches_the_exercise_board_live_and_never_the_live_board(
    live_server_url, new_page, drill, screenshot
):
    exercise, player = drill["exercise"], drill["player"]
    banner = f"EXERCISE — {exercise.name}"

    # The FR analyst, window 1: live work's board.
    live = new_page()
    login_in_browser(live, live_server_url, player)
    _open_board(live)
    live_position = live.locator("#live-status").get_attribute("data-last-event")
    _nothing_of_the_exercise(live)

    # Window 2: the same analyst switches into the exercise with the top bar's control, then opens the board.
    drilling = new_page()
    login_in_browser(drilling, live_server_url, player)
    drilling.get_by_label("Working in").select_option(label=f"Exercise: {exercise.name}")
    drilling.get_by_role("button", name="Switch").click()
    expect(drilling.get_by_role("note", name="Exercise")).to_contain_text(banner)
    _open_board(drilling)
    expect(drilling.get_by_role("note", name="Exercise")).to_contain_text(banner)
    expect(drilling.locator("#live-status")).to_have_attribute("data-live-exercise", str(exercise.pk))
    expect(drilling.locator("#board-alerts .my-alert")).to_have_count(0)
    screenshot(drilling, "exercise-board-before")

    # The controller releases the inject by hand from the scenario page.
    control = new_page()
    login_in_browser(control, live_server_url, drill["controller"])
    control.goto(f"{live_server_url}/exercises/{exercise.pk}/scenario/")
    row = control.locator(f"#inject-{drill['inject'].pk}")
    expect(row).to_contain_text("Pending")
    screenshot(control, "scenario-before")
    row.get_by_role("button", name="Release now").click()
    expect(control.get_by_role("status")).to_contain_text(f"“{INJECT_TITLE}” released in {exercise.name}")
    expect(row).to_contain_text("Released")
    # The incident it made, opened from live work through the exercise switch (a plain link would be 404 here).
    expect(row.get_by_role("button", name=re.compile(r"\(in the exercise\)"))).to_have_count(1)
    screenshot(control, "scenario-released")

    # The exercise board: the incident at level 2 and FR CSIRT's alert arrive over the websocket, no reload.
    card = drilling.locator("#level-2 [data-incident]")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(INCIDENT_TITLE)
    alert = drilling.locator("#board-alerts .my-alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text(INCIDENT_TITLE)
    expect(alert).to_contain_text(f"for {drill['fr'].name}")
    # Showing the alert marked it seen: wait for that event's refresh, so nothing else moves the board.
    expect(drilling.locator('#board-stream [data-kind="alert.seen"]')).to_have_count(1)
    expect(drilling.get_by_role("note", name="Exercise")).to_contain_text(banner)
    assert drilling.evaluate("window.boardNeverReloaded") is True
    screenshot(drilling, "exercise-board-alerted")

    # The analyst acknowledges the exercise alert on the exercise board.
    alert.get_by_role("button", name="Acknowledge").click()
    expect(alert).to_have_attribute("data-state", "acknowledged")
    expect(alert).to_contain_text(f"by {player.get_full_name()}")
    expect(drilling.locator('#board-stream [data-kind="alert.acknowledged"]')).to_have_count(1)
    screenshot(drilling, "exercise-board-acknowledged")

    # Everything reached the exercise board by now; the live board got nothing: no card, no alert, no event.
    _nothing_of_the_exercise(live)
    expect(live.locator("#live-status")).to_have_attribute("data-state", "live")
    assert live.locator("#live-status").get_attribute("data-last-event") == live_position
    assert live.evaluate("window.boardNeverReloaded") is True
    screenshot(live, "live-board-unchanged")
    live.reload()
    expect(live.locator("#live-status")).to_have_attribute("data-state", "live", timeout=LIVE_WITHIN)
    _nothing_of_the_exercise(live)
    screenshot(live, "live-board-reloaded")

    # The acknowledgement is recorded, on the exercise's alert, by the analyst; live work has no alert at all.
    for page in (live, drilling, control):
        page.close()
    with using_exercise(exercise):
        answered = own_alerts(player).get()
    assert answered.state == "acknowledged" and answered.answered_by == player and answered.answered_at
    assert answered.incident.title == INCIDENT_TITLE and answered.incident.exercise_id == exercise.pk
    assert AuditEntry.objects.filter(action="alert.acknowledged", object_id=str(answered.pk)).exists()
    assert not own_alerts(player).exists()
    assert not Alert.objects.filter(incident__exercise__isnull=True).exists()
