"""Celery beat missing for five minutes: the first sweep after it is back fires every missed deadline, once.

DESIGN.md "Clocks live in PostgreSQL, not in the broker": a deadline is a row with ``due_at``
and a stamp, so nothing is lost while no scheduler runs. The test writes the history before
the outage with the test process's clock moved back (beat alive: sweeps run in-process at
those moments), so that every kind of clock falls due inside the five minutes nobody swept;
then the real beat and worker start on the real clock, and their first sweep must fire each
missed deadline exactly once, and later sweeps nothing more.
"""

import ast
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from csoa_portal.celery import app
from csoa_portal.sweep import run_sweep
from incidents import services
from incidents.models import Alert, Deadline, Incident
from liaison.models import Event
from liaison.selectors import newest_event_id
from reserve.models import ReserveDeadline
from reserve.vocabulary import Clock as ReserveClock
from reserve.workflow import RequestStatus
from tests.factories import member_state
from tests.fault.conftest import needs_full_mode
from tests.reserve import factories as reserve_factories
from tests.reserve.conftest import reserve  # noqa: F401  (the Reserve's network, as a fixture here)

pytestmark = [needs_full_mode, pytest.mark.full, pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

GAP = timedelta(minutes=5)
SWEEP_INTERVAL = 2  # seconds, for the beat started after the gap
SWEEP_RESULT = r"Task csoa_portal\.tasks\.sweep\[[\w-]+\] succeeded in [\d.]+s: (\{.*\})"
CLOCK_KINDS = ("deadline.reminder", "deadline.overdue", "alert.reminder", "alert.unanswered")


@contextmanager
def _tasks_in_this_process():
    """Before the outage the history runs as beat and a worker would have run it, here and on the moved clock."""
    previous = app.conf.CELERY_TASK_ALWAYS_EAGER
    app.conf.CELERY_TASK_ALWAYS_EAGER = True
    try:
        yield
    finally:
        app.conf.CELERY_TASK_ALWAYS_EAGER = previous


def _report(network, title: str, *, aware_at, **facts) -> Incident:
    incident = services.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title=title,
        aware_at=aware_at, severity="high", affected_member_states=[member_state("DE")], **facts)
    incident.refresh_from_db()
    return incident


def _clock_events_after(marker: int) -> Counter:
    """(kind, subject, clock) of every deadline and alert event after ``marker``."""
    return Counter(
        (e.kind, e.subject_type, e.subject_id, e.payload.get("clock", ""))
        for e in Event.objects.filter(id__gt=marker, kind__in=CLOCK_KINDS)
    )


def _submitted_request(reserve):  # noqa: F811
    """An assistance request reaching the contracting authority now: its 48 h response clock starts."""
    return reserve_factories.request_in(RequestStatus.SUBMITTED, reserve)


