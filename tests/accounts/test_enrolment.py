"""A person without a confirmed second factor enrols one before seeing any data."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from csoa_portal.models import AuditEntry
from tests import factories
from tests.accounts.conftest import code_for, wrong_code_for

ENROL = reverse("accounts:enrol")
VERIFY = reverse("accounts:verify")
DASHBOARD = reverse("liaison:dashboard")


@pytest.fixture
def newcomer(network):
    return factories.person("new@de-csirt.example", network["orgs"]["de-csirt"], ["analyst"], totp=False)


def test_person_without_device_is_sent_to_enrol_after_password(client, newcomer, password_step):
    response = password_step(client, newcomer)
    assert response.status_code == 302 and response.url == ENROL


@pytest.mark.parametrize("page", ["liaison:dashboard", "liaison:directory", "liaison:tokens", "audit:list"])
def test_person_without_device_sees_no_data_page_before_enrolling(client, newcomer, password_step, page):
    password_step(client, newcomer)
    response = client.get(reverse(page))
    assert response.status_code == 302 and response.url.startswith(ENROL)


def test_enrol_page_shows_inline_svg_qr_code_and_the_secret(client, newcomer, password_step):
    password_step(client, newcomer)
    response = client.get(ENROL)
    html = response.content.decode()
    device = TOTPDevice.objects.get(user=newcomer, confirmed=False)
    secret = device.config_url.split("secret=")[1].split("&")[0]
    assert response.status_code == 200
    assert "<svg" in html and "<path" in html
    assert f'data-secret="{secret}"' in html
    assert 'autocomplete="one-time-code"' in html


def test_reloading_enrol_page_keeps_the_same_secret(client, newcomer, password_step):
    password_step(client, newcomer)
    client.get(ENROL)
    client.get(ENROL)
    assert TOTPDevice.objects.filter(user=newcomer).count() == 1


def test_enrolment_confirms_the_device_with_a_correct_code_and_is_audited(client, newcomer, password_step):
    password_step(client, newcomer)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=newcomer)
    response = client.post(ENROL, {"code": code_for(device)})
    assert response.status_code == 302 and response.url == DASHBOARD
    device.refresh_from_db()
    assert device.confirmed
    entry = AuditEntry.objects.get(action="mfa.enrolled")
    assert entry.actor_id == newcomer.pk and entry.object_id == str(device.pk)
    assert client.get(DASHBOARD).status_code == 200


def test_enrolment_refuses_a_wrong_code_with_400(client, newcomer, password_step):
    password_step(client, newcomer)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=newcomer)
    response = client.post(ENROL, {"code": wrong_code_for(device)})
    assert response.status_code == 400
    assert "That code is not correct" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not AuditEntry.objects.filter(action="mfa.enrolled").exists()
    assert client.get(DASHBOARD).url.startswith(ENROL)


def test_person_with_a_confirmed_device_cannot_enrol_another(client, network, password_step):
    person = network["people"]["de_analyst"]
    password_step(client, person)
    response = client.get(ENROL)
    assert response.status_code == 302 and response.url == VERIFY
    response = client.post(ENROL, {"code": "123456"})
    assert response.status_code == 302 and response.url == VERIFY
    assert TOTPDevice.objects.filter(user=person).count() == 1


def test_enrol_without_password_step_redirects_to_login(client, db):
    response = client.get(ENROL)
    assert response.status_code == 302 and response.url == reverse("accounts:login")
