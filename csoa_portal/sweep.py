"""The periodic sweep: one registry of jobs run by Celery beat (full mode) or in-process.

Apps register their sweep jobs in AppConfig.ready. Every job must be idempotent and
safe to run on several schedulers at once (claim rows with SELECT … FOR UPDATE SKIP
LOCKED), because a sweep may overlap another.
"""

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

_jobs: dict[str, Callable[[], object]] = {}


def register(name: str, job: Callable[[], object]) -> None:
    _jobs[name] = job


def run_sweep() -> dict[str, object]:
    """Run every job; one failing job never stops the others."""
    results: dict[str, object] = {}
    for name, job in list(_jobs.items()):
        try:
            results[name] = job()
        except Exception:
            logger.exception("sweep job %s failed", name)
            results[name] = "failed"
    return results
