"""The live event stream /ws/events/: who gets which events, in order, once, and bad input.

Runs through the real ASGI application (origin check, session/token auth, routing) with
Channels' WebsocketCommunicator, on the in-memory layer in embedded mode and on
channels_redis against the real Redis in full mode.
"""

import asyncio
import json
from datetime import timedelta
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.utils import timezone

from csoa_portal.asgi import application
from incidents import services as incidents
from liaison.api.serializers import EventSerializer
from liaison.events import Audience, channel_group_name, record_event
from liaison.models import Event
from tests.conftest import verified_client



def _websocket_communicator():
    """Channels' WebsocketCommunicator. ``channels.testing``'s ``__init__`` also imports its
    live-server test case, which needs daphne (the portal serves with uvicorn and does not
    install it); the communicator itself needs only asgiref, so without daphne the package's
    modules are loaded without that ``__init__``.
    """
    try:
        from channels.testing import WebsocketCommunicator
    except ModuleNotFoundError as exc:
        if exc.name != "daphne" and not (exc.name or "").startswith("daphne."):
            raise
        import os
        import sys
        import types

        import channels

        package = types.ModuleType("channels.testing")
        package.__path__ = [os.path.join(os.path.dirname(channels.__file__), "testing")]
        sys.modules["channels.testing"] = package
        from channels.testing.application import ApplicationCommunicator
        from channels.testing.websocket import WebsocketCommunicator

        package.ApplicationCommunicator = ApplicationCommunicator
        package.WebsocketCommunicator = WebsocketCommunicator
    return WebsocketCommunicator


WebsocketCommunicator = _websocket_communicator()

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.timeout(60)]

WAIT = 10  # seconds to wait for a frame that must come (the machine may be busy)
QUIET = 0.6  # seconds of silence that count as "nothing was sent"


# --- helpers -------------------------------------------------------------------------------


def session_of(user) -> str:
    return verified_client(user).cookies[settings.SESSION_COOKIE_NAME].value


async def open_stream(*, token=None, session=None, after=None, query=None, origin=None, app=application):
    headers = []
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if session:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()))
    if origin:
        headers.append((b"origin", origin.encode()))
    if query is None and after is not None:
        query = f"after={after}"
    stream = WebsocketCommunicator(app, "/ws/events/" + (f"?{query}" if query is not None else ""), headers=headers)
    connected, _ = await stream.connect(timeout=WAIT)
    assert connected, "the handshake was refused"
    return stream


async def frame(stream, timeout=WAIT) -> dict:
    return await stream.receive_json_from(timeout=timeout)


async def caught_up(stream) -> tuple[list[dict], int]:
    """The events replayed on connect and the position of the caught_up frame after them."""
    events = []
    while (message := await frame(stream))["type"] == "event":
        events.append(message["event"])
    assert message["type"] == "caught_up", message
    return events, message["after"]


async def events(stream, count: int, timeout=WAIT) -> list[dict]:
    received = []
    for _ in range(count):
        message = await frame(stream, timeout)
        assert message["type"] == "event", message
        received.append(message["event"])
    return received


async def silent(stream, timeout=QUIET) -> bool:
    return await stream.receive_nothing(timeout=timeout, interval=0.02)


async def refused(stream, close_code: int, code: str, says: str = "") -> None:
    """An error frame naming the problem, then the protocol's close code."""
    error = await frame(stream)
    assert error["type"] == "error" and error["code"] == code, error
    assert says.lower() in error["message"].lower(), error
    closed = await stream.receive_output(timeout=WAIT)
    assert closed["type"] == "websocket.close" and closed["code"] == close_code, closed
    await stream.disconnect()  # the server side ends (and gives its database connection back)


def _record(*organisations, kind="test.happened", subject_type="test", subject_id="1", groups=()) -> Event:
    with transaction.atomic():
        return record_event(
            kind=kind, subject_type=subject_type, subject_id=subject_id, payload={"n": 1},
            audience=Audience(organisations=list(organisations), groups=list(groups)),
        )


record = database_sync_to_async(_record)


def _report(network, tlp="amber"):
    return incidents.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title="Ransomware at a DSO",
        aware_at=timezone.now() - timedelta(hours=2), tlp=tlp, severity="high",
    )


def _api_item(event_id: int) -> dict:
    return dict(EventSerializer(Event.objects.select_related("actor").get(pk=event_id)).data)


# --- authentication ---------------------------------------------------------------------------


async def test_verified_session_gets_each_visible_event_in_the_api_feed_shape(network):
    de_csirt = network["orgs"]["de-csirt"]
    stream = await open_stream(session=await database_sync_to_async(session_of)(network["people"]["de_analyst"]),
                               origin="http://testserver")
    assert (await caught_up(stream))[0] == []

    event = await record(de_csirt)

    (received,) = await events(stream, 1)
    assert received == json.loads(json.dumps(await database_sync_to_async(_api_item)(event.id)))
    assert received["created_at"].endswith("Z")
    assert await silent(stream)
    await stream.disconnect()


