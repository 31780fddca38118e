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


def in_batches(work: Callable[[int], int], *, batch: int | None = None, budget_seconds: float | None = None,
               paced: bool = False) -> int:
    """Run ``work(batch)`` — one transaction that claims and handles up to ``batch`` rows — until the backlog is done.

    Each batch commits on its own: a sweep over a backlog of a thousand overdue clocks holds
    its locks for one batch at a time (not the whole backlog), and what it has fired is
    visible, published and e-mailed batch by batch. ``work`` returns how many rows it
    handled; fewer than ``batch`` means the backlog is empty. After ``budget_seconds``
    the rest is left to the next sweep, so one job never starves the others.

    ``paced``: between batches, rest so the job is busy at most ``SWEEP_PACE`` of the time
    (as PostgreSQL's vacuum cost delay does): a backlog of a thousand alarms otherwise takes a
    whole core and its database backend's share at once, and on a small machine the reports
    and live events of that moment wait for CPU (bench/sweep_load.py). For jobs whose rows may
    be late by a few seconds (reminders, alarms), not for recovery work that has a deadline.
    """
    from django.conf import settings

    batch = batch or settings.SWEEP_BATCH
    budget = settings.SWEEP_JOB_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    pace = settings.SWEEP_PACE if paced else 1.0
    stop_at = time.monotonic() + budget
    done = 0
    while True:
        started = time.monotonic()
        handled = work(batch)
        done += handled
        if handled < batch or time.monotonic() >= stop_at:
            return done
        if pace < 1.0:
            time.sleep(min((time.monotonic() - started) * (1.0 / pace - 1.0), max(0.0, stop_at - time.monotonic())))
