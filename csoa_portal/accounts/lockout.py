"""How django-axes names the account a sign-in attempt was for.

The login is case-insensitive (``User.objects.get_by_natural_key`` matches ``iexact``) and
the e-mail field strips spaces, so the lockout counts the same normalised address: changing
the case of a locked address gets no fresh attempts, and cannot be used to learn whether a
password is right while the account is locked.
"""

from django.conf import settings


def normalise(username) -> str:
    return (username or "").strip().lower() if isinstance(username, str) else ""


def normalised_username(request, credentials=None) -> str:
    """``AXES_USERNAME_CALLABLE``: the attempted e-mail, stripped and lower-cased."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        return normalise(credentials.get(field))
    data = getattr(request, "data", None) or getattr(request, "POST", {})
    return normalise(data.get(field))
