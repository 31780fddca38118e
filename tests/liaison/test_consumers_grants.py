"""The live stream follows grants made while a client is connected, without a reconnect.

A person named on a TLP:RED incident, a new membership or role, a new share to the
organisation: the open socket gets the events from that moment. A removed membership
stops delivery at once. Same harness as test_consumers.py (in-memory layer in embedded
mode, channels_redis in full mode).
"""

from unittest import mock

import pytest
from channels.db import database_sync_to_async

from incidents import services as incidents
from liaison import consumers
from liaison import services as liaison
from liaison.models import Membership
from tests.liaison.test_consumers import _report, caught_up, events, open_stream, record, session_of, silent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio, pytest.mark.timeout(60)]

sync = database_sync_to_async


async def browser_stream(person):
    stream = await open_stream(session=await sync(session_of)(person), origin="http://testserver")
    assert (await caught_up(stream))[0] == []
    return stream


async def test_person_named_on_a_red_incident_gets_its_events_from_that_moment(network):
    people = network["people"]
    incident = await sync(_report)(network, tlp="red")
    fr = await browser_stream(people["fr_analyst"])
    await sync(incidents.update_incident)(actor=people["de_analyst"], incident=incident, description="Not yet FR's")
    assert await silent(fr)

    await sync(incidents.share_incident)(actor=people["de_analyst"], incident=incident, people=[people["fr_analyst"]])
    await sync(incidents.update_incident)(actor=people["de_analyst"], incident=incident, description="Now FR's too")

    received = await events(fr, 2)
    assert [(e["kind"], e["subject_id"]) for e in received] == [
        ("incident.shared", incident.pk), ("incident.updated", incident.pk)]
    assert await silent(fr)
    await fr.disconnect()


async def test_new_membership_brings_the_organisations_events_without_reconnecting(network):
    people, orgs = network["people"], network["orgs"]
    pt = await browser_stream(people["pt_analyst"])
    await record(orgs["de-csirt"])
    assert await silent(pt)

    await sync(liaison.add_membership)(actor=None, user=people["pt_analyst"], organisation=orgs["de-csirt"],
                                       role="analyst")
    after_joining = await record(orgs["de-csirt"])

    received = await events(pt, 2)
    assert [e["kind"] for e in received] == ["membership.added", "test.happened"]
    assert received[1]["id"] == after_joining.id
    assert await silent(pt)
    await pt.disconnect()


async def test_new_role_brings_the_roles_events_without_reconnecting(network):
    people, orgs = network["people"], network["orgs"]
    enisa = await browser_stream(people["enisa_admin"])
    await sync(liaison.add_membership)(actor=None, user=people["enisa_triage"], organisation=orgs["enisa"],
                                       role="decision_maker")  # someone else's role: not for this socket
    await record(groups=["role:decision_maker"])
    (unrelated,) = await events(enisa, 1)  # ENISA's own membership.added; not the role's event
    assert unrelated["kind"] == "membership.added"
    assert await silent(enisa)

    await sync(liaison.add_membership)(actor=None, user=people["enisa_admin"], organisation=orgs["enisa"],
                                       role="decision_maker")
    for_the_role = await record(groups=["role:decision_maker"])

    received = await events(enisa, 2)
    assert [e["kind"] for e in received] == ["membership.added", "test.happened"]
    assert received[1]["id"] == for_the_role.id
    assert await silent(enisa)
    await enisa.disconnect()


async def test_share_to_the_organisation_reaches_its_open_sockets_at_once(network, token_for):
    people, orgs = network["people"], network["orgs"]
    incident = await sync(_report)(network)
    fr = await open_stream(token=await sync(token_for)(orgs["fr-csirt"], "read"))
    await caught_up(fr)

    await sync(incidents.share_incident)(actor=people["de_analyst"], incident=incident, organisations=[orgs["fr-csirt"]])
    await sync(incidents.update_incident)(actor=people["de_analyst"], incident=incident, description="Shared now")

    assert [e["kind"] for e in await events(fr, 2)] == ["incident.shared", "incident.updated"]
    assert await silent(fr)
    await fr.disconnect()


async def test_removed_membership_stops_delivery_at_once(network):
    people, orgs = network["people"], network["orgs"]
    membership = await sync(liaison.add_membership)(actor=None, user=people["pt_analyst"],
                                                    organisation=orgs["de-csirt"], role="analyst")
    pt = await browser_stream(people["pt_analyst"])
    seen = await record(orgs["de-csirt"])
    assert [e["id"] for e in await events(pt, 1)] == [seen.id]

    await sync(liaison.remove_membership)(actor=None, membership=membership)
    await record(orgs["de-csirt"])  # written right after the removal: not for PT any more

    assert await silent(pt)
    own = await record(orgs["pt-csirt"])  # the socket itself still works
    assert [e["id"] for e in await events(pt, 1)] == [own.id]
    assert await silent(pt)
    assert not await sync(Membership.objects.filter(pk=membership.pk).exists)()
    await pt.disconnect()


async def test_grant_whose_announcement_was_lost_arrives_with_the_next_reread_in_order_and_once(network, token_for):
    people, orgs = network["people"], network["orgs"]
    with mock.patch.object(consumers, "GROUP_WATCH", 3600):  # the test runs the periodic re-read itself
        de_token = await sync(token_for)(orgs["de-csirt"], "read")
        pt = await browser_stream(people["pt_analyst"])
        # Another socket of the same process, following DE: its hints make PT's socket read past DE's events.
        de = await open_stream(token=de_token)
        await caught_up(de)

        with mock.patch("liaison.events._send_group_changes"):  # the "groups changed" message is lost
            await sync(liaison.add_membership)(actor=None, user=people["pt_analyst"], organisation=orgs["de-csirt"],
                                               role="analyst")
        missed = await record(orgs["de-csirt"])
        assert [e["kind"] for e in await events(de, 2)] == ["membership.added", "test.happened"]
        assert await silent(pt)

        _, _, notifier = consumers._shared_for_loop()
        await notifier.check_groups()

        received = await events(pt, 2)
        assert [e["kind"] for e in received] == ["membership.added", "test.happened"]
        assert received[1]["id"] == missed.id
        assert await silent(pt)
        later = await record(orgs["de-csirt"])
        assert [e["id"] for e in await events(pt, 1)] == [later.id]
        await pt.disconnect()
        await de.disconnect()
