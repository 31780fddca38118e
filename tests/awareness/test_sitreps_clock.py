"""The level's situation-update interval also reminds the drafting bodies that the next report is due: once per
interval without a published report, whatever how often the sweep runs."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from awareness.models import SitrepReminder
from awareness.services.sitreps import remind_due_reports
from csoa_portal import sweep
from liaison.models import Event
from liaison.selectors import inbox_for
from tests.awareness.sitreps_support import published, make_crisis

pytestmark = [pytest.mark.django_db, pytest.mark.freeze_time("2026-10-01T08:00:00Z")]


@pytest.fixture
def crisis(network):
    return make_crisis(network)
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=dt_timezone.utc)  # level 2: a report every 12 hours


def _due_events(incident):
    return list(Event.objects.filter(kind="sitrep.due", subject_type="incident", subject_id=str(incident.pk))
                .order_by("id"))


def test_a_reminder_fires_once_per_interval_without_a_published_report(crisis, freezer):
    primary = crisis["primary"]
    freezer.move_to(T0 + timedelta(hours=11, minutes=59))
    remind_due_reports()
    assert _due_events(primary) == []

    freezer.move_to(T0 + timedelta(hours=12, minutes=1))
    remind_due_reports()
    remind_due_reports()  # an overlapping sweep fires nothing twice
    events = _due_events(primary)
    assert len(events) == 1
    assert events[0].payload["due_at"] == (T0 + timedelta(hours=12)).isoformat()
    assert set(events[0].audience.values_list("name", flat=True)) == {"org:enisa", "org:ie-authority"}
    items, _ = inbox_for(crisis["people"]["ie_chair"])
    assert any(e.kind == "sitrep.due" and e.subject_id == str(primary.pk) for e in items)
    items, _ = inbox_for(crisis["people"]["de_analyst"])
    assert not any(e.kind == "sitrep.due" for e in items)

    freezer.move_to(T0 + timedelta(hours=20))
    remind_due_reports()
    assert len(_due_events(primary)) == 1

    freezer.move_to(T0 + timedelta(hours=24, minutes=1))
    remind_due_reports()
    assert len(_due_events(primary)) == 2


def test_a_published_report_restarts_the_interval(crisis, freezer):
    primary = crisis["primary"]
    freezer.move_to(T0 + timedelta(hours=6))
    published(crisis)
    freezer.move_to(T0 + timedelta(hours=12, minutes=1))
    remind_due_reports()
    assert _due_events(primary) == []  # a report was published within the interval
    freezer.move_to(T0 + timedelta(hours=18, minutes=1))
    remind_due_reports()
    assert len(_due_events(primary)) == 1
    assert SitrepReminder.objects.filter(incident=primary).count() == 1


def test_the_reminder_is_a_registered_sweep_job(crisis, freezer):
    freezer.move_to(T0 + timedelta(hours=12, minutes=1))
    results = sweep.run_sweep()
    assert results["sitrep_reminders"] == 3  # the three incidents at level 2
