"""Logging in through Chromium: password, TOTP, enrolment, and a wrong code."""

import re
from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from playwright.sync_api import expect

from tests import factories
from tests.e2e.browser import current_code, login_in_browser

pytestmark = pytest.mark.e2e


def test_person_logs_in_with_password_and_totp_and_reaches_dashboard(live_server_url, page, network, screenshot):
    person = network["people"]["de_analyst"]
    login_in_browser(page, live_server_url, person)
    expect(page.locator(".whoami .who")).to_have_text(person.get_full_name())
    screenshot(page, "dashboard")


def test_new_person_is_made_to_enrol_then_reaches_dashboard(live_server_url, page, network, screenshot):
    newcomer = factories.person("new@de-csirt.example", network["orgs"]["de-csirt"], ["analyst"], totp=False)
    page.goto(f"{live_server_url}{reverse('liaison:directory')}")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("E-mail address").fill(newcomer.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(re.compile(r"/accounts/enrol/"))
    expect(page.locator(".qr svg")).to_be_visible()
    screenshot(page, "enrol")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    code = f"{TOTP(b32decode(secret)).token():06d}"
    page.get_by_label("Six-digit code").fill(code)
    page.get_by_role("button", name="Confirm").click()

    # The page asked for before logging in is where the person lands.
    expect(page).to_have_url(f"{live_server_url}{reverse('liaison:directory')}")
    expect(page.locator(".messages")).to_contain_text("Your authenticator app is set up")
    expect(page.locator(".whoami .who")).to_have_text(newcomer.get_full_name())


def test_wrong_code_shows_the_error_and_keeps_the_person_out(live_server_url, page, network, browser_problems):
    # Chromium logs the page's own 400 answer to the wrong code as a console error.
    browser_problems.allow(r"status of 400 .*/accounts/verify/")
    person = network["people"]["de_analyst"]
    page.goto(f"{live_server_url}{reverse('accounts:login')}")
    page.get_by_label("E-mail address").fill(person.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Six-digit code").fill("000000" if current_code(person) != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()

    expect(page.get_by_role("alert")).to_contain_text("That code is not correct")
    expect(page).to_have_url(re.compile(r"/accounts/verify/"))
    page.goto(f"{live_server_url}{reverse('liaison:dashboard')}")
    expect(page).to_have_url(re.compile(r"/accounts/verify/"))