async def test_token_connection_acts_as_its_organisation(network, token_for):
    orgs = network["orgs"]
    token = await database_sync_to_async(token_for)(orgs["de-csirt"], "read")
    stream = await open_stream(token=token)
    await caught_up(stream)

    mine = await record(orgs["de-csirt"])
    await record(orgs["pt-csirt"])
    also_mine = await record(orgs["de-csirt"], orgs["pt-csirt"])

    assert [e["id"] for e in await events(stream, 2)] == [mine.id, also_mine.id]
    assert await silent(stream)
    await stream.disconnect()


async def test_no_credentials_are_refused_with_4401_saying_why():
    stream = await open_stream()
    await refused(stream, 4401, "unauthenticated", says="sign in")


async def test_session_without_second_factor_is_refused(network):
    def password_only_session():
        client = Client()
        client.force_login(network["people"]["de_analyst"])
        return client.cookies[settings.SESSION_COOKIE_NAME].value

    stream = await open_stream(session=await database_sync_to_async(password_only_session)(), origin="http://testserver")
    await refused(stream, 4401, "unauthenticated", says="second factor")


@pytest.mark.parametrize("header, says", [
    ("csoa_aaaaaaaaaaaa_" + "b" * 43, "invalid token"),
    ("not-a-token", "malformed token"),
])
async def test_bad_token_is_refused_with_4401(network, header, says):
    stream = await open_stream(token=header)
    await refused(stream, 4401, "unauthenticated", says=says)


async def test_revoked_token_is_refused(network, token_for):
    from csoa_portal.models import ApiToken

    raw = await database_sync_to_async(token_for)(network["orgs"]["de-csirt"], "read")
    await database_sync_to_async(ApiToken.objects.update)(revoked_at=timezone.now())
    await refused(await open_stream(token=raw), 4401, "unauthenticated", says="revoked")


async def test_token_without_read_scope_is_refused_with_4403(network, token_for):
    token = await database_sync_to_async(token_for)(network["orgs"]["de-csirt"], "write")
    await refused(await open_stream(token=token), 4403, "forbidden", says="'read' scope")


async def test_browser_page_of_another_site_cannot_open_the_stream(network):
    session = await database_sync_to_async(session_of)(network["people"]["de_analyst"])
    stream = WebsocketCommunicator(application, "/ws/events/", headers=[
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()), (b"origin", b"https://evil.example")])
    connected, _ = await stream.connect(timeout=WAIT)
    assert not connected


async def test_token_revoked_mid_stream_gets_nothing_more_and_is_closed(network, token_for):
    from csoa_portal.models import ApiToken
    from liaison import services

    de_csirt = network["orgs"]["de-csirt"]
    raw = await database_sync_to_async(token_for)(de_csirt, "read")
    stream = await open_stream(token=raw)
    await caught_up(stream)
    token = await database_sync_to_async(ApiToken.objects.get)(prefix=raw.split("_")[1])

    await database_sync_to_async(services.revoke_api_token)(actor=None, token=token)  # itself an event for de-csirt
    await record(de_csirt)

    await refused(stream, 4401, "unauthenticated", says="sign-in ended")


async def test_signing_out_ends_the_browser_stream(network):
    client = await database_sync_to_async(verified_client)(network["people"]["de_analyst"])
    stream = await open_stream(session=client.cookies[settings.SESSION_COOKIE_NAME].value, origin="http://testserver")
    await caught_up(stream)

    await database_sync_to_async(client.logout)()
    await record(network["orgs"]["de-csirt"])

    await refused(stream, 4401, "unauthenticated", says="signed out")


# --- who gets what ------------------------------------------------------------------------------


async def test_unrelated_member_state_receives_nothing_of_a_de_incident(network, token_for):
    orgs = network["orgs"]
    de = await open_stream(token=await database_sync_to_async(token_for)(orgs["de-csirt"], "read"))
    pt = await open_stream(token=await database_sync_to_async(token_for)(orgs["pt-csirt"], "read"))
    await caught_up(de)
    await caught_up(pt)

    incident = await database_sync_to_async(_report)(network)
    await database_sync_to_async(incidents.update_incident)(
        actor=network["people"]["de_analyst"], incident=incident, description="Encryption spreading")

    kinds = [e["kind"] for e in await events(de, 2)]
    assert kinds == ["incident.created", "incident.updated"]
    assert await silent(pt)
    pt_own = await record(orgs["pt-csirt"])  # PT's stream works: it just had nothing to see
    assert [e["id"] for e in await events(pt, 1)] == [pt_own.id]
    await de.disconnect()
    await pt.disconnect()


