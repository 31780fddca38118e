import pytest
from django.utils import timezone
from reserve import services
from reserve.workflow import RequestStatus
from tests.e2e.browser import login_in_browser
from tests.reserve.conftest import reserve  # noqa
from tests.reserve.factories import request_in

pytestmark = pytest.mark.e2e


def test_tmp(live_server_url, page, reserve, screenshot, browser_problems):
    browser_problems.allow(r"status of 4\d\d")
    p = reserve["people"]
    ar = request_in(RequestStatus.DEPLOYED, reserve)
    e = ar.engagements.get()
    services.log_work(actor=p["provider"], engagement=e, day=timezone.localdate(), person_days="2", activity="Imaging")
    services.post_update(actor=p["de_analyst"], engagement=e, text="Thanks, all good")
    request_in(RequestStatus.AWAITING_SPOC, reserve, affected_entity="Second one")
    request_in(RequestStatus.DRAFT, reserve, affected_entity="Third one")
    login_in_browser(page, live_server_url, p["provider"])
    page.goto(f"{live_server_url}/reserve/engagements/{e.pk}/")
    screenshot(page, "engagement")
    page.goto(f"{live_server_url}/reserve/requests/{ar.pk}/")
    screenshot(page, "provider-detail")
    page.context.clear_cookies()
    login_in_browser(page, live_server_url, p["de_analyst"])
    page.goto(f"{live_server_url}/reserve/requests/")
    screenshot(page, "list")
    page.goto(f"{live_server_url}/reserve/requests/new/")
    page.get_by_role("button", name="Submit the request").click()
    screenshot(page, "errors")
    page.context.clear_cookies()
    login_in_browser(page, live_server_url, p["enisa_admin"])
    page.goto(f"{live_server_url}/reserve/providers/")
    screenshot(page, "providers")
    page.goto(f"{live_server_url}/reserve/providers/provider-acme/")
    screenshot(page, "provider-edit")
