"""Safe retries for POST: the same ``Idempotency-Key`` gives the same response, once.

The key is claimed in the same transaction as the write, with the response, after the write:
a retry that races the first request waits on the unique index, its own write is rolled
back and it replays what the first one wrote; a failed first attempt leaves no claim and
can be retried. Keys are kept 24 hours. A fresh key costs one read and one insert: the
claim is an ``INSERT … ON CONFLICT DO NOTHING``, so losing the race raises nothing that a
savepoint would have to catch (every API write runs in the transaction of
``csoa_portal.api.transactions``, which an error answer or ``set_rollback`` rolls back).
"""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from csoa_portal import inserts, rows
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
    previous = _replay(request, key, digest)
    if previous is not None:
        return previous
    with transaction.atomic(savepoint=False):  # the API write's transaction (a no-op inside it)
        response = perform()
        if response.status_code >= 400:
            # Nothing is kept: the key stays free for a corrected retry.
            transaction.set_rollback(True)
            return response
        claimed = inserts.insert_unless_taken(IdempotencyRecord(
            principal=request.user, key=key, method=request.method, path=request.path[:500],
            request_hash=digest, status_code=response.status_code, response_body=response.data,
            response_headers={name: response[name] for name in REPLAYED_HEADERS if response.has_header(name)},
        ), unique=("principal", "key"))
        if not claimed:
            # A request with this key committed while this one worked: answer as it did, keep nothing of this one.
            previous = _replay(request, key, digest)
            transaction.set_rollback(True)
            if previous is None:
                raise IntegrityError(f"{HEADER} {key!r} was claimed and then released by a concurrent request")
            return previous
    return response


def _replay(request, key: str, digest: str) -> Response | None:
    # Every POST with a key reads this first, with SQL built once (csoa_portal.rows): compiling the ORM's
    # query was 0.65 of its 0.8 ms of CPU with PostgreSQL (issue 16). One record at most: unique together.
    found = rows.fetch(IdempotencyRecord, using=transaction.get_connection().alias, principal=request.user.pk, key=key)
    record = found[0] if found else None
    if record is None:
        return None
    if record.created_at < timezone.now() - RETENTION:
        record.delete()  # forgotten: the key is free again
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
