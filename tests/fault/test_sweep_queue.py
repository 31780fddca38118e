"""Escalation after faults: a worker SIGKILLed in the middle of a backlog, and the sweep on its own queue.

Issue 16: after a worker is killed with SIGKILL every pending evaluation completes within
one sweep interval, with or without a backlog. A pending evaluation is in the database
(``evaluated_version < version``), not only in the broker, so the sweep finds it; the sweep
has a queue of its own ("sweep", ``CELERY_TASK_ROUTES``) and a worker that starts asks for
one at once, so it never waits behind the evaluations queued before it.

The test makes the worst case real: the killed worker's task is held by Redis for its
visibility timeout, and the new worker on the default queue is stuck at the head of the
backlog (the test holds that incident's row lock), so nothing queued behind it moves. Every
other pending evaluation must still complete within one sweep interval of the new
processes being up — done by the sweeper — and, once the lock goes, each incident has
escalated exactly once.
"""

import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from csoa_portal.models import AuditEntry
from incidents import services
from incidents.models import Escalation, Incident
from liaison.models import Event
from tests.factories import member_state
from tests.fault.conftest import needs_full_mode
from tests.fault.test_escalation_worker import _tasks_in_flight, _worker_blocked_by
from tests.fault.workers import wait_for

pytestmark = [needs_full_mode, pytest.mark.full, pytest.mark.django_db(transaction=True), pytest.mark.timeout(150)]

SWEEP_INTERVAL = 4  # seconds, for beat and the sweeper of this test (its evaluation budget: half of it)
BACKLOG = 6  # evaluations queued behind the killed one
TRIP = 2.0  # seconds for a sweep task's trip through Redis and the sweeper, and its evaluations


def _report(network, title: str) -> Incident:
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    title=title, aware_at=timezone.now() - timedelta(hours=1), severity="high",
                                    affected_member_states=[member_state("DE")], tlp="amber")


def _pending(ids) -> set[int]:
    return set(Incident.objects.filter(pk__in=ids, evaluated_version__lt=F("version")).values_list("pk", flat=True))


def _spread(network, incident: Incident) -> None:
    """Two member states affected: the engine must raise it to level 2."""
    services.update_incident(actor=network["people"]["de_analyst"], incident=incident,
                             affected_member_states=[member_state("DE"), member_state("FR")])


def test_worker_killed_mid_backlog_every_pending_evaluation_completes_within_one_sweep_interval(
        celery_processes, network, row_lock):
    first = celery_processes.worker("worker-1", queues="celery")
    incidents = [_report(network, f"Grid {n}") for n in range(BACKLOG + 1)]
    ids = [i.pk for i in incidents]
    wait_for(lambda: not _pending(ids), timeout=30, what="the first evaluation of every new incident")

    killed, head, *rest = incidents
    held = []
    with transaction.atomic():  # the lock is taken after the commit, before the dispatch: the worker blocks on it
        transaction.on_commit(lambda: held.append(row_lock(killed.pk)))
        _spread(network, killed)
    for incident in [head, *rest]:  # the backlog, queued behind the blocked evaluation
        _spread(network, incident)
    (lock,) = held
    wait_for(lambda: _worker_blocked_by(lock), timeout=20, what="worker-1 to block on the first evaluation")
    (killed_task,) = _tasks_in_flight(first.log())
    first.kill()
    lock.rollback()
    assert _pending(ids) == set(ids)

    # The new default-queue worker will be stuck on the head of the backlog: nothing behind it moves.
    head_lock = row_lock(head.pk)
    try:
        interval = {"SWEEP_INTERVAL_SECONDS": str(SWEEP_INTERVAL)}
        celery_processes.worker("worker-2", queues="celery", env=interval)
        celery_processes.worker("sweeper", queues="sweep", env=interval)
        back = time.monotonic()  # the portal's processes are back (beat starts next)
        celery_processes.beat(interval=SWEEP_INTERVAL)
        others = {killed.pk, *(i.pk for i in rest)}
        wait_for(lambda: not (_pending(ids) & others), timeout=SWEEP_INTERVAL + TRIP + 20,
                 what="the sweeper to evaluate every pending incident but the locked one")
        delay = time.monotonic() - back
        assert delay <= SWEEP_INTERVAL + TRIP, f"{delay:.2f} s after the restart (interval {SWEEP_INTERVAL} s)"
        assert _pending(ids) == {head.pk}
    finally:
        head_lock.rollback()
    wait_for(lambda: not _pending(ids), timeout=SWEEP_INTERVAL + 20, what="the locked incident's evaluation")

    for incident_id in ids:  # each escalated once, whoever evaluated it (sweep, queued task, or both)
        assert list(Escalation.objects.filter(incident_id=incident_id).values_list("from_level", "to_level")) == [(0, 2)]
        assert Event.objects.filter(kind="incident.escalated", subject_id=str(incident_id)).count() == 1
        assert AuditEntry.objects.filter(action="incident.escalated", object_id=str(incident_id)).count() == 1
    assert killed_task not in "".join(p.log() for p in celery_processes.started[1:])  # the sweep did it, not Redis
    print(f"worker SIGKILLed with {BACKLOG} queued behind it and the next worker stuck: every other pending "
          f"evaluation done {delay:.2f} s after the restart (interval {SWEEP_INTERVAL} s)")
