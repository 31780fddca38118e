"""Repeated failures lock the account and the address for a while (django-axes)."""

from django.conf import settings
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.conftest import wrong_code_for

LOCKED_MESSAGE = "Too many failed sign-in attempts for this account or from this network address."


def fail_password(client, email, times):
    for _ in range(times):
        response = client.post(reverse("accounts:login"), {"username": email, "password": "wrong password 1"})
    return response


def test_account_is_locked_after_the_failure_limit_with_a_clear_message(client, network):
    email = network["people"]["de_analyst"].email
    before = fail_password(client, email, settings.AXES_FAILURE_LIMIT - 1)
    assert before.status_code == 400
    response = fail_password(client, email, 1)
    assert response.status_code == 429
    html = response.content.decode()
    assert LOCKED_MESSAGE in html
    assert "Sign-in is locked for 15 minutes" in html
    assert "Please try again later" in html


def test_correct_password_is_refused_while_locked(client, network, password_step):
    person = network["people"]["de_analyst"]
    fail_password(client, person.email, settings.AXES_FAILURE_LIMIT)
    response = password_step(client, person)
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_lock_covers_the_address_for_other_accounts(client, network, password_step):
    fail_password(client, "someone@example.eu", settings.AXES_FAILURE_LIMIT)
    response = password_step(Client(), network["people"]["fr_analyst"])
    assert response.status_code == 429


def test_wrong_codes_lock_the_account_and_end_the_half_open_session(client, network, password_step, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # device throttling would answer 429 before axes counts
    person = network["people"]["de_analyst"]
    password_step(client, person)
    device = TOTPDevice.objects.get(user=person)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(reverse("accounts:verify"), {"code": wrong_code_for(device)}).status_code == 400
    response = client.post(reverse("accounts:verify"), {"code": wrong_code_for(device)})
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert password_step(client, person).status_code == 429


def test_account_locked_elsewhere_cannot_finish_a_login_already_past_the_password(client, network, password_step):
    person = network["people"]["de_analyst"]
    password_step(client, person)
    fail_password(Client(REMOTE_ADDR="10.1.2.3"), person.email, settings.AXES_FAILURE_LIMIT)
    response = client.get(reverse("accounts:verify"))
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
