"""Who is on the other end of a websocket: the same two credentials as the API.

- a browser: its Django session, which must have passed the second factor (the rule of
  ``authentication.VerifiedSessionAuthentication``; Channels' own auth middleware knows the
  session's user but not django-otp's verification, so it is checked here from the session);
- SOC tooling: ``Authorization: Bearer csoa_…``, acting as the token's service account.

The middleware never refuses the handshake itself: it leaves ``scope["user"]`` (anonymous
when refused), ``scope["api_token"]`` and ``scope["auth_error"]`` (why not, safe to show),
so the consumer can accept, say why in an error frame and close with 4401.
"""

from asgiref.sync import sync_to_async
from channels.auth import get_user
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, connections
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from csoa_portal import tokens

SECOND_FACTOR_MISSING = "Sign in with your second factor first: this session is not verified."
NO_CREDENTIALS = "Sign in, or send an API token as 'Authorization: Bearer <token>'."


def db_sync_to_async(func):
    """Run ``func`` in Channels' sync thread like ``database_sync_to_async``, keeping the connection.

    The live stream reads the database on every event; with ``CONN_MAX_AGE=0`` each read
    would open a new PostgreSQL connection, a backend fork of tens of milliseconds on a busy
    host and the largest part of a delivery (bench/live_events.py). Channels still closes
    the thread's connections whenever it runs ``database_sync_to_async`` (a session sign-in,
    each disconnect), and a read that fails closes them so the next one reconnects.
    """

    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DatabaseError:
            connections.close_all()
            raise

    return sync_to_async(run, thread_sensitive=True)


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


@db_sync_to_async
def _token_principal(header: str, ip_address: str):
    """(user, token, error) for an ``Authorization`` header; the token's last use is noted."""
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return AnonymousUser(), None, "Malformed Authorization header: expected 'Bearer <token>'."
    try:
        token = tokens.authenticate(parts[1], ip_address=ip_address)
    except tokens.TokenError as exc:
        return AnonymousUser(), None, str(exc)
    return token.principal, token, None


@db_sync_to_async
def _is_verified(session, user) -> bool:
    """django-otp's check (``OTPMiddleware._verify_user``): the session names a device of this user."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not persistent_id or user.is_service_account:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk


class PortalAuthMiddleware(BaseMiddleware):
    """Resolve the bearer token or the MFA-verified session into ``scope["user"]``."""

    async def __call__(self, scope, receive, send):
        scope = dict(scope, user=AnonymousUser(), api_token=None, auth_error=None)
        header = _header(scope, b"authorization")
        if header:
            client_ip = (scope.get("client") or ("",))[0] or ""
            scope["user"], scope["api_token"], scope["auth_error"] = await _token_principal(header, client_ip[:45])
        else:
            user = await get_user(scope)
            if not user.is_authenticated:
                scope["auth_error"] = NO_CREDENTIALS
            elif not await _is_verified(scope["session"], user):
                scope["auth_error"] = SECOND_FACTOR_MISSING
            else:
                scope["user"] = user
        return await super().__call__(scope, receive, send)


def PortalAuthMiddlewareStack(inner):  # noqa: N802 (named like Channels' AuthMiddlewareStack)
    return CookieMiddleware(SessionMiddleware(PortalAuthMiddleware(inner)))


class BrowserOriginValidator(OriginValidator):
    """Channels' same-origin check for browsers, which always send ``Origin``.

    SOC tooling sends none and is let through: without an Origin there is no cross-site
    page that could ride on a browser's cookie.
    """

    def valid_origin(self, parsed_origin):
        return parsed_origin is None or super().valid_origin(parsed_origin)


def AllowedHostsOriginValidator(application):  # noqa: N802 (mirrors channels.security.websocket)
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(application, allowed_hosts)
