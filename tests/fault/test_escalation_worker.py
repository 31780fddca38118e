"""Escalation through real Celery processes: dispatch on commit, a worker SIGKILLed mid-task, redelivery.

DESIGN.md "Dispatch is durable" and "Guarantees": no escalation is lost when a worker dies
in the middle of an evaluation; the sweep catches it within one sweep interval, and a
redelivery of the killed task (acks_late) escalates nothing twice.
"""

import json
import re
import time
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone

from csoa_portal.models import AuditEntry
from incidents import services, tasks
from incidents.models import Escalation, Incident
from liaison.models import Event
from tests.factories import member_state
from tests.fault.conftest import needs_full_mode
from tests.fault.workers import APPLICATION_NAME, wait_for

pytestmark = [needs_full_mode, pytest.mark.full, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

SWEEP_INTERVAL = 2  # seconds, for the beat started by the kill test
EVALUATE = "incidents.tasks.evaluate_incident"


def _report(network, **facts) -> Incident:
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    title="Grid operator ransomware", aware_at=timezone.now() - timedelta(hours=1),
                                    severity="high", affected_member_states=[member_state("DE")], tlp="amber", **facts)


def _evaluated(incident_id: int) -> bool:
    return Incident.objects.filter(pk=incident_id, evaluated_version=F("version")).exists()


def _escalations(incident_id: int) -> list[tuple[int, int]]:
    return list(Escalation.objects.filter(incident_id=incident_id).order_by("pk").values_list("from_level", "to_level"))


def _assert_escalated_once_to_level_2(incident_id: int) -> None:
    assert _escalations(incident_id) == [(0, 2)]
    assert Event.objects.filter(kind="incident.escalated", subject_id=str(incident_id)).count() == 1
    assert AuditEntry.objects.filter(action="incident.escalated", object_id=str(incident_id)).count() == 1
    assert Incident.objects.get(pk=incident_id).crisis_level == 2


def test_api_update_escalates_through_a_real_worker(worker, network, token_for):
    """The fast path: the commit of an API update queues the evaluation; nobody calls the task by hand."""
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs']['de-csirt'])}")
    created = client.post("/api/v1/incidents/", json.dumps({
        "title": "Wiper", "aware_at": "2026-01-01T00:00:00Z", "severity": "high", "affected_member_states": ["DE"],
    }), content_type="application/json")
    assert created.status_code == 201, created.content
    incident_id = created.json()["id"]
    wait_for(lambda: _evaluated(incident_id), timeout=20, what="the worker to evaluate the new incident")
    assert _escalations(incident_id) == []  # one member state: national handling

    started = time.monotonic()
    response = client.patch(f"/api/v1/incidents/{incident_id}/", json.dumps({"affected_member_states": ["DE", "FR"]}),
                            content_type="application/json")
    assert response.status_code == 200, response.content
    wait_for(lambda: _escalations(incident_id), timeout=20, what="the escalation recorded by the worker")
    elapsed = time.monotonic() - started

    _assert_escalated_once_to_level_2(incident_id)
    assert client.get(f"/api/v1/incidents/{incident_id}/").json()["crisis_level"] == 2
    worker.wait_for_log(rf"Task {EVALUATE}\[[\w-]+\] succeeded", timeout=5, count=2)
    print(f"PATCH sent → escalation recorded by the worker: {elapsed * 1000:.0f} ms")


