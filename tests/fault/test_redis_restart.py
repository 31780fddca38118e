"""Redis restarted (crashed, empty) while SOC tools and browsers follow the event stream and incidents are written.

DESIGN.md "Guarantees": a client that reconnects gets every event it missed, in order, once;
a Redis outage delays work and never loses it. The whole portal runs as deployed against a
Redis of the test's own (the machine's is never touched): the web process under uvicorn, a
Celery worker and beat. Clients follow ``/ws/events/`` (bearer tokens for SOC tooling, session
cookies with an ``Origin`` for browsers) and poll ``GET /api/v1/events/``. Incidents are
reported, shared and escalated through the API before, during and after Redis is SIGKILLed
and restarted without its data, so queued evaluations and channel-layer groups are lost; the
browsers' connections drop during the outage too and must come back by themselves. Then every
client must hold exactly the events the log says it may see (``events_visible_to``), in order,
once; every escalation due happened, once (the sweep re-dispatched what Redis lost); and
every event was published. And connections that stayed open get new events live again
within seconds, by their hints, not after their 12-18 s safety pull: the web process joins
its channel-layer groups again (``liaison.consumers.Notifier``), also when Redis lost them
without any of its connections dropping (emptied while running: a flush, a failover to an
empty node).
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F
from django.test import Client
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Escalation, Incident, Share
from liaison import services as liaison_services
from liaison.api.serializers import EventSerializer
from liaison.models import Event
from liaison.selectors import events_visible_to, newest_event_id
from tests.conftest import verified_client
from tests.fault.clients import FeedPoller, StreamClient, StreamClients, settle
from tests.fault.conftest import needs_full_mode
from tests.fault.servers import free_port
from tests.fault.workers import Broker, wait_for

pytestmark = [needs_full_mode, pytest.mark.full, pytest.mark.django_db(transaction=True), pytest.mark.timeout(150)]

SWEEP_INTERVAL = 2  # seconds, for the beat of this test
OUTAGE = 4  # seconds Redis stays down (at least) while incidents are written
LIVE_WITHIN = 2.5  # seconds from a committed write to its event on a live connection (hint, then pull)
REJOINED_WITHIN = 3.0 + 2.0  # seconds from Redis losing the groups to live delivery again (docs/scaling.md), + slack
PROBE_SPACING = 3.0  # seconds between the two probes: together they outrun any 12-18 s safety pull


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

    def _send(self, method: str, path: str, body: dict, expect: int) -> dict:
        response = self.session.request(method, f"{self.base_url}{path}", data=json.dumps(body), timeout=60)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:1000]}"
        return response.json()

    def report(self, title: str) -> int:
        return self._send("POST", "/api/v1/incidents/", {
            "title": title, "aware_at": (timezone.now() - timedelta(hours=1)).isoformat(), "severity": "high",
            "affected_member_states": ["DE"]}, 201)["id"]

    def spread_to_france(self, incident_id: int) -> None:
        """Two member states affected: the Blueprint engine must raise it to level 2."""
        self._send("PATCH", f"/api/v1/incidents/{incident_id}/", {"affected_member_states": ["DE", "FR"]}, 200)

    def retitle(self, incident_id: int, title: str) -> None:
        self._send("PATCH", f"/api/v1/incidents/{incident_id}/", {"title": title}, 200)

    def consent(self, incident_id: int) -> None:
        """TLP:AMBER: the originator lets the alerted networks read the escalated incident."""
        self._send("POST", f"/api/v1/incidents/{incident_id}/network-consent/", {}, 200)

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


def _arrival(client, incident_id: int) -> float | None:
    created = [e for e in client.events if e["kind"] == "incident.created" and e["subject_id"] == incident_id]
    return time.monotonic() if created else None


def test_redis_restart_loses_no_event_for_any_client_and_no_escalation(
        private_redis, private_celery, portal_servers, network):
    orgs, people = network["orgs"], network["people"]
    de_tool, de_token = _token(orgs["de-csirt"], "read")
    fr_tool, fr_token = _token(orgs["fr-csirt"], "read")
    pt_tool, pt_token = _token(orgs["pt-csirt"], "read")
    _, writer_token = _token(orgs["de-csirt"], "read,write")

    began = time.monotonic()
    with ThreadPoolExecutor(3) as pool:  # the three processes start side by side
        starting = [pool.submit(portal_servers, private_celery.broker), pool.submit(private_celery.worker),
                    pool.submit(private_celery.beat, interval=SWEEP_INTERVAL)]
        portal = starting[0].result()
        for process in starting[1:]:
            process.result()
    startup = time.monotonic() - began
    writer = Writer(portal.url, writer_token)

    start = newest_event_id()
    cookie = settings.SESSION_COOKIE_NAME
    de_soc = StreamClient("SOC de-csirt (token)", portal.ws_url, after=start, token=de_token)
    fr_soc = StreamClient("SOC fr-csirt (token)", portal.ws_url, after=start, token=fr_token)
    pt_soc = StreamClient("SOC pt-csirt (token)", portal.ws_url, after=start, token=pt_token)
    browsers = [StreamClient(label, portal.ws_url, after=start, origin=portal.url,
                             session_cookie=(cookie, verified_client(user).cookies[cookie].value))
                for label, user in [("browser de-authority liaison officer", people["de_liaison"]),
                                    ("browser ENISA", people["enisa_admin"])]]
    streams = [de_soc, fr_soc, pt_soc, *browsers]
    poller = FeedPoller("SOC de-csirt (REST feed)", portal.url, token=de_token, after=start)
    users = {de_soc.label: de_tool, fr_soc.label: fr_tool, pt_soc.label: pt_tool, poller.label: de_tool,
             browsers[0].label: people["de_liaison"], browsers[1].label: people["enisa_admin"]}
    clients = StreamClients(streams).start()
    poller.start()
    phases = {"processes started": startup}
    try:
        wait_for(lambda: all(s.connections for s in streams), timeout=15, what="every client to connect")
        phases["clients connected"] = time.monotonic() - began

        # Before: the fast path works (dispatch on commit, worker, live push).
        before = [writer.report(f"Before the outage {n}") for n in range(4)]
        writer.share(before[1], "fr-csirt")
        writer.spread_to_france(before[0])
        wait_for(lambda: _escalations(before[0]), timeout=20, what="the escalation through the worker")
        writer.consent(before[0])  # EU-CyCLONe's browsers now read it (and miss its outage changes below)

        # Redis crashes; writes go on (the database holds them), dispatch and publication fail,
        # and the browsers' connections drop (they retry until the portal takes them again).
        last_before_outage = newest_event_id()
        phases["before the outage"] = time.monotonic() - began
        private_redis.kill()
        went_down = time.monotonic()
        for browser in browsers:
            clients.drop(browser)
        writer.report("During the outage")
        writer.spread_to_france(before[1])  # shared with fr-csirt: its tool misses this while Redis is down
        writer.spread_to_france(before[2])
        writer.retitle(before[0], "Escalated before the outage, renamed during it")  # EU-CyCLONe's browsers miss this
        time.sleep(max(0.0, OUTAGE - (time.monotonic() - went_down)))
        last_during_outage = newest_event_id()

        # Redis is back, empty: no queued task, no channel-layer group survived.
        private_redis.start()
        back = time.monotonic()
        phases["down"] = back - went_down
        writer.report("After the outage")
        writer.spread_to_france(before[3])

        wait_for(lambda: all(_escalations(pk) for pk in before), timeout=4 * SWEEP_INTERVAL + 30,
                 what="every escalation that was due")
        phases["escalated"] = time.monotonic() - back
        wait_for(lambda: not Incident.objects.exclude(evaluated_version=F("version")).exists(), timeout=30,
                 what="every change evaluated")
        wait_for(lambda: not Event.objects.filter(published_at__isnull=True).exists(), timeout=30,
                 what="every event published (the sweep republishes what Redis lost)")

        def differences() -> list[str]:
            problems = []
            for client in [*streams, poller]:
                expected = [e["id"] for e in _visible(users[client.label], start)]
                if client.ids != expected:
                    problems.append(f"{client.label}: got {client.ids}, the log says {expected}")
            return problems

        problems = settle(differences, timeout=40)
        phases["caught up"] = time.monotonic() - back
        received = {client.label: list(client.events) for client in [*streams, poller]}
        expected = {label: _visible(users[label], start) for label in received}

        # Live again? Two changes a few seconds apart, each timed to de-csirt's live connection:
        # a hint brings each within a second or so; the 12-18 s safety pull cannot bring both in time.
        latencies = []
        for n in range(2):
            if n:
                time.sleep(PROBE_SPACING)
            probe = writer.report(f"Probe {n} after the outage")
            written = time.monotonic()
            try:
                arrived = wait_for(lambda: _arrival(de_soc, probe), timeout=LIVE_WITHIN, what=f"probe {n}")
            except AssertionError:
                latencies.append(None)
                break
            latencies.append(round(arrived - written, 2))
    finally:
        clients.stop()
        poller.stop()
        for client in streams:
            print(f"{client.label}: {len(client.events)} events, {client.connections} connections, "
                  f"drops {client.drops[:3]}{' …' if len(client.drops) > 3 else ''}")
        print(f"{poller.label}: {len(poller.events)} events, {poller.polls} polls, failures {poller.failures[:3]}")
        print("phases (s):", {name: round(took, 1) for name, took in phases.items()})

    # In order, once, none missing: the same events, shaped exactly as the log's.
    assert not problems, "\n".join(problems)
    for client in [*streams, poller]:
        assert received[client.label] == expected[client.label], client.label
        ids = [event["id"] for event in received[client.label]]
        assert ids == sorted(set(ids)), f"{client.label}: out of order or repeated"
        assert not getattr(client, "errors", []), f"{client.label}: {client.errors}"
    missed = set(range(last_before_outage + 1, last_during_outage + 1))
    assert missed & set(de_soc.ids), "de-csirt's tool got nothing written during the outage: nothing was tested"
    assert missed & set(fr_soc.ids), "fr-csirt's tool got nothing of its shared incident's outage changes"
    for browser in browsers:
        assert browser.connections >= 2, f"{browser.label} did not come back after its connection dropped"
        assert missed & set(browser.ids), f"{browser.label} got nothing written during the outage"
    assert poller.failures == [], "the REST feed does not need Redis"
    # No task lost: each escalation that fell due happened, once.
    for incident_id in before:
        assert _escalations(incident_id) == [(0, 2)], incident_id
    print(f"probe latencies on the live stream after the restart (s): {latencies}")
    assert None not in latencies, (f"a connection that stayed open waited for its 12-18 s safety pull: the web process "
                                   f"did not join its channel-layer groups again ({latencies}, {LIVE_WITHIN} s each)")


def _probe(writer: Writer, client: StreamClient, title: str, *, within: float) -> float | None:
    """Seconds from a committed report to its event on ``client``'s connection; None if later than ``within``."""
    incident_id = writer.report(title)
    written = time.monotonic()
    try:
        arrived = wait_for(lambda: _arrival(client, incident_id), timeout=within, what=title)
    except AssertionError:
        return None
    return round(arrived - written, 2)


