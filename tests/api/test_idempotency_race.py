"""A POST that loses the race for its Idempotency-Key keeps nothing and answers as the winner did."""

import json

from csoa_portal.models import IdempotencyRecord
from incidents import services
from incidents.models import Incident


def test_a_request_whose_key_another_committed_meanwhile_keeps_nothing_and_replays_it(network, de_client, monkeypatch):
    report = services.report_incident

    def report_while_the_twin_commits(**kwargs):
        incident = report(**kwargs)
        # The same key's first request commits while this one works (it would wait on the unique index).
        IdempotencyRecord.objects.create(
            principal=kwargs["actor"], key="k-race", method="POST", path="/api/v1/incidents/",
            request_hash=twin_hash["value"], status_code=201, response_body={"id": 12345, "title": "First"},
            response_headers={"Location": "https://testserver/api/v1/incidents/12345/"},
        )
        return incident

    twin_hash = {}
    body = {"title": "Retried", "aware_at": "2026-11-23T06:00:00Z"}
    from csoa_portal.api import idempotency

    real_hash = idempotency._request_hash
    monkeypatch.setattr(idempotency, "_request_hash", lambda request: twin_hash.setdefault("value", real_hash(request)))
    monkeypatch.setattr(services, "report_incident", report_while_the_twin_commits)

    response = de_client.post("/api/v1/incidents/", json.dumps(body), content_type="application/json",
                              headers={"Idempotency-Key": "k-race"})

    assert response.status_code == 201 and response["Idempotent-Replayed"] == "true"
    assert response.json() == {"id": 12345, "title": "First"} and response["Location"].endswith("/12345/")
    assert not Incident.objects.filter(title="Retried").exists()  # its own incident was rolled back
