"""The demo's crowded pages in Chromium at a laptop's 1280 px and a phone's 390 px.

For the dashboard, the incident page of the demo's multi-state incident, the crisis board,
the share dialog and the Reserve request: nothing scrolls sideways, the top bar keeps its
links on one line at 1280 px, and the incident page's "What you can do now" is on screen
without scrolling. Screenshots go to ``var/screenshots/`` for review.
"""

from pathlib import Path

import pytest
from django.db.models import Count
from django.conf import settings
from django.core.management import call_command

from incidents.models import Incident
from liaison.management.commands.load_demo import DEMO_PASSWORD
from liaison.models import User
from reserve.demo import DEMO_ENTITY
from reserve.models import AssistanceRequest
from tests.e2e.browser import login_in_browser

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
WIDTHS = {"laptop": 1280, "phone": 390}


@pytest.fixture
def demo(asgi_server, vocabularies):
    call_command("load_demo", "--quiet")
    incident = Incident.objects.annotate(alerted=Count("alerts")).order_by("-alerted", "id").first()
    request = AssistanceRequest.objects.get(affected_entity=DEMO_ENTITY)
    return {"incident": incident, "request": request}


def _sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _nav_rows(page) -> int:
    return page.evaluate("""new Set([...document.querySelectorAll('.topbar .mainnav a, .topbar .brand, .topbar .whoami')]
        .map(el => Math.round(el.getBoundingClientRect().top / 10))).size""")


@pytest.mark.parametrize("device", list(WIDTHS))
def test_crowded_pages_fit_the_screen_at_1280_and_390_px(live_server_url, browser, browser_problems, demo, device):
    width = WIDTHS[device]
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    browser_problems.attach(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    analyst = User.objects.get(email="analyst@de-csirt.demo")
    login_in_browser(page, live_server_url, analyst, password=DEMO_PASSWORD)
    pages = {
        "dashboard": "/",
        "incident": f"/incidents/{demo['incident'].pk}/",
        "board": "/incidents/board/",
        "share": f"/incidents/{demo['incident'].pk}/share/",
        "reserve-request": f"/reserve/requests/{demo['request'].pk}/",
    }
    problems = []
    for name, path in pages.items():
        response = page.goto(live_server_url + path)
        assert response.status == 200, (name, response.status)
        page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
        if _sideways(page) > 0:
            problems.append(f"{name}: scrolls {_sideways(page)} px sideways at {width} px")
        if device == "laptop" and _nav_rows(page) > 1:
            problems.append(f"{name}: the top bar wraps onto {_nav_rows(page)} lines at {width} px")
        if name == "incident":
            top = page.locator("#next-actions").bounding_box()["y"]
            if top > 900:
                problems.append(f"incident: 'What you can do now' starts {top:.0f} px down, below the screen")
    context.close()
    assert not problems, "\n".join(problems)
