"""OpenAPI helpers: the portal's authentication schemes and its one error shape.

Extensions register on import: ``csoa_portal.api.urls`` imports this module, so they are
known before any schema is built.
"""

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class PortalAutoSchema(AutoSchema):
    """Every operation has a summary (its line in /api/docs/): ``extend_schema(summary=…)``, else the view's
    ``summaries`` attribute, one short phrase per HTTP method (``{"get": "List incidents", "post": …}``).
    The description stays the view's docstring. ``tests/api/test_schema_docs.py`` keeps every operation summarised.
    """

    def get_summary(self):
        return super().get_summary() or getattr(self.view, "summaries", {}).get(self.method.lower())


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
    403: "The token lacks the scope this method needs (or a session write lacks its CSRF token).",
    404: "No such object, or one the caller may not see.",
    412: "If-Match named an older version: someone changed the object since you read it.",
    413: "The request body is larger than the portal accepts.",
    415: "The body is not JSON (send `Content-Type: application/json`).",
    422: "The Idempotency-Key was already used with a different request.",
    429: "Too many requests for this token or person; retry after the `Retry-After` seconds.",
}


def error_responses(*statuses: int) -> dict:
    """``extend_schema(responses=...)`` entries documenting the shared error shape."""
    return {s: OpenApiResponse(ErrorSerializer, description=_ERROR_DESCRIPTIONS[s]) for s in statuses}


def _error_response(status: int) -> dict:
    return {
        "description": _ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _statuses_every_operation_may_answer(operation: dict) -> set[int]:
    """What the framework answers before or around any view, so no view has to list it.

    Authentication and token scopes (401, 403) and throttling (429) apply to every
    operation; a path parameter can name nothing visible (404); a query parameter or a
    body can be malformed (400); a body can be too large (413), not JSON (415) or, with
    an Idempotency-Key, differ from the first use of that key (422).
    """
    statuses = {401, 403, 429}
    locations = {parameter.get("in") for parameter in operation.get("parameters", [])}
    if "path" in locations:
        statuses.add(404)
    if "query" in locations or "requestBody" in operation:
        statuses.add(400)
    if "requestBody" in operation:
        statuses |= {413, 415}
    if any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
        statuses.add(422)
    return statuses


def document_common_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the framework's errors on every operation.

    Keeps the documented status codes true for every endpoint, including those added
    later, which the API fuzzing (tests/api/test_fuzz.py) checks response by response.
    """
    if "Error" not in result.get("components", {}).get("schemas", {}):
        return result
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in sorted(_statuses_every_operation_may_answer(operation)):
                responses.setdefault(str(status), _error_response(status))
            operation["responses"] = dict(sorted(responses.items()))
    return result


LOCATION_HEADER = {
    "description": "The absolute API URL of what was created; for an object without a URL of its own "
                   "(a report, a timeline entry, a work log), the URL of the list that shows it.",
    "schema": {"type": "string", "format": "uri"},
}


def document_created_location(result, generator, request, public):
    """drf-spectacular postprocessing hook: every 201 carries ``Location`` (csoa_portal.api.responses.created)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            created = isinstance(operation, dict) and operation.get("responses", {}).get("201")
            if created:
                created.setdefault("headers", {})["Location"] = LOCATION_HEADER
    return result
