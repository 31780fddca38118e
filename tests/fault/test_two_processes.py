"""Two web processes and two Celery workers serve one set of clients as one portal.

docs/scaling.md: a deployment that outgrows one process runs several web processes behind
a load balancer and several workers, sharing PostgreSQL and Redis (broker and channel
layer). Here both web processes run under uvicorn as deployed, with two workers and beat.
SOC tools write through both processes at once; the same organisations follow the event
stream on each process, and the REST feed on one. Every client must then hold exactly the
events the log says its organisation may see, in order, once, whichever process wrote them
and whichever process it is connected to; every escalation that fell due happened once,
whichever worker ran it; and the audit chain verifies.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from csoa_portal.audit import verify_chain
from incidents.models import Escalation, Incident
from liaison import services as liaison_services
from liaison.models import Event
from liaison.selectors import newest_event_id
from tests.fault.clients import FeedPoller, StreamClient, StreamClients, settle
from tests.fault.conftest import needs_full_mode
from tests.fault.test_redis_restart import Writer, _visible
from tests.fault.workers import wait_for

pytestmark = [needs_full_mode, pytest.mark.full, pytest.mark.django_db(transaction=True), pytest.mark.timeout(180)]

SWEEP_INTERVAL = 2  # seconds, for the beat of this test
REPORTS_PER_WRITER = 4


def _token(organisation, scopes: str):
    token, raw = liaison_services.issue_api_token(actor=None, organisation=organisation, name="scale test tool",
                                                  scopes=scopes, days=1)
    return token.principal, raw


def _visible_ids(user, after: int) -> list[int]:
    return [event["id"] for event in _visible(user, after)]


def test_two_web_processes_and_two_workers_deliver_every_event_once_in_order(
        broker, celery_processes, portal_servers, network):
    orgs = network["orgs"]
    readers = {code: _token(orgs[code], "read") for code in ("de-csirt", "fr-csirt", "pt-csirt")}
    _, de_writer = _token(orgs["de-csirt"], "read,write")
    _, fr_writer = _token(orgs["fr-csirt"], "read,write")

    with ThreadPoolExecutor(5) as pool:  # every process starts side by side
        web = [pool.submit(portal_servers, broker, name=name) for name in ("web-a", "web-b")]
        workers = [pool.submit(celery_processes.worker, name) for name in ("worker-a", "worker-b")]
        beat = pool.submit(celery_processes.beat, interval=SWEEP_INTERVAL)
        web_a, web_b = (future.result() for future in web)
        for future in [*workers, beat]:
            future.result()

    start = newest_event_id()
    streams, users = [], {}
    for server in (web_a, web_b):
        for code, (tool, raw) in readers.items():
            client = StreamClient(f"SOC {code} on {server.name}", server.ws_url, after=start, token=raw)
            streams.append(client)
            users[client.label] = tool
    poller = FeedPoller("SOC de-csirt (REST feed on web-b)", web_b.url, token=readers["de-csirt"][1], after=start)
    users[poller.label] = readers["de-csirt"][0]
    clients = StreamClients(streams).start()
    poller.start()
    try:
        wait_for(lambda: all(s.connections for s in streams), timeout=15, what="every client to connect")

        def work(writer: Writer, country: str, partner: str) -> list[int]:
            """A SOC tool's burst: reports, a share, and a spread that escalates to level 2."""
            reported = [writer.report(f"{country} report {n}") for n in range(REPORTS_PER_WRITER)]
            writer.share(reported[0], partner)
            writer.spread_to_france(reported[1])
            writer.retitle(reported[2], f"{country} report 2, renamed")
            return reported

        # de-csirt writes through web-a while fr-csirt writes through web-b, at the same time.
        with ThreadPoolExecutor(2) as pool:
            de_work = pool.submit(work, Writer(web_a.url, de_writer), "DE", "pt-csirt")
            fr_work = pool.submit(work, _FrenchWriter(web_b.url, fr_writer), "FR", "de-csirt")
            de_reports, fr_reports = de_work.result(), fr_work.result()

        escalated = [de_reports[1], fr_reports[1]]
        wait_for(lambda: all(Escalation.objects.filter(incident_id=pk).exists() for pk in escalated),
                 timeout=4 * SWEEP_INTERVAL + 30, what="both escalations, by either worker")
        wait_for(lambda: not Incident.objects.exclude(evaluated_version=F("version")).exists(), timeout=30,
                 what="every change evaluated")
        wait_for(lambda: not Event.objects.filter(published_at__isnull=True).exists(), timeout=30,
                 what="every event published")

        def differences() -> list[str]:
            return [f"{c.label}: got {c.ids}, the log says {expected}"
                    for c in [*streams, poller] if c.ids != (expected := _visible_ids(users[c.label], start))]

        problems = settle(differences, timeout=40)
    finally:
        clients.stop()
        poller.stop()
        for client in [*streams, poller]:
            print(f"{client.label}: {len(client.events)} events")

    assert not problems, "\n".join(problems)
    for client in [*streams, poller]:
        assert client.events == _visible(users[client.label], start), client.label
        assert not getattr(client, "errors", []), f"{client.label}: {client.errors}"
    # The same organisation sees the same stream on either process.
    by_label = {c.label: c.ids for c in streams}
    for code in readers:
        assert by_label[f"SOC {code} on web-a"] == by_label[f"SOC {code} on web-b"], code
    # Writes through both processes reached clients of both processes (not only their own).
    de_created = {e["subject_id"] for e in by_label_events(streams, "SOC de-csirt on web-b")
                  if e["kind"] == "incident.created"}
    assert set(de_reports) <= de_created, "de-csirt's reports through web-a did not reach its tool on web-b"
    for pk in escalated:
        assert list(Escalation.objects.filter(incident_id=pk).values_list("from_level", "to_level")) == [(0, 2)], pk
    chain = verify_chain()
    assert chain.ok, chain.reason


def by_label_events(streams, label: str) -> list[dict]:
    return next(c.events for c in streams if c.label == label)


class _FrenchWriter(Writer):
    """fr-csirt's tool: its reports affect France, and spreading them adds Germany."""

    def report(self, title: str) -> int:
        return self._send("POST", "/api/v1/incidents/", {
            "title": title, "aware_at": (timezone.now() - timedelta(hours=1)).isoformat(), "severity": "high",
            "affected_member_states": ["FR"]}, 201)["id"]

    def spread_to_france(self, incident_id: int) -> None:
        self._send("PATCH", f"/api/v1/incidents/{incident_id}/", {"affected_member_states": ["FR", "DE"]}, 200)
