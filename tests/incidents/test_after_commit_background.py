"""Production hands a commit's publication and evaluation to the process's threads: a burst costs one of each.

The events still reach their audience and get ``published_at``; the Blueprint engine still evaluates
every incident; what a burst of reports sends is one broker message (``evaluate_incidents``).
"""

import time
import uuid

import pytest
from django.test import Client

from incidents import tasks
from incidents.models import Incident
from incidents.services import common as service_common
from liaison import events
from liaison.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the background thread did not do it"
        time.sleep(0.02)


@pytest.fixture
def bearer():
    return lambda raw: Client(headers={"Authorization": f"Bearer {raw}"})


@pytest.fixture
def production_after_commit(settings, monkeypatch):
    settings.AFTER_COMMIT_IN_BACKGROUND = True
    monkeypatch.setattr(service_common._background_dispatcher, "delay", 0.5)  # the burst below fits it
    monkeypatch.setattr(events._background_publisher, "delay", 0.5)
    queued = []
    monkeypatch.setattr(tasks.evaluate_incident, "delay", lambda incident_id: queued.append([incident_id]))
    monkeypatch.setattr(tasks.evaluate_incidents, "delay", lambda incident_ids: queued.append(list(incident_ids)))
    return queued


def _report(client, n):
    body = {"title": f"Burst report {n}", "aware_at": "2026-11-23T06:00:00Z", "tlp": "amber",
            "affected_member_states": ["DE"]}
    response = client.post("/api/v1/incidents/", body, content_type="application/json",
                           headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_a_burst_of_reports_is_published_and_queued_for_evaluation_once(network, token_for, bearer,
                                                                        production_after_commit):
    client = bearer(token_for(network["orgs"]["de-csirt"]))
    ids = [_report(client, n) for n in range(3)]
    _wait_for(lambda: production_after_commit)
    assert production_after_commit == [ids], "one task for the three reports of the burst, in order"
    created = Event.objects.filter(kind="incident.created", subject_id__in=[str(i) for i in ids])
    _wait_for(lambda: not created.filter(published_at__isnull=True).exists())
    assert created.count() == 3
    assert len(set(created.values_list("published_at", flat=True))) == 1, "published together"


def test_evaluate_incidents_evaluates_the_others_when_one_fails(network, monkeypatch):
    evaluated = []

    def evaluate(*, incident_id):
        evaluated.append(incident_id)
        if incident_id == 2:
            raise RuntimeError("deadlock detected")

    from incidents.services import escalations

    monkeypatch.setattr(escalations, "evaluate_incident", evaluate)
    with pytest.raises(RuntimeError, match="deadlock"):
        tasks.evaluate_incidents.run([1, 2, 3])
    assert evaluated == [1, 2, 3]


def test_without_background_each_commit_queues_its_own_evaluation(network, token_for, bearer, settings, monkeypatch):
    settings.AFTER_COMMIT_IN_BACKGROUND = False
    queued = []
    monkeypatch.setattr(tasks.evaluate_incident, "delay", lambda incident_id: queued.append(incident_id))
    client = bearer(token_for(network["orgs"]["de-csirt"]))
    ids = [_report(client, n) for n in range(2)]
    assert queued == ids
    assert Incident.objects.filter(pk__in=ids).count() == 2
