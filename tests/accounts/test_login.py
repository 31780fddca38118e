"""Email + password, then a TOTP code: the only way into the portal."""

from urllib.parse import urlencode

from axes.models import AccessAttempt
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.conftest import code_for, wrong_code_for
from tests.factories import PASSWORD

LOGIN = reverse("accounts:login")
VERIFY = reverse("accounts:verify")
DASHBOARD = reverse("liaison:dashboard")


def test_login_page_has_labelled_email_and_password_fields(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">E-mail address</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'autocomplete="current-password"' in html


def test_person_logs_in_with_password_and_totp_and_reaches_dashboard(client, network, full_login):
    person = network["people"]["de_analyst"]
    response = full_login(client, person)
    assert response.status_code == 302 and response.url == DASHBOARD
    page = client.get(DASHBOARD)
    assert page.status_code == 200
    assert person.get_full_name() in page.content.decode()


def test_correct_password_leads_to_code_step_not_to_data(client, network, password_step):
    response = password_step(client, network["people"]["de_analyst"])
    assert response.status_code == 302 and response.url == VERIFY
    dashboard = client.get(DASHBOARD)
    assert dashboard.status_code == 302 and dashboard.url.startswith(VERIFY)


def test_code_page_shows_a_numeric_one_time_code_field(client, network, password_step):
    password_step(client, network["people"]["de_analyst"])
    html = client.get(VERIFY).content.decode()
    assert 'autocomplete="one-time-code"' in html
    assert 'inputmode="numeric"' in html
    assert "autofocus" in html


def test_wrong_password_is_refused_with_400_and_a_clear_message(client, network, password_step):
    response = password_step(client, network["people"]["de_analyst"], password="not the password")
    assert response.status_code == 400
    assert "The e-mail address or the password is not correct" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unknown_email_gets_the_same_message_as_a_wrong_password(client, db):
    response = client.post(LOGIN, {"username": "nobody@example.eu", "password": PASSWORD})
    assert response.status_code == 400
    assert "The e-mail address or the password is not correct" in response.content.decode()


def test_malformed_email_is_refused_with_400_naming_the_field(client, db):
    response = client.post(LOGIN, {"username": "not-an-email", "password": PASSWORD})
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()


def test_service_account_can_never_log_in(client, network, password_step):
    person = network["people"]["de_analyst"]
    person.is_service_account = True
    person.save(update_fields=["is_service_account"])
    response = password_step(client, person)
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.filter(username=person.email).exists()


def test_next_is_kept_through_password_and_code(client, network):
    person = network["people"]["de_analyst"]
    directory = reverse("liaison:directory")
    response = client.post(LOGIN, {"username": person.email, "password": PASSWORD, "next": directory})
    assert response.url == f"{VERIFY}?{urlencode({'next': directory})}"
    device = TOTPDevice.objects.get(user=person)
    response = client.post(VERIFY, {"code": code_for(device), "next": directory})
    assert response.status_code == 302 and response.url == directory


def test_next_pointing_to_another_site_is_ignored(client, network, password_step):
    person = network["people"]["de_analyst"]
    password_step(client, person)
    device = TOTPDevice.objects.get(user=person)
    response = client.post(VERIFY, {"code": code_for(device), "next": "https://evil.example/steal"})
    assert response.status_code == 302 and response.url == DASHBOARD


def test_wrong_totp_code_is_refused_with_400(client, network, password_step):
    person = network["people"]["de_analyst"]
    password_step(client, person)
    device = TOTPDevice.objects.get(user=person)
    response = client.post(VERIFY, {"code": wrong_code_for(device)})
    assert response.status_code == 400
    assert "That code is not correct" in response.content.decode()
    assert client.get(DASHBOARD).url.startswith(VERIFY)


def test_wrong_totp_code_counts_as_a_failed_login(client, network, password_step):
    person = network["people"]["de_analyst"]
    password_step(client, person)
    client.post(VERIFY, {"code": wrong_code_for(TOTPDevice.objects.get(user=person))})
    attempt = AccessAttempt.objects.get(username=person.email)
    assert attempt.failures_since_start == 1


def test_code_that_is_not_six_digits_is_refused_with_400_naming_the_field(client, network, password_step):
    password_step(client, network["people"]["de_analyst"])
    response = client.post(VERIFY, {"code": "12ab"})
    assert response.status_code == 400
    assert "Enter the six digits" in response.content.decode()


def test_code_with_a_space_as_apps_show_it_is_accepted(client, network, password_step):
    person = network["people"]["de_analyst"]
    password_step(client, person)
    code = code_for(TOTPDevice.objects.get(user=person))
    response = client.post(VERIFY, {"code": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302 and response.url == DASHBOARD


def test_quick_retry_after_wrong_code_is_throttled_with_429(client, network, password_step):
    person = network["people"]["de_analyst"]
    password_step(client, person)
    device = TOTPDevice.objects.get(user=person)
    client.post(VERIFY, {"code": wrong_code_for(device)})
    response = client.post(VERIFY, {"code": code_for(device)})
    assert response.status_code == 429
    assert "Too many wrong codes in a row: wait" in response.content.decode()


def test_code_step_without_password_step_redirects_to_login(client, db):
    response = client.get(VERIFY)
    assert response.status_code == 302 and response.url == LOGIN


def test_a_code_cannot_be_used_twice(client, network, password_step):
    person = network["people"]["de_analyst"]
    password_step(client, person)
    code = code_for(TOTPDevice.objects.get(user=person))
    client.post(VERIFY, {"code": code})
    client.post(reverse("accounts:logout"))
    password_step(client, person)
    response = client.post(VERIFY, {"code": code})
    assert response.status_code == 400
