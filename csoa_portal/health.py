"""Liveness and readiness probes for load balancers and orchestration."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def healthz(request):
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("readiness: database unavailable: %s", exc)
        return f"database unavailable: {exc.__class__.__name__}"
    return None


def _check_redis() -> str | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:
        logger.warning("readiness: redis unavailable: %s", exc)
        return f"redis unavailable: {exc.__class__.__name__}"
    return None


def readyz(request):
    """200 only when every backing service answers; 503 naming each one that does not."""
    checks = {"database": _check_database(), "redis": _check_redis() if settings.REDIS_URL else None}
    problems = {name: problem for name, problem in checks.items() if problem}
    body = {
        "status": "unavailable" if problems else "ready",
        "mode": settings.PORTAL_MODE,
        "checks": {name: (problem or "ok") for name, problem in checks.items() if name != "redis" or settings.REDIS_URL},
    }
    if problems:
        body["message"] = "Not ready: " + "; ".join(problems.values())
    return JsonResponse(body, status=503 if problems else 200)
