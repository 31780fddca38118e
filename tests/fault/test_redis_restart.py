"""Redis restarted (crashed, empty) while SOC tools and browsers follow the event stream and incidents are written.

DESIGN.md "Guarantees": a client that reconnects gets every event it missed, in order, once;
a Redis outage delays work and never loses it. The whole portal runs as deployed against a
Redis of the test's own (the machine's is never touched): the web process under uvicorn, a
Celery worker and beat. Clients follow ``/ws/events/`` (bearer tokens for SOC tooling, session
cookies with an ``Origin`` for browsers) and poll ``GET /api/v1/events/``. Incidents are
reported, escalated and shared through the API before, during and after Redis is SIGKILLed
and restarted without its data, so queued evaluations and channel-layer groups are lost.
Then every client must hold exactly the events the log says it may see
(``liaison.selectors.events_visible_to``), in order, once; and every escalation due happened,
once (the sweep re-dispatched what Redis lost).
"""

import json
import time
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F
from django.utils import timezone

from incidents.models import Escalation, Incident
from liaison import services as liaison_services
from liaison.api.serializers import EventSerializer
from liaison.models import Event
from liaison.selectors import events_visible_to, newest_event_id
from tests.conftest import verified_client
from tests.fault.clients import FeedPoller, StreamClient, StreamClients, settle
from tests.fault.conftest import needs_full_mode
from tests.fault.workers import wait_for

pytestmark = [needs_full_mode, pytest.mark.full, pytest.mark.django_db(transaction=True), pytest.mark.timeout(150)]

SWEEP_INTERVAL = 2  # seconds, for the beat of this test
OUTAGE = 3  # seconds Redis stays down while incidents are written


def _token(organisation, scopes: str):
    token, raw = liaison_services.issue_api_token(actor=None, organisation=organisation, name="fault test tool",
                                                  scopes=scopes, days=1)
    return token.principal, raw


class Writer:
    """de-csirt's SOC tool writing through the API; every write must be accepted whatever Redis does."""

    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        self.timings: list[tuple[str, float]] = []

    def _send(self, method: str, path: str, body: dict, expect: int) -> dict:
        started = time.monotonic()
        response = self.session.request(method, f"{self.base_url}{path}", data=json.dumps(body), timeout=60)
        self.timings.append((f"{method} {path}", time.monotonic() - started))
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:1000]}"
        return response.json()

    def report(self, title: str) -> int:
        return self._send("POST", "/api/v1/incidents/", {
            "title": title, "aware_at": (timezone.now() - timedelta(hours=1)).isoformat(), "severity": "high",
            "affected_member_states": ["DE"]}, 201)["id"]

    def spread_to_france(self, incident_id: int) -> None:
        """Two member states affected: the Blueprint engine must raise it to level 2."""
        self._send("PATCH", f"/api/v1/incidents/{incident_id}/", {"affected_member_states": ["DE", "FR"]}, 200)

    def share(self, incident_id: int, organisation: str) -> None:
        self._send("POST", f"/api/v1/incidents/{incident_id}/share/", {"organisations": [organisation]}, 200)


def _visible(user, after: int) -> list[dict]:
    """What the log says ``user`` may see after ``after``, shaped as the stream and the feed send it."""
    events = []
    while True:
        batch, position = events_visible_to(user, after=after, limit=1000)
        events += batch
        if position == after:
            break
        after = position
    return [json.loads(json.dumps(EventSerializer(e).data, cls=DjangoJSONEncoder)) for e in events]


def _escalations(incident_id: int) -> list[tuple[int, int]]:
    return list(Escalation.objects.filter(incident_id=incident_id).values_list("from_level", "to_level"))


