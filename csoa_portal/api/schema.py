"""OpenAPI helpers: the portal's authentication schemes and its one error shape.

Extensions register on import: ``csoa_portal.api.urls`` imports this module, so they are
known before any schema is built.
"""

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "csoa_portal.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "csoa_<prefix>_<secret>",
            "description": "An organisation API token, created by an organisation admin in the portal "
            "or with `manage.py issue_token`. Scopes: `read` for GET, `write` for changes.",
        }


class VerifiedSessionScheme(SessionScheme):
    """The browser session (after its second factor) also works for the API, e.g. from /api/docs/."""

    target_class = "csoa_portal.authentication.VerifiedSessionAuthentication"


class _ErrorBodySerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The HTTP status, repeated for logs and scripts.")
    code = serializers.CharField(help_text="Machine-readable reason, e.g. invalid, not_found, permission_denied.")
    message = serializers.CharField(help_text="A sentence a person can act on.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per field or query parameter: what is wrong with it (empty unless the input was invalid).",
    )


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (``csoa_portal.api.exceptions``)."""

    error = _ErrorBodySerializer()


_ERROR_DESCRIPTIONS = {
    400: "Invalid input; `fields` names each offending field or parameter.",
    401: "Missing, malformed, revoked or expired token (or a session without its second factor).",
    403: "The token lacks the scope this method needs.",
    404: "No such object, or one the caller may not see.",
    412: "If-Match named an older version: someone changed the object since you read it.",
    422: "The Idempotency-Key was already used with a different request.",
}


def error_responses(*statuses: int) -> dict:
    """``extend_schema(responses=...)`` entries documenting the shared error shape."""
    return {s: OpenApiResponse(ErrorSerializer, description=_ERROR_DESCRIPTIONS[s]) for s in statuses}
