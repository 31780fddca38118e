"""Request-wide guards: body size, database outages, audit origin, second factor, the user's time zone, input rules."""

import hashlib
import ipaddress
import logging
import sys
import zoneinfo
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from csoa_portal import input_rules
from csoa_portal.context import Origin, reset_origin, set_origin

logger = logging.getLogger(__name__)

# Kept in step with csoa_portal.api.exceptions, which this module cannot import at load time:
# DRF's settings import csoa_portal.authentication, which imports this module.
DATABASE_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def _trusted_networks() -> tuple:
    configured = tuple(getattr(settings, "TRUSTED_PROXIES", ()) or ())
    cached = _trusted_cache.get(configured)
    if cached is None:
        cached = tuple(ipaddress.ip_network(p.strip(), strict=False) for p in configured if p.strip())
        _trusted_cache.clear()
        _trusted_cache[configured] = cached
    return cached


_trusted_cache: dict[tuple, tuple] = {}


def _is_trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For hop a trusted proxy vouches for.

    The header is read only when the connection comes from a proxy in ``TRUSTED_PROXIES``,
    and only from the right: each trusted proxy appends the address it saw, so the first
    address from the right that is not a trusted proxy is the client. Anything to its left
    was written by the client and is never believed. Used by the audit log, token bookkeeping
    and django-axes (``AXES_CLIENT_IP_CALLABLE``).
    """
    remote = request.META.get("REMOTE_ADDR", "") or ""
    networks = _trusted_networks()
    if networks and _is_trusted(remote, networks):
        forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        for hop in reversed(forwarded):
            if not _is_trusted(hop, networks):
                try:
                    return str(ipaddress.ip_address(hop))[:45]
                except ValueError:
                    break  # garbage from a proxy's left: fall back to the proxy itself
        # Only proxies in the header (or none): the client is the last address we know.
    return remote[:45]


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


DATABASE_UNAVAILABLE_MESSAGE = (
    "The portal cannot reach its database right now, so this page could not be completed. "
    f"Please try again in {RETRY_AFTER_SECONDS} seconds. If you were saving something, "
    "check whether it was saved before you submit it again."
)


def database_unavailable(request) -> HttpResponse:
    """503 with a clear message: the API's error shape, or a page rendered without the database.

    The page is rendered without the request (no context processors, no session, no user),
    because everything those touch needs the database that just failed.
    """
    if wants_json(request):
        from csoa_portal.api.exceptions import database_unavailable_response

        return database_unavailable_response()
    html = render_to_string("errors/503.html", {"message": DATABASE_UNAVAILABLE_MESSAGE,
                                                "retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


_UNAVAILABLE_FLAG = "_csoa_database_unavailable"


def _note_database_failure(sender, request=None, **kwargs):
    """Django turned an exception raised outside the view into a 500: mark the request if it was the database's."""
    if request is not None and isinstance(sys.exc_info()[1], DATABASE_UNAVAILABLE_ERRORS):
        setattr(request, _UNAVAILABLE_FLAG, True)


got_request_exception.connect(_note_database_failure, dispatch_uid="csoa_portal.database_unavailable")


