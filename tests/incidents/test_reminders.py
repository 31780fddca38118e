"""The sweep chases every clock with a moved clock: reminders and overdue alarms fire once, on time."""

from datetime import timedelta

import pytest
from django.utils import timezone

from csoa_portal.sweep import run_sweep
from incidents import services
from incidents.models import Deadline
from liaison.models import Event
from liaison.selectors import inbox_for

pytestmark = pytest.mark.django_db(transaction=True)


def _events(kind, clock):
    return [e for e in Event.objects.filter(kind=kind) if e.payload.get("clock") == clock]


def test_early_warning_reminder_and_overdue_alarm_fire_once_at_the_right_time(network, freezer):
    freezer.move_to("2026-03-28T09:00:00Z")
    incident = services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                        title="Outage", aware_at=timezone.now())
    freezer.move_to("2026-03-29T02:59:00Z")  # 6 h 1 min before the 24 h: too early
    run_sweep()
    assert _events("deadline.reminder", "early_warning") == []
    freezer.move_to("2026-03-29T03:01:00Z")
    run_sweep()
    run_sweep()
    assert len(_events("deadline.reminder", "early_warning")) == 1
    freezer.move_to("2026-03-29T08:59:00Z")
    run_sweep()
    assert _events("deadline.overdue", "early_warning") == []
    freezer.move_to("2026-03-29T09:00:01Z")
    run_sweep()
    run_sweep()
    (alarm,) = _events("deadline.overdue", "early_warning")
    assert alarm.payload["due_at"] == "2026-03-29T09:00:00+00:00"
    assert any(i.kind == "deadline.overdue" for i in inbox_for(network["people"]["de_analyst"])[0])
    assert not any(i.kind == "deadline.overdue" for i in inbox_for(network["people"]["pt_analyst"])[0])
    assert Deadline.objects.get(incident=incident, clock="early_warning").overdue_fired_at is not None


def test_a_sweep_after_beat_was_down_catches_every_missed_deadline_once(network, freezer):
    freezer.move_to("2026-06-01T00:00:00Z")
    for n in range(3):
        services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                 title=f"I{n}", aware_at=timezone.now() - timedelta(hours=n))
    freezer.move_to("2026-06-10T00:00:00Z")  # nobody swept for nine days
    run_sweep()
    run_sweep()
    assert len(_events("deadline.overdue", "early_warning")) == 3
    assert len(_events("deadline.overdue", "notification")) == 3


def test_level_two_incident_owes_situation_updates_at_the_levels_interval(network, freezer):
    freezer.move_to("2026-06-01T00:00:00Z")
    de = network["people"]["de_analyst"]
    incident = services.report_incident(actor=de, organisation=network["orgs"]["de-csirt"], title="Grid",
                                        aware_at=timezone.now(), national_capacity_exceeded=True)
    incident.refresh_from_db()
    assert incident.crisis_level == 2
    freezer.move_to("2026-06-01T12:01:00Z")  # the default level 2 interval is 12 h
    run_sweep()
    assert len(_events("deadline.overdue", "situation_update")) == 1
    services.add_timeline_entry(actor=de, incident=incident, text="Substations isolated", kind="situation")
    run_sweep()
    row = Deadline.objects.get(incident=incident, clock="situation_update")
    assert row.due_at > timezone.now() and row.overdue_fired_at is None
    assert len(_events("deadline.overdue", "situation_update")) == 1