async def test_access_revoked_mid_stream_stops_events_about_that_incident(network, token_for):
    orgs, people = network["orgs"], network["people"]
    incident = await database_sync_to_async(_report)(network)
    (share,) = await database_sync_to_async(incidents.share_incident)(
        actor=people["de_analyst"], incident=incident, organisations=[orgs["fr-csirt"]])
    fr = await open_stream(token=await database_sync_to_async(token_for)(orgs["fr-csirt"], "read"))
    await caught_up(fr)
    await database_sync_to_async(incidents.update_incident)(actor=people["de_analyst"], incident=incident,
                                                            description="Still shared")
    assert [e["kind"] for e in await events(fr, 1)] == ["incident.updated"]

    await database_sync_to_async(incidents.unshare_incident)(actor=people["de_analyst"], share=share)
    # An event about the incident still addressed to FR (written with a stale audience):
    # the live re-check of the subject keeps it from FR.
    await record(orgs["fr-csirt"], kind="incident.updated", subject_type="incident", subject_id=str(incident.pk))
    await database_sync_to_async(incidents.update_incident)(actor=people["de_analyst"], incident=incident,
                                                            description="No longer shared")
    assert await silent(fr)
    later = await record(orgs["fr-csirt"])
    assert [e["id"] for e in await events(fr, 1)] == [later.id]
    await fr.disconnect()


async def test_replay_skips_events_whose_subject_was_unshared_while_away(network, token_for):
    orgs, people = network["orgs"], network["people"]
    token = await database_sync_to_async(token_for)(orgs["fr-csirt"], "read")
    incident = await database_sync_to_async(_report)(network)
    (share,) = await database_sync_to_async(incidents.share_incident)(
        actor=people["de_analyst"], incident=incident, organisations=[orgs["fr-csirt"]])
    start = (await record(orgs["fr-csirt"])).id
    await database_sync_to_async(incidents.update_incident)(actor=people["de_analyst"], incident=incident,
                                                            description="Seen by FR when written")
    await database_sync_to_async(incidents.unshare_incident)(actor=people["de_analyst"], share=share)
    unrelated = await record(orgs["fr-csirt"])

    fr = await open_stream(token=token, after=start)
    replayed, _ = await caught_up(fr)

    assert [e["id"] for e in replayed] == [unrelated.id], replayed
    await fr.disconnect()


# --- nothing lost, nothing twice, in order ---------------------------------------------------


async def test_reconnect_with_after_replays_the_gap_in_order_then_goes_live(network, token_for):
    orgs = network["orgs"]
    token = await database_sync_to_async(token_for)(orgs["de-csirt"], "read")
    stream = await open_stream(token=token)
    await caught_up(stream)
    first = await record(orgs["de-csirt"])
    (seen,) = await events(stream, 1)
    await stream.disconnect()

    missed = []
    for n in range(5):
        missed.append((await record(orgs["de-csirt"], subject_id=str(n))).id)
        await record(orgs["pt-csirt"])  # not for DE: skipped, never sent later
    stream = await open_stream(token=token, after=seen["id"])
    replayed, position = await caught_up(stream)

    assert seen["id"] == first.id
    assert [e["id"] for e in replayed] == missed
    assert position >= missed[-1]
    live = await record(orgs["de-csirt"])
    assert [e["id"] for e in await events(stream, 1)] == [live.id]
    assert await silent(stream)
    await stream.disconnect()


async def test_without_after_only_new_events_are_sent(network, token_for):
    orgs = network["orgs"]
    old = await record(orgs["de-csirt"])
    stream = await open_stream(token=await database_sync_to_async(token_for)(orgs["de-csirt"], "read"))
    replayed, position = await caught_up(stream)
    assert replayed == [] and position >= old.id
    new = await record(orgs["de-csirt"])
    assert [e["id"] for e in await events(stream, 1)] == [new.id]
    await stream.disconnect()


async def test_replay_longer_than_one_read_batch_arrives_whole_and_in_order(network, token_for):
    from liaison import consumers

    orgs = network["orgs"]
    token = await database_sync_to_async(token_for)(orgs["de-csirt"], "read")
    start = (await record(orgs["de-csirt"])).id

    def many():
        return [_record(orgs["de-csirt"], subject_id=str(n)).id for n in range(25)]

    written = await database_sync_to_async(many)()
    with mock.patch.object(consumers, "READ_BATCH", 4), mock.patch.object(consumers, "TAIL_BATCH", 3):
        stream = await open_stream(token=token, after=start)
        replayed, position = await caught_up(stream)
        assert [e["id"] for e in replayed] == written
        assert position == written[-1]
        more = [(await record(orgs["de-csirt"])).id for _ in range(7)]  # live, beyond one tail refresh
        assert [e["id"] for e in await events(stream, 7)] == more
    await stream.disconnect()


