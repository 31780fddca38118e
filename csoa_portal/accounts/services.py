"""Writes of the login flow: a person's authenticator app (TOTP device) enrolment."""

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from csoa_portal import audit


def pending_device(*, user) -> TOTPDevice:
    """The person's unconfirmed device, created on first visit and reused until confirmed,
    so reloading the page does not invalidate a QR code already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def confirm_device(*, actor, device: TOTPDevice) -> TOTPDevice:
    """The person proved the app works (a valid code): it is their second factor from now on."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit.record(actor=actor, action="mfa.enrolled", obj=device)
    return device
