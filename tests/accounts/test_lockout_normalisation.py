"""The lockout counts the normalised e-mail address: case and spaces buy no fresh attempts.

Each request comes from its own address, so only the per-account count can lock: the
per-address count (tested in test_lockout.py) never reaches the limit here.
"""

from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

LOCKED_MESSAGE = "Too many failed sign-in attempts for this account or from this network address."


def _attempt(email, password, n):
    return Client(REMOTE_ADDR=f"192.0.2.{n}").post(reverse("accounts:login"), {"username": email, "password": password})


def _variants(email):
    yield email
    yield email.upper()
    yield email.title()
    yield f"  {email.swapcase()} "
    while True:
        yield email[:1].upper() + email[1:]


def test_failures_under_different_cases_count_against_one_account(network):
    email = network["people"]["de_analyst"].email
    variants = _variants(email)
    for n in range(1, settings.AXES_FAILURE_LIMIT):
        assert _attempt(next(variants), "wrong password 1", n).status_code == 400
    assert _attempt(next(variants), "wrong password 1", 99).status_code == 429
    assert set(AccessAttempt.objects.values_list("username", flat=True)) == {email}


def test_changing_the_case_of_a_locked_address_gets_no_fresh_attempt(network):
    email = network["people"]["de_analyst"].email
    for n in range(settings.AXES_FAILURE_LIMIT):
        _attempt(email, "wrong password 1", n + 1)
    response = _attempt(email.upper(), "wrong password 1", 50)
    assert response.status_code == 429 and LOCKED_MESSAGE in response.content.decode()


def test_a_locked_account_answers_the_same_for_the_right_and_a_wrong_password(network):
    email = network["people"]["de_analyst"].email
    for n in range(settings.AXES_FAILURE_LIMIT):
        _attempt(email.upper(), "wrong password 1", n + 1)
    client_right, client_wrong = Client(REMOTE_ADDR="198.51.100.1"), Client(REMOTE_ADDR="198.51.100.2")
    right = client_right.post(reverse("accounts:login"), {"username": email.title(), "password": PASSWORD})
    wrong = client_wrong.post(reverse("accounts:login"), {"username": email.title(), "password": "wrong password 2"})
    assert right.status_code == wrong.status_code == 429
    assert right.content == wrong.content
    assert "_auth_user_id" not in client_right.session


def test_a_right_password_in_another_case_signs_in_before_any_lock(network):
    person = network["people"]["de_analyst"]
    client = Client(REMOTE_ADDR="198.51.100.3")
    response = client.post(reverse("accounts:login"), {"username": person.email.upper(), "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(person.pk)