def test_redis_emptied_under_open_connections_is_noticed_and_live_events_resume_within_seconds(
        private_redis, portal_servers, network):
    """Nothing drops: the web process's connections to Redis survive the flush, so no error tells it."""
    orgs = network["orgs"]
    de_tool, de_token = _token(orgs["de-csirt"], "read")
    _, writer_token = _token(orgs["de-csirt"], "read,write")
    portal = portal_servers(Broker(private_redis.url))
    writer = Writer(portal.url, writer_token)
    start = newest_event_id()
    de_soc = StreamClient("SOC de-csirt (token)", portal.ws_url, after=start, token=de_token)
    clients = StreamClients([de_soc]).start()
    latencies = {}
    try:
        wait_for(lambda: de_soc.connections, timeout=15, what="the client to connect")
        wait_for(lambda: de_soc.caught_up, timeout=15, what="the replay to finish")
        latencies["before"] = _probe(writer, de_soc, "Before Redis is emptied", within=LIVE_WITHIN)

        private_redis.empty()
        # Committed at once: its hint goes to a group the process is no longer in.
        latencies["right after"] = _probe(writer, de_soc, "Right after Redis was emptied", within=REJOINED_WITHIN)
        for n in range(2):  # two more, a few seconds apart: the 12-18 s safety pull cannot bring both in time
            time.sleep(PROBE_SPACING)
            latencies[f"live {n}"] = _probe(writer, de_soc, f"Live again {n}", within=LIVE_WITHIN)
        settle(lambda: [] if de_soc.ids == [e["id"] for e in _visible(de_tool, start)] else ["behind"], timeout=20)
    finally:
        clients.stop()
        print(f"{de_soc.label}: {len(de_soc.events)} events, {de_soc.connections} connections, drops {de_soc.drops}")
    print(f"probe latencies (s): {latencies}")

    assert None not in latencies.values(), (
        f"live events stopped after Redis was emptied: the process did not notice it lost its groups ({latencies})")
    assert de_soc.connections == 1, "the connection was meant to stay open throughout"
    assert de_soc.events == _visible(de_tool, start), "every event in order, once"
    assert not de_soc.errors, de_soc.errors


def test_sharing_while_the_broker_is_down_is_accepted(network, token_for):
    """The share is in the database and its Event in the log: the recipients' e-mail may wait, the answer may not."""
    de = network["orgs"]["de-csirt"]
    incident = incident_services.report_incident(actor=network["people"]["de_analyst"], organisation=de,
                                                 title="Shared while Redis is down",
                                                 aware_at=timezone.now() - timedelta(hours=1))
    client = Client(headers={"Authorization": f"Bearer {token_for(de)}"}, raise_request_exception=False)
    with Broker(f"redis://127.0.0.1:{free_port()}/0").sending():  # nothing listens there
        response = client.post(f"/api/v1/incidents/{incident.pk}/share/", {"organisations": ["fr-csirt"]},
                               content_type="application/json")

    assert Share.objects.filter(incident=incident, group__name=network["orgs"]["fr-csirt"].group.name).exists()
    assert response.status_code == 200, response.content