def test_worker_killed_mid_evaluation_still_escalates_once_within_one_sweep(celery_processes, network, row_lock):
    """SIGKILL while the worker is inside evaluate_incident: nothing is acked, and the sweep still escalates.

    The test holds the incident's row lock, so the worker blocks in evaluate_incident's
    ``select_for_update``; then the whole worker (parent and pool child) is SIGKILLed. Redis
    keeps the unacknowledged task for its visibility timeout (an hour), so only the sweep can
    make the deadline: it must escalate within one sweep interval of the portal being back.
    Finally Redis does redeliver the killed task, and it escalates nothing twice.
    """
    first = celery_processes.worker("worker-1")
    # The worker's start-up sweep must be over first: on a busy machine it could still be evaluating
    # pending incidents when the update below commits, and escalate before the lock is taken.
    first.wait_for_log(r"Task csoa_portal\.tasks\.sweep\[[\w-]+\] succeeded", timeout=60)
    incident = _report(network)
    wait_for(lambda: _evaluated(incident.pk), timeout=20, what="the evaluation of the new incident")
    assert _escalations(incident.pk) == []

    held = []
    with transaction.atomic():
        # Runs after the commit and before the dispatch the service registers below, so the
        # worker is guaranteed to find the row locked.
        transaction.on_commit(lambda: held.append(row_lock(incident.pk)))
        services.update_incident(actor=network["people"]["de_analyst"], incident=incident,
                                 affected_member_states=[member_state("DE"), member_state("FR")])
    (lock,) = held

    wait_for(lambda: _worker_blocked_by(lock), timeout=20, what="the worker to block on the incident's row lock")
    (killed_task_id,) = _tasks_in_flight(first.log())
    first.kill()
    lock.rollback()  # the dead worker's transaction never committed: no escalation yet
    assert _escalations(incident.pk) == []
    assert not _evaluated(incident.pk)

    second = celery_processes.worker("worker-2")
    beat = celery_processes.beat(interval=SWEEP_INTERVAL)
    back = time.monotonic()
    wait_for(lambda: _escalations(incident.pk), timeout=4 * SWEEP_INTERVAL + 10, what="the sweep to escalate")
    delay = time.monotonic() - back
    _assert_escalated_once_to_level_2(incident.pk)
    # One interval until beat's first tick, plus the sweep task's trip through the worker.
    assert delay <= SWEEP_INTERVAL + 1.5, f"escalated {delay:.2f} s after the restart (interval {SWEEP_INTERVAL} s)"
    assert killed_task_id not in second.log()  # it was the sweep, not a redelivery
    second.wait_for_log(r"Task csoa_portal\.tasks\.sweep\[[\w-]+\] succeeded .*'evaluate_pending_incidents': 1\b",
                        timeout=5)

    # Redis hands the killed task back once its visibility timeout has passed (shortened here),
    # to a worker started alone so that its log shows the redelivery.
    beat.stop()
    second.stop()
    celery_processes.worker("worker-3", visibility_timeout=1).wait_for_log(
        rf"Task {EVALUATE}\[{killed_task_id}\] succeeded", timeout=30)
    _assert_escalated_once_to_level_2(incident.pk)
    print(f"worker SIGKILLed mid-evaluation → escalated {delay:.2f} s after the restart (interval {SWEEP_INTERVAL} s)")


def test_redelivered_task_is_idempotent(celery_processes, network):
    """The same task message delivered twice (as after a lost ack) escalates once.

    Two pool processes, so the copies may well run at the same time: the row lock serialises them.
    """
    with mock.patch.object(tasks.evaluate_incident, "delay"):  # only the two copies below reach the worker
        incident = _report(network, national_capacity_exceeded=True)
    worker = celery_processes.worker(concurrency=2)
    task_id = str(uuid.uuid4())
    for _ in range(2):
        tasks.evaluate_incident.apply_async((incident.pk,), task_id=task_id)
    worker.wait_for_log(rf"Task {EVALUATE}\[{task_id}\] succeeded", timeout=30, count=2)
    assert _escalations(incident.pk) == [(0, 2)]
    assert Event.objects.filter(kind="incident.escalated", subject_id=str(incident.pk)).count() == 1
    assert _evaluated(incident.pk)


def _tasks_in_flight(log: str) -> set[str]:
    """Evaluations the worker received and never finished."""
    received = set(re.findall(rf"Task {EVALUATE}\[([\w-]+)\] received", log))
    return received - set(re.findall(rf"Task {EVALUATE}\[([\w-]+)\] succeeded", log))


def _worker_blocked_by(lock) -> bool:
    """A worker backend waits for the lock that the test's connection holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s "
            "AND %s = ANY(pg_blocking_pids(pid))", [APPLICATION_NAME, lock.get_backend_pid()])
        return cursor.fetchone()[0] > 0

