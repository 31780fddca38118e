"""An exercise's status follows its clock: the sweep starts it at its start and ends it after its end."""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest

from csoa_portal.models import AuditEntry
from csoa_portal.sweep import run_sweep
from liaison import services
from liaison.models import Event, Exercise
from liaison.selectors import events_visible_to, exercise_for, exercises_to_switch_to
from scenarios import policy as scenario_policy
from tests import factories

pytestmark = pytest.mark.django_db

START = datetime(2026, 10, 6, 8, 0, tzinfo=dt_timezone.utc)
END = START + timedelta(hours=10)


@pytest.fixture
def drill(network, freezer):
    freezer.move_to(START - timedelta(days=3))
    enisa_crisis = factories.person("crisis@enisa.example", network["orgs"]["enisa"], ["crisis_manager"])
    exercise = services.create_exercise(
        actor=enisa_crisis, organisation=network["orgs"]["enisa"], name="Cyber Europe 2026", kind="cyber_europe",
        starts_at=START, ends_at=END, participants=[network["orgs"]["de-csirt"]])
    return {**network, "exercise": exercise, "enisa_crisis": enisa_crisis}


def _status(exercise) -> str:
    exercise.refresh_from_db()
    return exercise.status


def test_a_planned_exercise_stays_planned_until_its_start(drill, freezer):
    freezer.move_to(START - timedelta(seconds=1))
    assert services.advance_exercise_statuses() == 0
    assert _status(drill["exercise"]) == Exercise.Status.PLANNED


def test_the_sweep_starts_the_exercise_at_its_start_and_ends_it_once_its_end_has_passed(drill, freezer):
    exercise = drill["exercise"]
    freezer.move_to(START)
    assert run_sweep()["exercise_status"] == 1
    assert _status(exercise) == Exercise.Status.RUNNING

    freezer.move_to(END)  # the end itself still belongs to the exercise (an inject due then is released)
    assert run_sweep()["exercise_status"] == 0
    assert _status(exercise) == Exercise.Status.RUNNING

    freezer.move_to(END + timedelta(seconds=1))
    assert run_sweep()["exercise_status"] == 1
    assert _status(exercise) == Exercise.Status.ENDED


def test_each_change_is_audited_and_announced_to_the_participants_as_live_network_news(drill, freezer):
    exercise = drill["exercise"]
    freezer.move_to(START + timedelta(minutes=1))
    services.advance_exercise_statuses()
    freezer.move_to(END + timedelta(minutes=1))
    services.advance_exercise_statuses()

    entries = AuditEntry.objects.filter(object_id=str(exercise.pk), action__in=["exercise.started", "exercise.ended"])
    assert list(entries.order_by("id").values_list("action", "actor_id")) == [("exercise.started", None),
                                                                              ("exercise.ended", None)]
    events = Event.objects.filter(kind__in=["exercise.started", "exercise.ended"]).order_by("id")
    assert [(e.kind, e.exercise_id, e.payload["status"]) for e in events] == [
        ("exercise.started", None, "running"), ("exercise.ended", None, "ended")]
    de_analyst, pt_analyst = drill["people"]["de_analyst"], drill["people"]["pt_analyst"]
    seen = {e.kind for e in events_visible_to(de_analyst, after=0, limit=1000)[0]}
    assert {"exercise.started", "exercise.ended"} <= seen
    assert not {e.kind for e in events_visible_to(pt_analyst, after=0, limit=1000)[0]} & {"exercise.started",
                                                                                           "exercise.ended"}


def test_running_the_sweep_again_changes_nothing_and_records_nothing(drill, freezer):
    freezer.move_to(START + timedelta(hours=1))
    assert services.advance_exercise_statuses() == 1
    counts = (Event.objects.count(), AuditEntry.objects.count())
    assert services.advance_exercise_statuses() == 0
    assert run_sweep()["exercise_status"] == 0
    assert (Event.objects.count(), AuditEntry.objects.count()) == counts


def test_an_exercise_whose_whole_window_passed_unswept_goes_straight_to_ended(drill, freezer):
    freezer.move_to(END + timedelta(days=1))
    assert services.advance_exercise_statuses() == 1
    assert _status(drill["exercise"]) == Exercise.Status.ENDED
    assert list(Event.objects.filter(kind__startswith="exercise.").exclude(kind="exercise.created")
                .values_list("kind", flat=True)) == ["exercise.ended"]


def test_an_archived_or_ended_by_hand_exercise_is_left_alone(drill, freezer):
    exercise = drill["exercise"]
    services.archive_exercise(actor=drill["enisa_crisis"], exercise=exercise)
    freezer.move_to(START + timedelta(hours=1))
    assert services.advance_exercise_statuses() == 0
    assert _status(exercise) == Exercise.Status.ARCHIVED


def test_a_backlog_is_handled_in_small_batches(drill, freezer):
    for number in range(4):
        services.create_exercise(
            actor=drill["enisa_crisis"], organisation=drill["orgs"]["enisa"], name=f"Drill {number}",
            kind="cyber_europe", starts_at=START, ends_at=END, participants=[drill["orgs"]["de-csirt"]])
    freezer.move_to(START)
    assert services.advance_exercise_statuses(batch=2) == 5
    assert set(Exercise.objects.values_list("status", flat=True)) == {Exercise.Status.RUNNING}


def test_a_running_exercise_stays_on_the_switch_and_releases_injects_until_its_end(drill, freezer):
    exercise = drill["exercise"]
    de_analyst = drill["people"]["de_analyst"]
    freezer.move_to(START + timedelta(hours=1))
    services.advance_exercise_statuses()
    exercise.refresh_from_db()
    assert exercises_to_switch_to(de_analyst) == [exercise]
    assert scenario_policy.release_refusal(exercise, START + timedelta(hours=1)) is None
    assert scenario_policy.release_refusal(exercise, END) is None

    freezer.move_to(END + timedelta(seconds=1))
    services.advance_exercise_statuses()
    exercise.refresh_from_db()
    assert exercises_to_switch_to(de_analyst) == []
    assert "ended" in scenario_policy.release_refusal(exercise, END + timedelta(seconds=1))
    assert exercise_for(de_analyst, exercise.pk) == exercise  # an ended exercise can still be read back
