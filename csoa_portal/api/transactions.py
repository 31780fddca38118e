"""One transaction per API write, committed last, so that every answer about it is true.

A client that is told "not completed, retry" retries; if the change had in fact been
committed it is made twice. So the portal answers "not completed" only when it knows
nothing was committed, and it can know that because each API write (POST, PUT, PATCH,
DELETE under ``/api/``) runs in one transaction that this middleware opens and commits
*after* the view has built its answer. The view's service, its audit entry and Event, the
``Idempotency-Key`` record and the reads that build the response all happen before the
commit; the only database work after it is the on-commit callbacks (publishing the
Events, queueing Celery tasks), each of which handles its own failures.

Where the database connection is lost decides the answer:

- before the commit (in the view, the service or the response): nothing was written,
  the transaction is rolled back and the answer is the 503 "not completed, retry"
  (``csoa_portal.api.exceptions``);
- at the commit (COMMIT sent, no acknowledgement): the portal cannot know whether it was
  committed, and says so, with how to find out (``outcome_unknown_response``);
- after the commit (on-commit callbacks, other middleware): the answer is the committed
  result the view built; what did not happen (publishing an Event) is done by the sweep.

Django's ``ATOMIC_REQUESTS`` would commit at the end of the view too, but cannot tell a
failed COMMIT, or a failed on-commit callback, from a failure inside the view: all three
would answer "not completed".
"""

import logging

from django.db import transaction

from csoa_portal.middleware import DATABASE_UNAVAILABLE_ERRORS

logger = logging.getLogger("csoa_portal.api")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
API_PREFIX = "/api/"
# On the HttpRequest, once its write is committed: the answer built for it.
COMMITTED_RESPONSE = "_csoa_api_committed_response"


def is_api_write(request) -> bool:
    return request.method not in SAFE_METHODS and request.path.startswith(API_PREFIX)


def committed_response(request):
    """The answer of a write that was committed, which a failure after the commit must not replace."""
    return getattr(request, COMMITTED_RESPONSE, None)


class ApiWriteTransactionMiddleware:
    """Runs each API write in one transaction and answers truthfully however it ends (see the module).

    An error answer (4xx, 5xx) commits nothing: whatever the view wrote before failing is
    rolled back, as the error shape promises. This is the last middleware, so it wraps
    the view alone: the database work of the middleware around it (a browser session,
    its user) is not part of the write.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api_write(request):
            return self.get_response(request)
        if transaction.get_connection().in_atomic_block:
            # Someone else owns the transaction (a test's): it commits, not this request.
            with transaction.atomic():
                return self._view(request)
        return self._outermost(request)

    def _view(self, request):
        response = self.get_response(request)
        if response.status_code >= 400:
            transaction.set_rollback(True)
        return response

    def _outermost(self, request):
        from csoa_portal.api.exceptions import outcome_unknown_response

        stage = {"committing": False, "committed": False}
        response = None
        try:
            with transaction.atomic():
                # Registered first, so it runs first after the commit, before any callback that may fail.
                transaction.on_commit(lambda: stage.update(committed=True))
                response = self._view(request)
                stage["committing"] = not transaction.get_rollback()
        except Exception as exc:
            if stage["committed"]:
                # Committed; an on-commit callback failed. The sweep publishes what was not published.
                logger.warning("%s %s was committed; work after the commit failed: %s", request.method,
                               request.path, _describe(exc), exc_info=True)
            elif response is None:
                raise  # the view raised: rolled back; the outer middleware answers "not completed"
            elif not stage["committing"]:
                # The view answered an error and rolling back failed: nothing was committed either.
                logger.warning("rolling back %s %s failed: %s", request.method, request.path, _describe(exc))
                return response
            elif isinstance(exc, DATABASE_UNAVAILABLE_ERRORS):
                logger.warning("the connection was lost while committing %s %s: outcome unknown (%s)",
                               request.method, request.path, _describe(exc))
                return outcome_unknown_response(request, response)
            else:
                raise  # the commit was refused (e.g. a deferred constraint): a bug, nothing committed
        if stage["committed"]:
            setattr(request, COMMITTED_RESPONSE, response)
        return response


def _describe(exc: BaseException) -> str:
    return str(exc).strip() or exc.__class__.__name__