class DatabaseUnavailableMiddleware:
    """A lost or refused database connection is a 503 "try again", not a 500 "bug".

    - In a view (the usual place: a backend terminated mid-request, PostgreSQL restarted),
      ``process_exception`` answers 503 and the response still passes every middleware.
      DRF views answer the same through ``csoa_portal.api.exceptions.exception_handler``.
    - In another middleware (loading the session or the user with the database down),
      Django has already turned the error into a 500 (noted by ``_note_database_failure``),
      or rendering that 500 page failed again for want of the database: both become the
      503 here, which is why this middleware sits outside the session middleware.

    A failure after an API write was committed answers that write's result instead
    (``csoa_portal.api.transactions``): "not completed" would be untrue.

    The broken connection itself is dropped by Django at the end of the request (and checked
    before reuse, ``CONN_HEALTH_CHECKS``), so the next request reconnects without a restart.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except DATABASE_UNAVAILABLE_ERRORS as exc:  # the error page itself needed the database
            return self._replacing_a_failure(request, exc)
        if response.status_code == 500 and getattr(request, _UNAVAILABLE_FLAG, False):
            return self._replacing_a_failure(request, None)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_UNAVAILABLE_ERRORS):
            _log(request, exception)
            return database_unavailable(request)
        return None

    def _replacing_a_failure(self, request, exc) -> HttpResponse:
        _log(request, exc)
        from csoa_portal.api.transactions import committed_response

        committed = committed_response(request)
        if committed is not None:
            return committed  # the API write was committed before this failure: its answer stands
        response = database_unavailable(request)
        # Built outside the CSP and clickjacking middleware: add what they would have added.
        response["X-Frame-Options"] = settings.X_FRAME_OPTIONS
        if not wants_json(request):
            from csp.utils import build_policy

            response["Content-Security-Policy"] = build_policy()
        return response


def _log(request, exc) -> None:
    detail = (str(exc).strip() or exc.__class__.__name__) if exc is not None else "see the error logged above"
    logger.warning("database unavailable during %s %s: %s", request.method, request.path, detail)


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


class PrivateResponseMiddleware:
    """Whatever a signed-in person or a token is answered is that reader's version (their TLP, role and
    organisation): ``Cache-Control: private, no-store`` on every such response, pages, API, exports, PDFs and
    attachments alike, so that no shared cache or browser disk keeps it. A view may add directives of its own;
    none can make such an answer public. Runs after DRF has authenticated a token (it sets ``request.user``).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response


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


class InputGuardMiddleware:
    """Paths, query parameters and form fields are checked once, for every page and API operation.

    The text rule of ``csoa_portal.input_rules`` (no NUL, no lone surrogate) where input
    enters outside a JSON body (``csoa_portal.api.parsers`` checks those):

    - in the path: 404, as the path names nothing (``/api/v1/organisations/%00/`` reached
      PostgreSQL, which refused the lookup: a 500);
    - in the name or value of a query parameter, or of a form field on a page: 400 naming
      it, before any view, form or filter reads it.

    On the API, a query parameter given twice where the operation takes one value
    (``/api/v1/events/?after=1&after=2``) is a 400 naming it, as the websocket refuses it
    with 4400. The parameters that take several values are read from the view: its
    FilterSet's multiple-choice filters and its ``multi_valued_query_parameters``. Pages'
    own forms send each parameter once, and a page reads the last.

    Placed after the CSRF check (a forged post is refused with 403 whatever it holds) and
    after authentication (error pages need the user).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if input_rules.text_problem(request.path_info):
            raise Http404("No such path.")
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        problems: dict[str, list[str]] = {}
        _check_text(problems, request.GET.lists())
        if request.path.startswith("/api/"):
            multi_valued = _multi_valued_parameters(view_func)
            for name, values in request.GET.lists():
                if len(values) > 1 and name not in multi_valued:
                    name = input_rules.printable(name)
                    problems.setdefault(name, []).append(f"Give '{name}' once: it takes one value.")
        elif request.method not in ("GET", "HEAD", "OPTIONS"):
            _check_text(problems, request.POST.lists())
        if not problems:
            return None
        message = "Invalid input: " + ", ".join(problems) + "."
        if wants_json(request):
            return JsonResponse({"error": {"status": 400, "code": "invalid", "message": message, "fields": problems}},
                                status=400)
        details = [f"{name}: {' '.join(messages)}" for name, messages in problems.items()]
        return render(request, "errors/400.html", {"message": message, "details": details}, status=400)


def _check_text(problems: dict, items) -> None:
    for name, values in items:
        for problem in filter(None, [input_rules.text_problem(name), *map(input_rules.text_problem, values)]):
            problems.setdefault(input_rules.printable(name), []).append(problem)


def _multi_valued_parameters(view_func) -> set[str]:
    view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
    names = set(getattr(view_class, "multi_valued_query_parameters", ()))
    filterset_class = getattr(view_class, "filterset_class", None)
    if filterset_class is not None:
        names |= {name for name, f in filterset_class.base_filters.items()
                  if issubclass(f.field_class, forms.MultipleChoiceField)}
    return names
