"""Safe retries for POST: the same ``Idempotency-Key`` gives the same response, once.

The key is claimed in the same transaction as the write, so a retry that races the
first request waits on the unique index and then replays what the first one wrote;
a failed first attempt leaves no claim and can be retried. Keys are kept 24 hours.
"""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from csoa_portal.input_rules import text_problem
from csoa_portal.models import IdempotencyRecord

HEADER = "Idempotency-Key"
RETENTION = timedelta(hours=24)
# Headers of the first answer that its replay carries too.
REPLAYED_HEADERS = ("Location", "ETag")


class IdempotencyConflict(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request; use a new key."


def _request_hash(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str) if request.data is not None else ""
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(request, perform) -> Response:
    """Run ``perform()`` (which returns a Response) at most once per key and principal."""
    key = request.headers.get(HEADER)
    if not key:
        return perform()
    if len(key) > 255 or not key.strip() or text_problem(key):
        raise ValidationError({HEADER: ["Use a non-empty key of at most 255 characters, e.g. a UUID."]})
    digest = _request_hash(request)
    IdempotencyRecord.objects.filter(
        principal=request.user, key=key, created_at__lt=timezone.now() - RETENTION
    ).delete()
    previous = _replay(request, key, digest)
    if previous is not None:
        return previous
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                principal=request.user, key=key, method=request.method, path=request.path[:500],
                request_hash=digest, status_code=0,
            )
            response = perform()
            if response.status_code >= 400:
                # Nothing was written: release the key so a corrected retry can use it.
                transaction.set_rollback(True)
                return response
            record.status_code, record.response_body = response.status_code, response.data
            record.response_headers = {name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)}
            record.save(update_fields=["status_code", "response_body", "response_headers"])
    except IntegrityError:
        previous = _replay(request, key, digest)
        if previous is None:
            raise
        return previous
    return response


def _replay(request, key: str, digest: str) -> Response | None:
    record = IdempotencyRecord.objects.filter(
        principal=request.user, key=key, created_at__gte=timezone.now() - RETENTION
    ).first()
    if record is None:
        return None
    if record.request_hash != digest:
        raise IdempotencyConflict()
    response = Response(record.response_body, status=record.status_code, headers=record.response_headers)
    response["Idempotent-Replayed"] = "true"
    return response


def purge_expired() -> int:
    """Sweep job: forget keys older than the retention period."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted
