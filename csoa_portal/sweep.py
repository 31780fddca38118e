"""The periodic sweep: one registry of jobs run by Celery beat (full mode) or in-process.

Apps register their sweep jobs in AppConfig.ready. Every job must be idempotent and
safe to run on several schedulers at once (claim rows with SELECT … FOR UPDATE SKIP
LOCKED), because a sweep may overlap another.
"""

import logging
import time
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


def in_batches(work: Callable[[int], int], *, batch: int | None = None, budget_seconds: float | None = None) -> int:
    """Run ``work(batch)`` — one transaction that claims and handles up to ``batch`` rows — until the backlog is done.

    Each batch commits on its own: a sweep over a backlog of a thousand overdue clocks holds
    its locks for one batch at a time (not the whole backlog), and what it has fired is
    visible, published and e-mailed batch by batch. ``work`` returns how many rows it
    handled; fewer than ``batch`` means the backlog is empty. After ``budget_seconds``
    the rest is left to the next sweep, so one job never starves the others.
    """
    from django.conf import settings

    batch = batch or settings.SWEEP_BATCH
    budget = settings.SWEEP_JOB_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    stop_at = time.monotonic() + budget
    done = 0
    while True:
        handled = work(batch)
        done += handled
        if handled < batch or time.monotonic() >= stop_at:
            return done