async def test_lost_and_repeated_notifications_lose_and_repeat_nothing(network, token_for):
    orgs = network["orgs"]
    stream = await open_stream(token=await database_sync_to_async(token_for)(orgs["de-csirt"], "read"))
    await caught_up(stream)
    layer = get_channel_layer()
    with mock.patch.object(type(layer), "group_send", side_effect=ConnectionError("redis down")):
        unannounced = await record(orgs["de-csirt"])  # its notification is lost
    assert await silent(stream)

    announced = await record(orgs["de-csirt"])
    group = channel_group_name(orgs["de-csirt"].group_id)
    for _ in range(3):  # the sweeper re-publishes; clients see each event once
        await layer.group_send(group, {"type": "event.new", "id": announced.id})

    assert [e["id"] for e in await events(stream, 2)] == [unannounced.id, announced.id]
    assert await silent(stream)
    await stream.disconnect()


# --- the protocol's small talk and bad input ----------------------------------------------------


@pytest.fixture
def de_token(network, token_for):
    return token_for(network["orgs"]["de-csirt"], "read")


async def test_ping_gets_pong(de_token):
    stream = await open_stream(token=de_token)
    await caught_up(stream)
    await stream.send_json_to({"type": "ping"})
    assert await frame(stream) == {"type": "pong"}
    await stream.disconnect()


@pytest.mark.parametrize("send, says", [
    ({"text_data": "{not json"}, "not json"),
    ({"text_data": json.dumps({"type": "subscribe", "group": "everything"})}, "unknown message"),
    ({"text_data": json.dumps(["ping"])}, "unknown message"),
    ({"bytes_data": b"\x00\x01"}, "text frames"),
])
async def test_bad_message_is_answered_and_the_connection_stays(network, de_token, send, says):
    stream = await open_stream(token=de_token)
    await caught_up(stream)

    await stream.send_to(**send)
    error = await frame(stream)
    assert error["type"] == "error" and error["code"] == "bad_message" and says in error["message"].lower()

    event = await record(network["orgs"]["de-csirt"])
    assert [e["id"] for e in await events(stream, 1)] == [event.id]
    await stream.send_json_to({"type": "ping"})
    assert await frame(stream) == {"type": "pong"}
    await stream.disconnect()


async def test_oversized_frame_closes_only_that_connection_with_1009(network, de_token):
    big = await open_stream(token=de_token)
    other = await open_stream(token=de_token)
    await caught_up(big)
    await caught_up(other)

    await big.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * settings.WS_MAX_MESSAGE_BYTES}))
    await refused(big, 1009, "message_too_big", says="limited")

    event = await record(network["orgs"]["de-csirt"])
    assert [e["id"] for e in await events(other, 1)] == [event.id]
    await other.disconnect()


@pytest.mark.parametrize("query, says", [
    ("after=abc", "non-negative integer"),
    ("after=-1", "non-negative integer"),
    ("after=1.5", "non-negative integer"),
    ("after=1&after=2", "once"),
    ("after=99999999999", "unknown 'after'"),
])
async def test_bad_or_unknown_after_is_refused_with_4400(de_token, query, says):
    await refused(await open_stream(token=de_token, query=query), 4400, "bad_request", says=says)


async def test_client_that_stops_reading_is_closed_as_lagging_and_others_continue(network, de_token, settings):
    settings.WS_SEND_TIMEOUT_SECONDS = 0.3
    stalled = asyncio.Event()

    async def transport_that_stalls(scope, receive, send):
        """The server side of a socket whose client stopped reading: sends never complete."""

        async def stalling_send(message):
            if message["type"] == "websocket.send" and stalled.is_set():
                await asyncio.Event().wait()
            await send(message)

        return await application(scope, receive, stalling_send)

    slow = await open_stream(token=de_token, app=transport_that_stalls)
    other = await open_stream(token=de_token)
    await caught_up(slow)
    await caught_up(other)
    stalled.set()

    written = [(await record(network["orgs"]["de-csirt"])).id for _ in range(3)]

    closed = await slow.receive_output(timeout=WAIT)
    assert closed == {"type": "websocket.close", "code": 4408, "reason": "lagging"}
    assert [e["id"] for e in await events(other, 3)] == written
    await other.disconnect()

    # On reconnect with the last id it saw, the slow client catches up from the log.
    again = await open_stream(token=de_token, after=written[0] - 1)
    assert [e["id"] for e in (await caught_up(again))[0]] == written
    await again.disconnect()
