"""Events are written with their change and published only once it commits."""

from unittest import mock

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from csoa_portal.sweep import run_sweep
from liaison.events import Audience, channel_group_name, publish_pending, record_event
from liaison.models import Event


def _receive(layer, channel, timeout=2):
    async def go():
        import asyncio

        return await asyncio.wait_for(layer.receive(channel), timeout)

    return async_to_sync(go)()


@pytest.fixture
def listening(network):
    """A channel subscribed to de-csirt's audience group, like a websocket of a DE analyst."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    group_id = network["orgs"]["de-csirt"].group_id
    async_to_sync(layer.group_add)(channel_group_name(group_id), channel)
    return layer, channel


@pytest.mark.django_db(transaction=True)
def test_event_is_published_to_its_audience_after_commit(network, listening):
    layer, channel = listening
    with transaction.atomic():
        event = record_event(
            kind="test.happened", subject_type="test", subject_id="1",
            audience=Audience(organisations=[network["orgs"]["de-csirt"]]),
        )
    message = _receive(layer, channel)
    assert message == {"type": "event.new", "id": event.id}
    event.refresh_from_db()
    assert event.published_at is not None


@pytest.mark.django_db(transaction=True)
def test_rolled_back_change_leaves_no_event_and_publishes_nothing(network, listening):
    layer, channel = listening
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(kind="test.happened", subject_type="test", subject_id="1",
                     audience=Audience(organisations=[network["orgs"]["de-csirt"]]))
        raise RuntimeError("the change fails")
    assert not Event.objects.filter(kind="test.happened").exists()
    with pytest.raises(TimeoutError):
        _receive(layer, channel, timeout=0.3)


@pytest.mark.django_db(transaction=True)
def test_sweep_publishes_an_event_whose_publication_failed(network, listening):
    layer, channel = listening
    with mock.patch.object(type(layer), "group_send", side_effect=ConnectionError("redis down")):
        with transaction.atomic():
            event = record_event(kind="test.happened", subject_type="test", subject_id="2",
                                 audience=Audience(organisations=[network["orgs"]["de-csirt"]]))
    event.refresh_from_db()
    assert event.published_at is None
    Event.objects.filter(id=event.id).update(created_at=event.created_at.replace(year=2020))
    run_sweep()
    assert _receive(layer, channel) == {"type": "event.new", "id": event.id}
    event.refresh_from_db()
    assert event.published_at is not None
    assert publish_pending() == 0


def test_event_audience_naming_an_unknown_group_is_refused(network):
    with pytest.raises(ValueError, match="unknown groups"), transaction.atomic():
        record_event(kind="test.happened", subject_type="test", subject_id="1",
                     audience=Audience(groups=["org:does-not-exist"]))
    assert not Event.objects.filter(kind="test.happened").exists()


@pytest.mark.django_db(transaction=True)
def test_one_sweep_publishes_a_backlog_larger_than_its_batches_and_stops_while_the_layer_is_down(network):
    layer = get_channel_layer()
    audience = Audience(organisations=[network["orgs"]["de-csirt"]])
    with mock.patch.object(type(layer), "group_send", side_effect=ConnectionError("redis down")) as send:
        with transaction.atomic():
            for n in range(120):
                record_event(kind="test.happened", subject_type="test", subject_id=str(n), audience=audience)
        Event.objects.filter(kind="test.happened").update(created_at=Event.objects.first().created_at.replace(year=2020))
        send.reset_mock()
        assert publish_pending(batch=50) == 0
        assert send.call_count == 1  # still down: one failed batch, no spinning through the rest
    assert publish_pending(batch=50) == 120  # three batches in one call
    assert not Event.objects.filter(kind="test.happened", published_at__isnull=True).exists()
