"""Sign-in in two steps (password, then a TOTP code), TOTP enrolment, and sign-out.

After the password step the session is authenticated but not OTP-verified;
``SecondFactorRequiredMiddleware`` keeps such a session away from every data page
until ``verify`` (or, for a person without a confirmed device, ``enrol``) succeeds.
django-axes counts failures of both steps against the account and the address:
the password step through ``authenticate`` (axes' backend and signal handler), the
code step by sending ``user_login_failed`` ourselves, because a code is the second
half of the same credential. On top of that, django-otp throttles each device
(1, 2, 4 … seconds after successive wrong codes), and that count survives a
successful password step. Axes' counter is reset only once the code is right too.
"""

from base64 import b32encode
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from csoa_portal.accounts import services
from csoa_portal.accounts.forms import PasswordLoginForm, TokenForm
from csoa_portal.accounts.lockout import normalise

WRONG_PASSWORD = (
    "The e-mail address or the password is not correct. "
    "After several failed attempts, sign-in is locked for a while."
)
WRONG_CODE = "That code is not correct. Check that your phone's clock is right and enter the code shown now."


def _safe_next(request) -> str:
    """The ``next`` target if it stays on this site, else empty (no open redirect)."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return ""


def _url(name: str, next_url: str) -> str:
    url = reverse(name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _destination(next_url: str) -> str:
    return next_url or reverse(settings.LOGIN_REDIRECT_URL)


def _confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def _throttle_message(info: dict | None) -> str:
    until = (info or {}).get("locked_until")
    seconds = max(1, int((until - timezone.now()).total_seconds()) + 1) if until else 1
    return f"Too many wrong codes in a row: wait {seconds} seconds, then enter the code shown at that time."


def _check_code(device: TOTPDevice, form: TokenForm) -> tuple[TOTPDevice | None, int]:
    """Verify the form's code against ``device``; on failure put the error on the form.

    Returns the verified device (or None) and the HTTP status of a refusal:
    429 while the device's throttle forbids trying, 400 for a wrong code.
    """
    allowed, info = device.verify_is_allowed()
    if not allowed:
        form.add_error("code", _throttle_message(info))
        return None, 429
    verified = verify_token(device.user, device.persistent_id, form.cleaned_data["code"])
    if verified is None:
        form.add_error("code", WRONG_CODE)
        return None, 400
    return verified, 200


def _complete_second_factor(request, device: TOTPDevice) -> None:
    otp_login(request, device)
    # Only the whole credential (password and code) clears the failure count: a correct
    # password alone must not reset it, or password and code guesses could alternate.
    axes_reset(username=normalise(request.user.email))
    # The session now carries more privilege than before: give it a new key.
    request.session.cycle_key()


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = _safe_next(request)
    if request.user.is_authenticated:
        return redirect(_destination(next_url) if request.user.is_verified() else _url("accounts:verify", next_url))

    form = PasswordLoginForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            email = form.cleaned_data["username"]
            user = authenticate(request, username=email, password=form.cleaned_data["password"])
            if user is not None and user.is_service_account:
                # Service accounts stand behind API tokens only; a password for one is a failure.
                user_login_failed.send(sender=__name__, credentials={"username": email}, request=request)
                user = None
            if user is not None:
                login(request, user)
                step = "accounts:verify" if _confirmed_device(user) else "accounts:enrol"
                return redirect(_url(step, next_url))
            form.add_error(None, WRONG_PASSWORD)
    # A session cookie that no longer opens a session: it expired or was ended elsewhere.
    session_ended = (
        request.method == "GET"
        and settings.SESSION_COOKIE_NAME in request.COOKIES
        and request.session.is_empty()
    )
    context = {"form": form, "next": next_url, "session_ended": session_ended}
    return render(request, "accounts/login.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def verify_view(request):
    next_url = _safe_next(request)
    user = request.user
    if not user.is_authenticated:
        return redirect(_url("accounts:login", next_url))
    if user.is_verified():
        return redirect(_destination(next_url))
    device = _confirmed_device(user)
    if device is None:
        return redirect(_url("accounts:enrol", next_url))

    credentials = {"username": user.email}
    if not AxesProxyHandler.is_allowed(request, credentials):
        logout(request)
        return get_lockout_response(request, credentials)

    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            verified, status = _check_code(device, form)
            if verified is not None:
                _complete_second_factor(request, verified)
                return redirect(_destination(next_url))
            if status == 400:
                user_login_failed.send(sender=__name__, credentials=credentials, request=request)
                if getattr(request, "axes_locked_out", False):
                    # AxesMiddleware answers with the lockout page; the half-open session ends.
                    logout(request)
    return render(request, "accounts/verify.html", {"form": form, "next": next_url}, status=status)


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return image.to_string(encoding="unicode")


@never_cache
@require_http_methods(["GET", "POST"])
def enrol_view(request):
    next_url = _safe_next(request)
    user = request.user
    if not user.is_authenticated:
        return redirect(_url("accounts:login", next_url))
    if _confirmed_device(user) is not None:
        # Enrolment is not a way around an existing second factor.
        return redirect(_destination(next_url) if user.is_verified() else _url("accounts:verify", next_url))

    device = services.pending_device(user=user)
    form = TokenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            with transaction.atomic():
                verified, status = _check_code(device, form)
                if verified is not None:
                    services.confirm_device(actor=user, device=verified)
            if verified is not None:
                _complete_second_factor(request, verified)
                messages.success(request, "Your authenticator app is set up. You will need a code from it each time you log in.")
                return redirect(_destination(next_url))

    secret = b32encode(device.bin_key).decode()
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": mark_safe(_qr_svg(device.config_url)),  # generated here from our own data
        "secret": secret,
        "secret_grouped": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }
    return render(request, "accounts/enrol.html", context, status=status)


@require_POST
def logout_view(request):
    logout(request)
    messages.info(request, "You have logged out.")
    return redirect("accounts:login")
