"""One JSON error shape for the whole API.

``{"error": {"status": 400, "code": "invalid", "message": "…", "fields": {"title": ["…"]}}}``
"""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from csoa_portal import middleware

logger = logging.getLogger("csoa_portal.api")

# The connection to the database failed or was cut (server down, restarted, backend terminated):
# a temporary condition, answered 503 so clients retry, unlike a bug in a query (500). Pages get
# the same from csoa_portal.middleware.DatabaseUnavailableMiddleware.
DATABASE_UNAVAILABLE_ERRORS = middleware.DATABASE_UNAVAILABLE_ERRORS
RETRY_AFTER_SECONDS = middleware.RETRY_AFTER_SECONDS


class DatabaseUnavailable(exceptions.APIException):
    """The connection failed before anything was committed (csoa_portal.api.transactions): retrying is safe."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    default_detail = (
        "The database is not available right now, so this request was not completed. "
        f"Retry in {RETRY_AFTER_SECONDS} seconds; a POST sent with an Idempotency-Key is safe to retry."
    )


OUTCOME_UNKNOWN_CODE = "outcome_unknown"


def error_body(status_code: int, code: str, message: str, fields: dict | None = None) -> dict:
    """The one error shape, for responses built outside DRF (middleware, error handlers)."""
    return {"error": {"status": status_code, "code": code, "message": message, "fields": fields or {}}}


def database_unavailable_response() -> JsonResponse:
    """The API's 503 when the database fails outside a DRF view (e.g. in middleware)."""
    response = JsonResponse(
        error_body(DatabaseUnavailable.status_code, DatabaseUnavailable.default_code,
                   str(DatabaseUnavailable.default_detail)),
        status=DatabaseUnavailable.status_code,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def outcome_unknown_response(request, built) -> JsonResponse:
    """503 for a write whose COMMIT got no answer: it may or may not have been saved; say how to find out.

    ``built`` is the answer the view had built for the write, had it been committed: its
    ``Location`` names where a created object would be.
    """
    location = built.get("Location") if built is not None else None
    if request.method == "POST" and request.headers.get("Idempotency-Key"):
        check = ("Send the same request again with the same Idempotency-Key: if the change was saved you get "
                 "its original answer, and if it was not it is made now, once.")
    elif location:
        check = (f"Read {location} before sending it again: 200 means it was saved, 404 that it was not "
                 "(send an Idempotency-Key with a POST to make resending it safe).")
    elif request.method == "POST":
        check = ("Check whether the change is there before sending it again; a POST sent with an "
                 "Idempotency-Key can be resent safely.")
    else:
        check = (f"Read {request.path} to see whether the change is there before sending it again; "
                 "sent with If-Match, a change that was already made is refused (412) instead of made twice.")
    message = ("The connection to the database was lost while this change was being committed, "
               f"so it is not known whether it was saved. {check}")
    response = JsonResponse(error_body(DatabaseUnavailable.status_code, OUTCOME_UNKNOWN_CODE, message),
                            status=DatabaseUnavailable.status_code)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _flatten(detail):
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        if all(not isinstance(d, (dict, list)) for d in detail):
            return [str(d) for d in detail]
        return [_flatten(d) for d in detail]
    return [str(detail)]


def _field_messages(detail, name: str = "") -> dict[str, list[str]]:
    """``{field: [messages]}`` as documented, nested errors named by path: ``content.summary``, ``communities.0``.

    DRF nests the errors of a dict's values, a list's items and nested serializers;
    clients get one flat level whatever the input's shape.
    """
    if isinstance(detail, dict):
        items = detail.items()
    elif isinstance(detail, list) and any(isinstance(d, (dict, list)) for d in detail):
        items = ((index, item) for index, item in enumerate(detail) if item)  # {} marks a valid item
    else:
        return {name or "non_field_errors": [str(d) for d in (detail if isinstance(detail, list) else [detail])]}
    fields: dict[str, list[str]] = {}
    for key, value in items:
        for field, messages in _field_messages(value, f"{name}.{key}" if name else str(key)).items():
            fields.setdefault(field, []).extend(messages)
    return fields


def _django_validation_to_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(exc, "message_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = _django_validation_to_drf(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
        logger.warning("database unavailable: %s", str(exc).strip() or exc.__class__.__name__)
        exc = DatabaseUnavailable()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    fields = {}
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = _field_messages(detail)
        names = ", ".join(fields.keys())
        message = f"Invalid input: {names}." if names else "Invalid input."
        code = "invalid"
    else:
        detail = getattr(exc, "detail", str(exc))
        message = str(detail) if not isinstance(detail, (dict, list)) else str(_flatten(detail))
        codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        code = codes if isinstance(codes, str) else "error"
    request = context.get("request")
    logger.info(
        "API %s %s -> %s %s", getattr(request, "method", "?"), getattr(request, "path", "?"), response.status_code, message
    )
    response.data = error_body(response.status_code, code, message, fields)
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response

