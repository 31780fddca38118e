"""The custom user model: e-mail is the login, case-insensitive."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import RequestFactory

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_the_user_model_uses_email_as_the_login():
    User = get_user_model()
    assert User.USERNAME_FIELD == "email"
    assert not hasattr(User, "username")
    user = User.objects.create_user("Ana@Example.EU", password=PASSWORD)
    assert user.email == "ana@example.eu"
    assert User.objects.get_by_natural_key("ANA@example.eu") == user


def test_a_person_authenticates_with_email_and_password():
    user = UserFactory(email="login@example.eu")
    assert authenticate(RequestFactory().post("/"), username="login@example.eu", password=PASSWORD) == user


def test_create_superuser_is_staff_and_superuser():
    admin = get_user_model().objects.create_superuser("root@example.eu", password=PASSWORD)
    assert admin.is_staff and admin.is_superuser
