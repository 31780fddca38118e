"""Logout, session expiry, security headers and CSRF on the login pages."""

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import PASSWORD

LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")
DASHBOARD = reverse("liaison:dashboard")


def test_logout_by_get_is_refused_with_405(client, network, full_login):
    full_login(client, network["people"]["de_analyst"])
    assert client.get(LOGOUT).status_code == 405
    assert client.get(DASHBOARD).status_code == 200


def test_logout_ends_the_session_and_returns_to_login_with_a_message(client, network, full_login):
    full_login(client, network["people"]["de_analyst"])
    response = client.post(LOGOUT, follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert "You have logged out." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(DASHBOARD).url.startswith(LOGIN)


def test_expired_session_sends_a_page_request_to_login(client, network, full_login):
    full_login(client, network["people"]["de_analyst"])
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response.url.startswith(LOGIN)
    page = client.get(response.url)
    assert "Your session has ended" in page.content.decode()


def test_invalid_session_cookie_sends_a_page_request_to_login(client, network, full_login):
    full_login(client, network["people"]["de_analyst"])
    client.cookies["sessionid"] = "not-a-real-session-key"
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_pages_carry_security_headers(client, db):
    response = client.get(LOGIN)
    csp = response.headers["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'self'" in script_src
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_login_post_without_csrf_token_is_refused_with_403(network):
    client = Client(enforce_csrf_checks=True)
    person = network["people"]["de_analyst"]
    response = client.post(LOGIN, {"username": person.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_login_post_with_csrf_token_from_the_form_is_accepted(network):
    client = Client(enforce_csrf_checks=True)
    client.get(LOGIN)
    person = network["people"]["de_analyst"]
    token = client.cookies["csrftoken"].value
    response = client.post(LOGIN, {"username": person.email, "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
