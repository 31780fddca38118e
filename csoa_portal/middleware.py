"""Request-wide guards: body size, audit origin, second factor, the user's time zone."""

import hashlib
import zoneinfo
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from csoa_portal.context import Origin, reset_origin, set_origin


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")[:45]


def wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


class RequestSizeLimitMiddleware:
    """Refuse oversized bodies with 413 before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.REQUEST_MAX_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            message = f"Request body too large: {length} bytes; the limit is {limit} bytes."
            if wants_json(request):
                return JsonResponse(
                    {"error": {"status": 413, "code": "request_too_large", "message": message, "fields": {}}},
                    status=413,
                )
            return render(request, "errors/413.html", {"message": message}, status=413)
        return self.get_response(request)


class AuditContextMiddleware:
    """Tell the audit log that writes in this request come from a browser session.

    Token-authenticated API requests overwrite this in the DRF authentication class.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session_key = getattr(request, "session", None) and request.session.session_key
        session_ref = hashlib.sha256(session_key.encode()).hexdigest()[:16] if session_key else ""
        user = getattr(request, "user", None)
        org_code = ""
        if user is not None and user.is_authenticated:
            org_code = getattr(user, "primary_organisation_code", "") or ""
        token = set_origin(
            Origin(via="session", session_ref=session_ref, ip_address=client_ip(request), organisation_code=org_code)
        )
        try:
            return self.get_response(request)
        finally:
            reset_origin(token)


EXEMPT_PREFIXES = ("/accounts/", "/static/", "/healthz", "/readyz", "/api/", "/favicon.ico")


class SecondFactorRequiredMiddleware:
    """A signed-in person without a verified second factor sees no data.

    They are sent to enter their TOTP code or, if they have no confirmed device yet,
    to enrol one. The API enforces the same rule in its session authentication.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(EXEMPT_PREFIXES)
        ):
            from django_otp import devices_for_user

            has_device = any(True for _ in devices_for_user(user, confirmed=True))
            target = reverse("accounts:verify" if has_device else "accounts:enrol")
            return HttpResponseRedirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class UserTimezoneMiddleware:
    """Pages show times in the signed-in person's time zone; storage stays UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        tz_name = getattr(user, "timezone", "") if user is not None and user.is_authenticated else ""
        try:
            timezone.activate(zoneinfo.ZoneInfo(tz_name)) if tz_name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)
