"""Events of a long transaction written at its end (liaison.events.written_last): live readers wait on none of its work.

A live reader never passes an event id whose transaction is still open, so an alarm written at
the start of a sweep batch held back every later event of everyone until the batch committed.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from incidents import clocks, services
from incidents.models import Deadline
from incidents.services import reminders
from liaison.events import Audience, record_event, written_last
from liaison.models import Event

pytestmark = pytest.mark.django_db


def _record(kind, network):
    return record_event(kind=kind, subject_type="note", subject_id="1",
                        audience=Audience(organisations=[network["orgs"]["de-csirt"]]))


def test_events_recorded_in_the_block_are_written_together_when_it_ends_in_order(network):
    before = Event.objects.count()
    with transaction.atomic():
        with written_last():
            assert _record("note.first", network) is None  # queued: not written yet
            _record("note.second", network)
            assert Event.objects.count() == before
        written = list(Event.objects.order_by("id")[before:].values_list("kind", flat=True))
    assert written == ["note.first", "note.second"]


def test_an_error_in_the_block_writes_none_of_its_events_and_a_nested_block_leaves_the_writing_outside(network):
    before = Event.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic(), written_last():
        _record("note.lost", network)
        raise RuntimeError("the batch failed")
    assert Event.objects.count() == before

    with transaction.atomic(), written_last():
        with written_last():
            _record("note.inner", network)
        assert Event.objects.count() == before  # the inner block's end wrote nothing
        _record("note.outer", network)
    assert list(Event.objects.order_by("id")[before:].values_list("kind", flat=True)) == ["note.inner", "note.outer"]


def test_a_deadline_sweep_batch_writes_its_alarms_after_all_its_work(network):
    incident = services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                        title="Backlog", aware_at=timezone.now() - timedelta(hours=1))
    Deadline.objects.bulk_create([
        Deadline(incident=incident, clock=clocks.Clock.INTERMEDIATE, sequence=n, requested_at=timezone.now(),
                 due_at=timezone.now() - timedelta(minutes=n)) for n in range(1, 6)])
    alarms_while_working = []
    real = reminders._announce

    def announce(kind, deadline, now):
        real(kind, deadline, now)
        alarms_while_working.append(Event.objects.filter(kind="deadline.overdue").count())

    with mock.patch.object(reminders, "_announce", announce):
        assert reminders.sweep_deadlines(batch=100) == 5
    assert alarms_while_working == [0] * 5  # none written while the batch worked
    assert Event.objects.filter(kind="deadline.overdue").count() == 5
