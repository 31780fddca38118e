"""The demo's crowded pages in Chromium at a laptop's 1280 px and a phone's 390 px.

For the dashboard, the incident page of the demo's crisis (every member state's crisis authority
alerted, the incident shared with them all), the crisis board, the share dialog and the Reserve
request: nothing scrolls sideways, the top bar keeps its links on one line at 1280 px, and the
incident page's "What you can do now" is on screen without scrolling. The top bar also stays on
one line for the demo account whose bar is the most crowded (most menu links, longest names).
Screenshots go to ``var/screenshots/`` for review.
"""

from pathlib import Path

import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count

from incidents import policy, services
from incidents.models import Incident
from liaison.management.commands.load_demo import DEMO_PASSWORD
from liaison.management.commands.load_demo import Command as LoadDemo
from liaison.models import User
from reserve.demo import DEMO_ENTITY
from reserve.models import AssistanceRequest
from tests.conftest import verified_client
from tests.e2e.browser import login_in_browser

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
WIDTHS = {"laptop": 1280, "phone": 390}


@pytest.fixture
def demo(asgi_server, vocabularies):
    call_command("load_demo", "--quiet")
    incident = Incident.objects.annotate(alerted=Count("alerts")).order_by("-alerted", "id").first()
    originator = User.objects.get(email="analyst@de-csirt.demo")
    if policy.may_consent_to_network_sharing(originator, incident):  # shared with every alerted authority: ~29 rows
        services.consent_to_network_sharing(actor=originator, incident=incident)
    request = AssistanceRequest.objects.get(affected_entity=DEMO_ENTITY)
    return {"incident": incident, "request": request}


def _sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _nav_rows(page) -> int:
    """How many lines the bar's links, brand and identity sit on (by their middles: the identity block is taller)."""
    return page.evaluate("""new Set([...document.querySelectorAll('.topbar .mainnav a, .topbar .brand, .topbar .whoami')]
        .map(el => { const r = el.getBoundingClientRect(); return Math.round((r.top + r.height / 2) / 12); })).size""")


def _nav_overlaps(page) -> list[str]:
    """Links running off the screen or under the person's name (a bar that does not wrap can overflow instead)."""
    return page.evaluate("""(() => {
        const who = document.querySelector('.topbar .whoami');
        const limit = Math.min(window.innerWidth, who ? who.getBoundingClientRect().left : Infinity) + 0.5;
        return [...document.querySelectorAll('.topbar .mainnav a')]
            .filter(el => el.getBoundingClientRect().right > limit).map(el => el.textContent.trim());
    })()""")


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
        if device == "laptop" and _nav_overlaps(page):
            problems.append(f"{name}: top bar links off the screen or under the name: {_nav_overlaps(page)}")
        if name == "incident":
            top = page.locator("#next-actions").bounding_box()["y"]
            if top > 900:
                problems.append(f"incident: 'What you can do now' starts {top:.0f} px down, below the screen")
    context.close()
    assert not problems, "\n".join(problems)


def _top_bar(user) -> tuple[int, str]:
    """The number of links in the person's top bar and its whole text, as the dashboard draws it."""
    html = verified_client(user).get("/").content.decode()
    bar = html[html.index('<header class="topbar">'):html.index("</header>")]
    return bar.count("<a "), " ".join(re.sub(r"<[^>]+>", " ", bar).split())


def test_the_most_crowded_top_bars_stay_on_one_line_at_1280_px(live_server_url, browser, browser_problems, demo):
    """Of the demo's accounts (one per role, the banner's): the one with the most links (the network admin's
    tokens, audit log and Django admin) and the one with the most text (a long role-named person of a long-named
    organisation)."""
    bars = {email: _top_bar(User.objects.get(email=email)) for _, email in LoadDemo().example_accounts()}
    most_links = max(bars, key=lambda email: bars[email])
    most_text = max(bars, key=lambda email: len(bars[email][1]))
    assert bars[most_links][0] > bars["analyst@de-csirt.demo"][0]  # the choice is not the plainest account
    problems = []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for email in dict.fromkeys((most_links, most_text)):
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
        context.set_default_timeout(15_000)
        page = context.new_page()
        browser_problems.attach(page)
        login_in_browser(page, live_server_url, User.objects.get(email=email), password=DEMO_PASSWORD)
        for path in ("/", f"/incidents/{demo['incident'].pk}/", "/incidents/board/"):
            page.goto(live_server_url + path)
            if _nav_rows(page) > 1:
                problems.append(f"{email} {path}: the top bar wraps onto {_nav_rows(page)} lines ({bars[email][1]})")
            if _sideways(page) > 0:
                problems.append(f"{email} {path}: scrolls {_sideways(page)} px sideways")
            if _nav_overlaps(page):
                problems.append(f"{email} {path}: off the screen or under the name: {', '.join(_nav_overlaps(page))}")
        page.screenshot(path=SCREENSHOTS / f"top-bar-{email.split('@')[0]}-1280.png")
        context.close()
    assert not problems, "\n".join(problems)
