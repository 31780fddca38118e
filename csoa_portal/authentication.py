"""API authentication: organisation bearer tokens, and browser sessions that passed MFA."""

from rest_framework import authentication, exceptions

from csoa_portal import tokens
from csoa_portal.context import update_origin
from csoa_portal.middleware import client_ip

# Checks run once a caller is known (``check(request, user)``, raising an APIException to refuse): registered by
# the apps from their AppConfig.ready (liaison: the X-Exercise header must name an exercise the caller takes part in).
_after_authentication: list = []


def register_after_authentication(check) -> None:
    if check not in _after_authentication:
        _after_authentication.append(check)


def _authenticated(request, result):
    if result is not None:
        for check in _after_authentication:
            check(request, result[0])
    return result


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer csoa_…``; the request acts as the organisation's service account."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: expected 'Bearer <token>'.")
        try:
            token = tokens.authenticate(parts[1], ip_address=client_ip(request))
        except tokens.TokenError as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        update_origin(via="token", token_id=token.pk, organisation_code=token.organisation.code, session_ref="")
        return _authenticated(request, (token.principal, token))

    def authenticate_header(self, request):
        return f'{self.keyword} realm="csoa-portal"'


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """The browser's session counts for the API only once its second factor is verified."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        is_verified = getattr(request._request.user, "is_verified", None)
        if user.is_service_account or not (is_verified and is_verified()):
            return None
        return _authenticated(request, result)
