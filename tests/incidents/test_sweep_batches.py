"""A sweep over a backlog commits a batch at a time, and still works the whole backlog in one run.

Before, one deadline sweep over a backlog fired 1,004 alarms in a single 13.3 s transaction:
every claimed row stayed locked, and no alarm was visible or published until the end. The
proof here is the commits themselves: each handled row registers an on-commit hook that
notes how many rows had been handled when its transaction committed, so the notes are the
sizes reached at each commit — one note per transaction.
"""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from incidents import clocks, services
from incidents.models import Alert, Deadline
from incidents.services import alerts as alert_services
from incidents.services import reminders
from liaison.models import Event
from tests.factories import member_state

pytestmark = pytest.mark.django_db(transaction=True)


def _spy_commits(module, name: str):
    """Wrap ``module.name`` (called once per handled row): returns (handled rows, handled count at each commit)."""
    real = getattr(module, name)
    handled, commits = [], []

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        handled.append(args)
        transaction.on_commit(lambda: commits.append(len(handled)))  # how many were handled when it committed
        return result

    return mock.patch.object(module, name, spy), handled, commits


def test_a_deadline_backlog_larger_than_a_batch_fires_in_one_sweep_over_several_commits(network):
    incident = services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                        title="Outage", aware_at=timezone.now() - timedelta(hours=1))
    # 250 overdue intermediate-report clocks (each request is its own clock): a backlog of 2.5 batches.
    Deadline.objects.bulk_create([
        Deadline(incident=incident, clock=clocks.Clock.INTERMEDIATE, sequence=n, requested_at=timezone.now(),
                 due_at=timezone.now() - timedelta(minutes=n)) for n in range(1, 251)])
    patch, handled, commits = _spy_commits(reminders, "_announce")
    with patch:
        assert reminders.sweep_deadlines(batch=100) == 250
    # Three transactions, each committed when its batch was done: 100, 200, then the last 50.
    assert sorted(set(commits)) == [100, 200, 250]
    assert Event.objects.filter(kind="deadline.overdue").count() == 250
    assert not Deadline.objects.filter(clock=clocks.Clock.INTERMEDIATE, overdue_fired_at__isnull=True).exists()
    assert reminders.sweep_deadlines(batch=100) == 0  # each fired once


def test_an_alert_backlog_larger_than_a_batch_is_chased_in_one_sweep_over_several_commits(network, freezer):
    incident = services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                        title="Grid", aware_at=timezone.now() - timedelta(hours=1),
                                        affected_member_states=[member_state("DE")], national_capacity_exceeded=True)
    alerts = Alert.objects.filter(incident=incident)
    assert alerts.count() == 6
    freezer.move_to(max(a.due_at for a in alerts) + timedelta(minutes=1))  # all six unanswered
    patch, handled, commits = _spy_commits(alert_services, "_alert_event")
    with patch:
        assert alert_services.sweep_alerts(batch=4) == 6
    assert sorted(set(commits)) == [4, 6]
    assert set(alerts.values_list("state", flat=True)) == {Alert.State.NO_RESPONSE}
    assert alert_services.sweep_alerts(batch=4) == 0


def test_a_sweep_stops_at_its_time_budget_and_the_next_one_goes_on(network, settings):
    settings.SWEEP_JOB_BUDGET_SECONDS = 0  # spent after the first batch
    incident = services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                        title="Outage", aware_at=timezone.now() - timedelta(hours=1))
    Deadline.objects.bulk_create([
        Deadline(incident=incident, clock=clocks.Clock.INTERMEDIATE, sequence=n, requested_at=timezone.now(),
                 due_at=timezone.now() - timedelta(minutes=n)) for n in range(1, 8)])
    assert reminders.sweep_deadlines(batch=5) == 5
    assert reminders.sweep_deadlines(batch=5) == 2