def test_redis_restart_loses_no_event_for_any_client_and_no_escalation(
        private_redis, private_celery, portal_servers, network, tmp_path):
    orgs, people = network["orgs"], network["people"]
    de_tool, de_token = _token(orgs["de-csirt"], "read")
    fr_tool, fr_token = _token(orgs["fr-csirt"], "read")
    pt_tool, pt_token = _token(orgs["pt-csirt"], "read")
    _, writer_token = _token(orgs["de-csirt"], "read,write")

    portal = portal_servers(private_celery.broker)
    private_celery.worker()
    private_celery.beat(interval=SWEEP_INTERVAL)
    writer = Writer(portal.url, writer_token)

    start = newest_event_id()
    cookie = settings.SESSION_COOKIE_NAME
    browsers = {
        "browser de-authority liaison officer": people["de_liaison"],
        "browser ENISA": people["enisa_admin"],
    }
    streams = [
        StreamClient("SOC de-csirt (token)", portal.ws_url, after=start, token=de_token),
        StreamClient("SOC fr-csirt (token)", portal.ws_url, after=start, token=fr_token),
        StreamClient("SOC pt-csirt (token)", portal.ws_url, after=start, token=pt_token),
        *[StreamClient(label, portal.ws_url, after=start, origin=portal.url,
                       session_cookie=(cookie, verified_client(user).cookies[cookie].value))
          for label, user in browsers.items()],
    ]
    users = {streams[0].label: de_tool, streams[1].label: fr_tool, streams[2].label: pt_tool,
             **{label: user for label, user in browsers.items()}}
    poller = FeedPoller("SOC de-csirt (REST feed)", portal.url, token=de_token, after=start)
    users[poller.label] = de_tool
    clients = StreamClients(streams).start()
    poller.start()
    try:
        wait_for(lambda: all(s.connections for s in streams), timeout=15, what="every client to connect")

        # Before: the fast path works (dispatch on commit, worker, live push).
        before = [writer.report(f"Before the outage {n}") for n in range(4)]
        writer.share(before[1], "fr-csirt")
        writer.spread_to_france(before[0])
        wait_for(lambda: _escalations(before[0]), timeout=20, what="the escalation through the worker")

        # Redis crashes; writes go on (the database holds them), dispatch and publication fail.
        last_before_outage = newest_event_id()
        private_redis.kill()
        went_down = time.monotonic()
        during = [writer.report(f"During the outage {n}") for n in range(2)]
        writer.spread_to_france(before[1])  # shared with fr-csirt: its tool misses this while Redis is down
        writer.spread_to_france(before[2])
        while time.monotonic() - went_down < OUTAGE:
            time.sleep(0.1)
        last_during_outage = newest_event_id()

        # Redis is back, empty: no queued task, no channel-layer group survived.
        private_redis.start()
        back = time.monotonic()
        writer.report("After the outage")
        writer.spread_to_france(before[3])

        patched = before
        wait_for(lambda: all(_escalations(pk) for pk in patched), timeout=4 * SWEEP_INTERVAL + 30,
                 what="every escalation that was due")
        escalated_after = time.monotonic() - back
        wait_for(lambda: not Incident.objects.exclude(evaluated_version=F("version")).exists(), timeout=30,
                 what="every change evaluated")
        wait_for(lambda: not Event.objects.filter(published_at__isnull=True).exists(), timeout=30,
                 what="every event published (the sweep republishes what Redis lost)")

        everyone = [*streams, poller]

        def differences() -> list[str]:
            problems = []
            for client in everyone:
                expected = [e["id"] for e in _visible(users[client.label], start)]
                if client.ids != expected:
                    problems.append(f"{client.label}: got {client.ids}, the log says {expected}")
            return problems

        problems = settle(differences, timeout=40)

        # Live again: a new change reaches every connected client promptly, not at the next safety pull.
        probe_sent = time.monotonic()
        probe = writer.report("Probe after the outage")
        latency = {}
        def probe_arrived():
            for client in (streams[0], poller):
                if client.label not in latency and any(e["kind"] == "incident.created" and e["subject_id"] == str(probe) for e in client.events):
                    latency[client.label] = round(time.monotonic() - probe_sent, 2)
            return len(latency) == 2
        wait_for(probe_arrived, timeout=30, what="the probe")
        print("PROBE LATENCY", latency)
    finally:
        clients.stop()
        poller.stop()
        for client in [*streams, poller]:
            print(f"{client.label}: {len(client.events)} events; "
                  f"{getattr(client, 'connections', getattr(client, 'polls', 0))} connections/polls; "
                  f"drops/failures {getattr(client, 'drops', getattr(client, 'failures', []))[:8]}")
        print("write timings:", [(what, round(took, 2)) for what, took in writer.timings])

    assert not problems, "\n".join(problems)
    for client in [*streams, poller]:  # the same events, shaped exactly as the log's
        assert client.events == _visible(users[client.label], start), client.label
        assert client.ids == sorted(set(client.ids)), f"{client.label}: out of order or repeated"
    for incident_id in patched:
        assert _escalations(incident_id) == [(0, 2)], incident_id
    assert poller.failures == [], "the REST feed does not need Redis"

    missed = set(range(last_before_outage + 1, last_during_outage + 1))
    de_stream = streams[0]
    assert missed & set(de_stream.ids), "de-csirt's tool saw nothing written during the outage: nothing was tested"
    assert missed & set(streams[1].ids), "fr-csirt's tool got nothing of its shared incident's outage changes"
    for stream in streams:
        assert stream.connections >= 2, f"{stream.label} was never disconnected: the restart was not felt"
        assert not stream.errors, f"{stream.label}: {stream.errors}"
    print(f"Redis down {OUTAGE} s; every due escalation recorded {escalated_after:.1f} s after it was back")