def test_first_sweep_after_beat_was_down_five_minutes_fires_every_missed_deadline_once(celery_processes, reserve):  # noqa: F811
    network = reserve
    beat_stopped = timezone.now() - GAP  # T0: beat's last sweep; nobody sweeps from then until now
    # Levels are cumulative: a jump to level 2 also alerts the CSIRTs Network at level 1. This test times the
    # level-2 alerts, so the technical level's alerts carry no acknowledgement deadline here.
    from incidents.selectors import active_blueprint

    active_blueprint().levels.filter(number=1).update(ack_minutes=None)
    minutes = lambda n: timedelta(minutes=n)  # noqa: E731

    with _tasks_in_this_process(), freeze_time(beat_stopped - timedelta(hours=48) + minutes(1)) as clock:
        # Reserve: the authority's 48 h answer overdue at T0+1 min (reminded 12 h before, by the first sweep below) …
        answer_overdue_in_gap = _submitted_request(reserve)
        clock.move_to(beat_stopped - timedelta(hours=36) + minutes(2))
        # … and another entering its 12 h reminder window at T0+2 min.
        answer_reminder_in_gap = _submitted_request(reserve)
        clock.move_to(beat_stopped - timedelta(hours=12) + minutes(4))
        # Level 2 (national capacity exceeded) for 12 h: its situation update falls due at T0+4 min.
        level_2_long = _report(network, "Level 2 for twelve hours", aware_at=timezone.now(),
                               national_capacity_exceeded=True)
        assert level_2_long.crisis_level == 2
        clock.move_to(beat_stopped - minutes(58))
        # Early warnings: overdue at T0+1 min (reminded before the gap), and entering the 6 h reminder window at T0+2 min.
        overdue_in_gap = _report(network, "Early warning overdue in the gap",
                                 aware_at=beat_stopped - timedelta(hours=24) + minutes(1))
        reminder_in_gap = _report(network, "Early warning reminder in the gap",
                                  aware_at=beat_stopped - timedelta(hours=18) + minutes(2))
        run_sweep()  # unanswered alerts of the 12 h incident: reminded now, widened one period (60 min) later, T0+2 min
        clock.move_to(beat_stopped - minutes(57))
        # Escalated 57 min before T0: its alerts (60 min to acknowledge) fall due at T0+3 min.
        level_2_recent = _report(network, "Level 2 for 57 minutes", aware_at=timezone.now(),
                                 national_capacity_exceeded=True)
        assert level_2_recent.crisis_level == 2
        clock.move_to(beat_stopped)
        last_sweep_before_the_gap = run_sweep()
    # Everything below falls due inside the gap, none of it before.
    assert last_sweep_before_the_gap["deadlines"] == 0, last_sweep_before_the_gap
    assert last_sweep_before_the_gap["alerts"] == 0, last_sweep_before_the_gap
    assert last_sweep_before_the_gap["reserve_deadlines"] == 0, last_sweep_before_the_gap
    marker = newest_event_id()

    # Every alert with a deadline falls due in the gap: those reminded before it (the 12 h incident's) are
    # now widened; the others reminded.
    alerts = Alert.objects.filter(due_at__isnull=False)
    assert alerts.exists() and not alerts.exclude(due_at__gt=beat_stopped, due_at__lte=beat_stopped + GAP).exists()
    widened = set(alerts.filter(reminded_at__isnull=False).values_list("pk", flat=True))
    reminded = set(alerts.filter(reminded_at__isnull=True).values_list("pk", flat=True))
    assert set(level_2_long.alerts.filter(level=2).values_list("pk", flat=True)) <= widened
    assert set(level_2_recent.alerts.filter(level=2).values_list("pk", flat=True)) <= reminded
    assert widened and reminded, "the escalations alerted nobody: the test would prove nothing about alerts"
    expected = Counter({
        ("deadline.overdue", "incident", str(overdue_in_gap.pk), "early_warning"): 1,
        ("deadline.reminder", "incident", str(reminder_in_gap.pk), "early_warning"): 1,
        ("deadline.overdue", "incident", str(level_2_long.pk), "situation_update"): 1,
        **{("alert.unanswered", "alert", str(pk), ""): 1 for pk in widened},
        **{("alert.reminder", "alert", str(pk), ""): 1 for pk in reminded},
        ("deadline.overdue", "assistance_request", str(answer_overdue_in_gap.pk), ReserveClock.RESPONSE): 1,
        ("deadline.reminder", "assistance_request", str(answer_reminder_in_gap.pk), ReserveClock.RESPONSE): 1,
    })
    assert _clock_events_after(marker) == Counter()

    # Five minutes later (the real clock), beat and a worker are back.
    worker = celery_processes.worker()
    celery_processes.beat(interval=SWEEP_INTERVAL)
    first = worker.wait_for_log(SWEEP_RESULT, timeout=SWEEP_INTERVAL + 20)[0]
    first_result = ast.literal_eval(first.group(1))
    assert first_result["deadlines"] == 3, first_result
    assert first_result["alerts"] == len(widened) + len(reminded), first_result
    assert first_result["reserve_deadlines"] == 2, first_result
    assert _clock_events_after(marker) == expected

    # Later sweeps find nothing more to fire.
    worker.wait_for_log(SWEEP_RESULT, timeout=3 * SWEEP_INTERVAL + 20, count=3)
    assert _clock_events_after(marker) == expected
    assert Deadline.objects.get(incident=overdue_in_gap, clock="early_warning").overdue_fired_at is not None
    reminder = Deadline.objects.get(incident=reminder_in_gap, clock="early_warning")
    assert reminder.reminded_at is not None and reminder.overdue_fired_at is None
    assert Deadline.objects.get(incident=level_2_long, clock="situation_update").overdue_fired_at is not None
    assert not Alert.objects.filter(pk__in=widened, widened_at__isnull=True).exists()
    assert set(Alert.objects.filter(pk__in=reminded).values_list("state", flat=True)) == {Alert.State.NO_RESPONSE}
    answer = ReserveDeadline.objects.get(request=answer_overdue_in_gap, clock=ReserveClock.RESPONSE)
    assert answer.reminded_at is not None and answer.overdue_fired_at is not None
    answer = ReserveDeadline.objects.get(request=answer_reminder_in_gap, clock=ReserveClock.RESPONSE)
    assert answer.reminded_at is not None and answer.overdue_fired_at is None
    print(f"beat back after {GAP}: first sweep {first_result}")
