"""Every answer to a write whose connection was cut is true: checked against what PostgreSQL holds.

The portal runs under uvicorn with ``FAULT_CUTS=1``: each request names, in ``X-Fault-Cut``,
the stage at which the server terminates its own backend (``tests.fault.cuts``): inside
the transaction, just before the COMMIT, just after a COMMIT whose acknowledgement is then
lost, or after the commit while the Events are published. For a create and for a change,
the test compares the answer with the rows:

- "not completed" (``database_unavailable``) only when nothing was written;
- ``outcome_unknown`` when the COMMIT got no answer, whatever the database holds, saying
  how to find out, and never "not completed";
- the committed result when the cut came after the commit;
- a POST resent with its ``Idempotency-Key`` then creates the incident exactly once, or
  replays the original answer; a PATCH resent with its ``If-Match`` is never applied twice.
"""

import json
import uuid
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from csoa_portal.models import IdempotencyRecord
from incidents.models import Incident
from liaison.events import publish_pending
from liaison.models import Event
from tests.fault.conftest import needs_full_mode

pytestmark = [needs_full_mode, pytest.mark.full, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

NOT_COMPLETED, UNKNOWN = "database_unavailable", "outcome_unknown"
# What each cut leaves in the database, and the answer that is true of it.
CUTS = {
    "in-transaction": {"committed": False, "answer": NOT_COMPLETED},
    "at-commit": {"committed": False, "answer": UNKNOWN},
    "commit-unacknowledged": {"committed": True, "answer": UNKNOWN},
    "after-commit": {"committed": True, "answer": None},  # None: the committed result itself
}


@pytest.fixture
def portal(portal_servers, broker):
    """The portal with persistent connections and fault injection on request."""
    return portal_servers(broker, DATABASE_CONN_MAX_AGE="60", FAULT_CUTS="1")


@pytest.fixture
def soc(network, token_for, portal):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token_for(network['orgs']['de-csirt'], 'read,write')}"
    session.headers["Content-Type"] = "application/json"
    yield session
    session.close()


def _report(title: str) -> str:
    return json.dumps({"title": title, "aware_at": (timezone.now() - timedelta(hours=1)).isoformat(),
                       "severity": "high", "affected_member_states": ["DE"]})


def _error(response) -> dict:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Retry-After"] == "5"
    return response.json()["error"]


def _assert_outcome_unknown(response, *, says: str) -> None:
    error = _error(response)
    assert error["code"] == UNKNOWN, error
    assert "not known whether it was saved" in error["message"] and says in error["message"], error["message"]
    assert "not completed" not in error["message"]


@pytest.mark.parametrize("stage", list(CUTS))
def test_create_cut_at_each_stage_answers_what_the_database_holds_and_its_retry_creates_it_once(portal, soc, stage):
    title, key = f"Create cut {stage}", str(uuid.uuid4())
    body = _report(title)  # the retry sends the very same request
    url = f"{portal.url}/api/v1/incidents/"

    response = soc.post(url, data=body, headers={"Idempotency-Key": key, "X-Fault-Cut": stage}, timeout=30)

    expected = CUTS[stage]
    saved = list(Incident.objects.filter(title=title))
    assert len(saved) == int(expected["committed"]), f"{stage}: {len(saved)} incidents saved"
    assert IdempotencyRecord.objects.filter(key=key).count() == len(saved), "the key is claimed with the write"
    if expected["answer"] == NOT_COMPLETED:
        error = _error(response)
        assert error["code"] == NOT_COMPLETED and "was not completed" in error["message"]
    elif expected["answer"] == UNKNOWN:
        _assert_outcome_unknown(response, says="same Idempotency-Key")
    else:
        assert response.status_code == 201, response.text
        assert response.json()["id"] == saved[0].pk
        assert response.headers["Location"].endswith(f"/api/v1/incidents/{saved[0].pk}/")

    retried = soc.post(url, data=body, headers={"Idempotency-Key": key}, timeout=30)

    assert retried.status_code == 201, retried.text
    (incident,) = Incident.objects.filter(title=title)
    assert retried.json()["id"] == incident.pk
    assert retried.headers["Location"].endswith(f"/api/v1/incidents/{incident.pk}/")
    if expected["committed"]:
        assert retried.headers.get("Idempotent-Replayed") == "true"  # the original answer, not a second incident
        if response.status_code == 201:
            assert retried.json() == response.json()
    else:
        assert "Idempotent-Replayed" not in retried.headers  # nothing was saved: made now, once
    _assert_events_published_by_the_sweep(incident)
    assert portal.alive()


@pytest.mark.parametrize("stage", list(CUTS))
def test_change_cut_at_each_stage_answers_what_the_database_holds_and_is_never_applied_twice(portal, soc, stage):
    created = soc.post(f"{portal.url}/api/v1/incidents/", data=_report(f"Change cut {stage}"), timeout=30)
    assert created.status_code == 201, created.text
    url = f"{portal.url}/api/v1/incidents/{created.json()['id']}/"
    change = json.dumps({"title": f"Renamed after a cut {stage}"})
    if_match = created.headers["ETag"]

    response = soc.patch(url, data=change, headers={"If-Match": if_match, "X-Fault-Cut": stage}, timeout=30)

    expected = CUTS[stage]
    incident = Incident.objects.get(pk=created.json()["id"])
    assert (incident.version == 2) is expected["committed"], f"{stage}: version {incident.version}"
    assert (incident.title == f"Renamed after a cut {stage}") is expected["committed"]
    if expected["answer"] == NOT_COMPLETED:
        error = _error(response)
        assert error["code"] == NOT_COMPLETED and "was not completed" in error["message"]
    elif expected["answer"] == UNKNOWN:
        _assert_outcome_unknown(response, says="If-Match")
    else:
        assert response.status_code == 200, response.text
        assert response.json()["title"] == incident.title and response.headers["ETag"] == '"v2"'

    resent = soc.patch(url, data=change, headers={"If-Match": if_match}, timeout=30)

    if expected["committed"]:
        assert resent.status_code == 412, resent.text  # already made: refused, not made twice
    else:
        assert resent.status_code == 200, resent.text
    incident.refresh_from_db()
    assert (incident.version, incident.title) == (2, f"Renamed after a cut {stage}")
    _assert_events_published_by_the_sweep(incident)
    assert portal.alive()


def _assert_events_published_by_the_sweep(incident: Incident) -> None:
    """What the cut kept from being published after the commit, the sweeper publishes."""
    publish_pending(grace_seconds=0)
    unpublished = Event.objects.filter(subject_id=str(incident.pk), published_at__isnull=True)
    assert not unpublished.exists(), list(unpublished.values_list("kind", flat=True))
