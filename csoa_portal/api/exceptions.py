"""One JSON error shape for the whole API.

``{"error": {"status": 400, "code": "invalid", "message": "…", "fields": {"title": ["…"]}}}``
"""

import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("csoa_portal.api")


def _flatten(detail):
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        if all(not isinstance(d, (dict, list)) for d in detail):
            return [str(d) for d in detail]
        return [_flatten(d) for d in detail]
    return [str(detail)]


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
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    fields = {}
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = _flatten(detail)
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
    response.data = {"error": {"status": response.status_code, "code": code, "message": message, "fields": fields}}
    return response

