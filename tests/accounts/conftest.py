"""Helpers for driving the two-step login through the Django test client."""

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import PASSWORD


def code_for(device: TOTPDevice) -> str:
    """The code the person's authenticator app shows right now."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def wrong_code_for(device: TOTPDevice) -> str:
    """A well-formed code that is not valid in any accepted time step."""
    valid = {f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift + d).token():06d}" for d in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


@pytest.fixture
def password_step():
    """POST e-mail and password: ``password_step(client, user)`` returns the response."""

    def step(client, user, password=PASSWORD, next_url=None):
        data = {"username": user.email, "password": password}
        if next_url:
            data["next"] = next_url
        return client.post(reverse("accounts:login"), data)

    return step


@pytest.fixture
def full_login(password_step):
    """Password then TOTP through the real pages; returns the final response."""

    def run(client, user):
        password_step(client, user)
        device = TOTPDevice.objects.get(user=user, confirmed=True)
        return client.post(reverse("accounts:verify"), {"code": code_for(device)})

    return run
