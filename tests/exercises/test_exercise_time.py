"""Exercise time: every clock of an exercise object runs ``time_scale`` times faster; live clocks do not move.

Each clock kind is built twice from the same inputs at the same instant: inside an exercise at ×6
(one exercise hour = 10 real minutes) and in live work. The exercise's deadline is its start plus
the duration / 6; the live one is exactly today's.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from awareness.models import ReviewClock
from awareness.services import reviews as review_services
from awareness.services.sitreps import remind_due_reports
from csoa_portal.sweep import run_sweep
from incidents import clocks
from incidents import services as incident_services
from incidents.facts import incident_facts
from incidents.models import Alert, Deadline
from incidents.selectors import active_blueprint, reporting_time_zone
from incidents.services.reminders import keep_situation_update_clocks
from liaison import services as liaison_services
from liaison.exercise_time import compress, deadline, describe, exercise_clock, real_duration
from liaison.exercises import using_exercise
from liaison.forms import ExerciseForm
from liaison.models import Event, Exercise
from reserve.models import ReserveDeadline
from reserve.workflow import RequestStatus
from tests.awareness.reviews_support import incident_of, review_network  # noqa: F401 (fixture)
from tests.conftest import verified_client
from tests.reserve.conftest import reserve  # noqa: F401 (fixture)
from tests.reserve.factories import request_in

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=dt_timezone.utc)
SCALE = 6


def _exercise(network, *, time_scale=SCALE, name="Cyber Europe 2026") -> Exercise:
    return liaison_services.create_exercise(
        actor=None, organisation=network["orgs"]["enisa"], name=name, kind="cyber_europe",
        starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=2),
        participants=list(network["orgs"].values()), time_scale=time_scale)


def _report(network, title, **fields):
    return incident_services.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title=title,
        aware_at=timezone.now(), tlp="amber", **fields)


def _twins(network, **fields):
    """The same incident reported at the same instant: in the ×6 exercise, and live."""
    with using_exercise(_exercise(network)):
        drill = _report(network, "Drill outage", **fields)
    return drill, _report(network, "Live outage", **fields)


def _due(incident, clock):
    return Deadline.objects.get(incident=incident, clock=clock).due_at


# --- The one function ----------------------------------------------------------------------------------

@pytest.mark.parametrize("duration, scale, real", [
    (timedelta(hours=24), 6, timedelta(hours=4)),
    (timedelta(hours=72), Decimal("6.00"), timedelta(hours=12)),
    (timedelta(minutes=60), Decimal("2.5"), timedelta(minutes=24)),
    (timedelta(days=1), 1440, timedelta(minutes=1)),
    (timedelta(hours=1), Decimal("0.5"), timedelta(hours=2)),
    (timedelta(hours=24), 1, timedelta(hours=24)),
])
def test_real_duration_divides_exercise_time_by_the_scale_exactly(duration, scale, real):
    assert real_duration(duration, scale=scale) == real
    assert deadline(T0, duration, scale=scale) == T0 + real


def test_the_exercise_clock_runs_from_the_start_at_the_scale():
    class Drill:
        starts_at, time_scale = T0, Decimal(6)

    assert exercise_clock(Drill, T0 + timedelta(minutes=10)) == T0 + timedelta(hours=1)
    assert exercise_clock(Drill, T0) == T0
    Drill.time_scale = 1
    assert exercise_clock(Drill, T0 + timedelta(minutes=10)) == T0 + timedelta(minutes=10)


def test_a_calendar_month_is_compressed_from_its_start():
    month_later = clocks.add_calendar_month(T0, "Europe/Berlin")
    assert compress(T0, month_later, scale=6) == T0 + (month_later - T0) / 6
    assert compress(T0, month_later, scale=1) == month_later


def test_the_scale_reads_in_words():
    assert describe(Decimal("6.00")) == "×6 (1 exercise hour = 10 real minutes)"
    assert describe(1) == ""


# --- NIS2 ----------------------------------------------------------------------------------------------

def test_nis2_early_warning_notification_and_final_report_run_six_times_faster_in_the_exercise(network, freezer):
    freezer.move_to(T0)
    drill, live = _twins(network)
    assert _due(drill, "early_warning") == T0 + timedelta(hours=4)
    assert _due(drill, "notification") == T0 + timedelta(hours=12)
    basis = T0 + timedelta(hours=12)
    month = clocks.add_calendar_month(basis, reporting_time_zone(drill)) - basis
    assert _due(drill, "final_report") == basis + month / 6
    assert _due(live, "early_warning") == T0 + timedelta(hours=24)
    assert _due(live, "notification") == T0 + timedelta(hours=72)
    assert _due(live, "final_report") == clocks.add_calendar_month(T0 + timedelta(hours=72), reporting_time_zone(live))


def test_the_csirts_initial_response_clock_runs_on_exercise_time(network, freezer):
    freezer.move_to(T0)
    drill, live = _twins(network, early_warning={"summary": "Ransomware on the billing systems"})
    assert _due(drill, "initial_response") == T0 + timedelta(hours=4)
    assert _due(live, "initial_response") == T0 + timedelta(hours=24)


def test_an_exercise_incidents_hours_without_update_count_exercise_hours(network, freezer):
    freezer.move_to(T0)
    drill, live = _twins(network)
    later = T0 + timedelta(hours=2, minutes=5)
    assert incident_facts(drill, now=later)["hours_without_update"] == 12
    assert incident_facts(live, now=later)["hours_without_update"] == 2


# --- Alerts and situation updates ----------------------------------------------------------------------

def test_alerts_are_acknowledged_within_the_levels_minutes_on_exercise_time(network, freezer,
                                                                             django_capture_on_commit_callbacks):
    freezer.move_to(T0)
    with django_capture_on_commit_callbacks(execute=True):
        drill, live = _twins(network, national_capacity_exceeded=True)
    drill_alert = Alert.objects.filter(incident=drill).select_related("escalation").first()
    live_alert = Alert.objects.filter(incident=live, level=drill_alert.level).select_related("escalation").first()
    assert drill_alert is not None and live_alert is not None
    live_window = live_alert.due_at - live_alert.escalation.created_at
    level = active_blueprint().levels.get(number=live_alert.level)
    assert live_window == timedelta(minutes=level.ack_minutes)
    assert drill_alert.due_at - drill_alert.escalation.created_at == live_window / 6


def test_the_situation_update_clock_keeps_the_levels_interval_on_exercise_time(network, freezer,
                                                                                django_capture_on_commit_callbacks):
    freezer.move_to(T0)
    with django_capture_on_commit_callbacks(execute=True):
        drill, live = _twins(network, national_capacity_exceeded=True)
    keep_situation_update_clocks()
    assert _due(drill, "situation_update") == T0 + timedelta(hours=2)  # level 2: every 12 h
    assert _due(live, "situation_update") == T0 + timedelta(hours=12)


def test_the_situation_report_reminder_comes_once_per_compressed_interval(network, freezer,
                                                                           django_capture_on_commit_callbacks):
    freezer.move_to(T0)
    with django_capture_on_commit_callbacks(execute=True):
        drill, live = _twins(network, national_capacity_exceeded=True)

    def due_events(incident):
        return list(Event.objects.filter(kind="sitrep.due", subject_id=str(incident.pk)))

    freezer.move_to(T0 + timedelta(hours=1, minutes=59))
    remind_due_reports()
    assert due_events(drill) == []
    freezer.move_to(T0 + timedelta(hours=2, minutes=1))
    remind_due_reports()
    (reminder,) = due_events(drill)
    assert reminder.payload["due_at"] == (T0 + timedelta(hours=2)).isoformat()
    assert reminder.payload["next_due_at"] == (T0 + timedelta(hours=4)).isoformat()
    assert reminder.exercise_id == drill.exercise_id
    assert due_events(live) == []


# --- The sweep -----------------------------------------------------------------------------------------

def test_the_sweep_reminds_the_exercise_at_its_compressed_lead_and_never_the_live_twin_early(network, freezer):
    freezer.move_to(T0)
    drill, live = _twins(network)

    def fired(kind, incident):
        return [e for e in Event.objects.filter(kind=kind, subject_id=str(incident.pk))
                if e.payload.get("clock") == "early_warning"]

    # The early warning is due at T0 + 4 h in the exercise; the 6 h reminder lead is 1 h there.
    freezer.move_to(T0 + timedelta(hours=2, minutes=59))
    run_sweep()
    assert fired("deadline.reminder", drill) == []
    freezer.move_to(T0 + timedelta(hours=3, minutes=1))
    run_sweep()
    run_sweep()
    assert len(fired("deadline.reminder", drill)) == 1
    freezer.move_to(T0 + timedelta(hours=4, seconds=1))
    run_sweep()
    (alarm,) = fired("deadline.overdue", drill)
    assert alarm.payload["due_at"] == (T0 + timedelta(hours=4)).isoformat()
    assert fired("deadline.reminder", live) == fired("deadline.overdue", live) == []
    # The live clock keeps its own time: reminded 6 h before its 24 h, not before.
    freezer.move_to(T0 + timedelta(hours=17, minutes=59))
    run_sweep()
    assert fired("deadline.reminder", live) == []
    freezer.move_to(T0 + timedelta(hours=18, minutes=1))
    run_sweep()
    assert len(fired("deadline.reminder", live)) == 1


# --- Reserve -------------------------------------------------------------------------------------------

def _exercise_request(r, state, exercise):
    with using_exercise(exercise):
        incident = _report(r, "Drill ransomware at a DSO", severity="high")
        return request_in(state, {**r, "incident": incident})


def test_the_reserves_48_hour_answer_and_its_reminder_run_on_exercise_time(reserve):  # noqa: F811
    drill = _exercise_request(reserve, RequestStatus.SUBMITTED, _exercise(reserve))
    live = request_in(RequestStatus.SUBMITTED, reserve)
    drill_clock = ReserveDeadline.objects.get(request=drill, clock="response")
    live_clock = ReserveDeadline.objects.get(request=live, clock="response")
    assert drill_clock.due_at == drill.submitted_at + timedelta(hours=8)
    assert drill_clock.remind_at == drill_clock.due_at - timedelta(hours=2)  # 12 h before, on exercise time
    assert live_clock.due_at == live.submitted_at + timedelta(hours=48)
    assert live_clock.remind_at == live_clock.due_at - timedelta(hours=12)


def test_a_providers_committed_response_time_runs_on_exercise_time(reserve):  # noqa: F811
    drill_request = _exercise_request(reserve, RequestStatus.APPROVED, _exercise(reserve))
    with using_exercise(drill_request.exercise_id):
        drill = _engage(reserve, drill_request)
    live = _engage(reserve, request_in(RequestStatus.APPROVED, reserve))
    assert drill.respond_by == drill.offered_at + timedelta(minutes=40)  # ACME commits to 4 h
    assert live.respond_by == live.offered_at + timedelta(hours=4)
    clock = ReserveDeadline.objects.get(engagement=drill, clock="provider_response")
    assert (clock.due_at, clock.remind_at) == (drill.respond_by, drill.offered_at + timedelta(minutes=20))


def _engage(r, request):
    from reserve import services

    return services.engage_provider(actor=r["people"]["enisa_triage"], request=request,
                                    provider=r["orgs"]["provider-acme"])


def test_the_after_action_report_clock_is_three_months_compressed(reserve):  # noqa: F811
    drill = _exercise_request(reserve, RequestStatus.CLOSED, _exercise(reserve))
    live = request_in(RequestStatus.CLOSED, reserve)
    from reserve.services.deadlines import add_months

    drill_due = ReserveDeadline.objects.get(request=drill, clock="after_action_report").due_at
    live_due = ReserveDeadline.objects.get(request=live, clock="after_action_report").due_at
    zone = "Europe/Berlin"
    assert live_due == add_months(live.closed_at, 3, zone)
    assert drill_due == drill.closed_at + (add_months(drill.closed_at, 3, zone) - drill.closed_at) / 6


# --- Awareness: the review clocks ----------------------------------------------------------------------

def test_an_incident_reviews_agreement_clock_runs_on_exercise_time(review_network, freezer):  # noqa: F811
    freezer.move_to(T0)
    exercise = _exercise(review_network)
    with using_exercise(exercise):
        drill_incident = incident_of(review_network, title="Drill wiper")
        drill = review_services.request_review(actor=review_network["people"]["ec_decision"],
                                               incident=drill_incident, reason="Cross-border wiper")
    live = review_services.request_review(actor=review_network["people"]["ec_decision"],
                                          incident=incident_of(review_network), reason="Cross-border wiper")
    drill_clock = ReviewClock.objects.get(review=drill, clock="agreement")
    live_clock = ReviewClock.objects.get(review=live, clock="agreement")
    assert drill_clock.due_at == T0 + timedelta(days=5) / 6
    assert drill_clock.remind_at == drill_clock.due_at - timedelta(days=1) / 6
    assert live_clock.due_at == T0 + timedelta(days=5)
    assert live_clock.remind_at == live_clock.due_at - timedelta(days=1)


# --- Planning the exercise's time: bad input, and where it shows ----------------------------------------

@pytest.mark.parametrize("value, words", [
    (0, "more than 0"), (-2, "more than 0"), (1441, "at most 1440"), ("fast", "not a number"),
    (Decimal("2.555"), "two decimals"),
])
def test_a_bad_time_scale_is_refused_naming_the_field_and_nothing_is_written(network, value, words):
    with pytest.raises(ValidationError) as refused:
        _exercise(network, time_scale=value)
    assert words in " ".join(refused.value.message_dict["time_scale"])
    assert not Exercise.objects.exists()


def test_changing_the_time_scale_to_a_bad_one_changes_nothing(network):
    exercise = _exercise(network)
    with pytest.raises(ValidationError) as refused:
        liaison_services.update_exercise(
            actor=None, exercise=exercise, name=exercise.name, kind=exercise.kind, starts_at=exercise.starts_at,
            ends_at=exercise.ends_at, participants=exercise.participants.all(), time_scale=0)
    assert "time_scale" in refused.value.message_dict
    exercise.refresh_from_db()
    assert exercise.time_scale == 6


@pytest.mark.parametrize("value, words", [
    ("0", "more than 0"), ("-1", "more than 0"), ("5000", "at most 1440"), ("fast", "Enter a number"),
    ("2.555", "2 decimal places"),
])
def test_the_plan_form_says_what_is_wrong_with_the_time_scale(network, value, words):
    form = ExerciseForm({"organisation": network["orgs"]["enisa"].pk, "name": "Drill", "kind": "cyber_europe",
                         "starts_at": "2026-06-10 08:00", "ends_at": "2026-06-11 08:00",
                         "participants": [network["orgs"]["de-csirt"].pk], "time_scale": value},
                        owners=[network["orgs"]["enisa"]])
    assert not form.is_valid()
    assert words in " ".join(form.errors["time_scale"])


def test_planning_an_exercise_on_the_page_sets_its_time_and_every_page_of_it_says_so(network):
    from tests import factories

    crisis = factories.person("crisis@enisa.example", network["orgs"]["enisa"], ["crisis_manager"])
    client = verified_client(crisis)
    answer = client.post("/exercises/new/", {
        "organisation": network["orgs"]["enisa"].pk, "name": "Blue OLEx", "kind": "blue_olex",
        "starts_at": "2026-06-10 08:00", "ends_at": "2026-06-11 08:00",
        "participants": [network["orgs"]["de-csirt"].pk], "time_scale": "6"})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    exercise = Exercise.objects.get()
    assert exercise.time_scale == 6
    listing = client.get("/exercises/").content.decode()
    assert "×6 (1 exercise hour = 10 real minutes)" in listing
    client.post("/exercises/switch/", {"exercise": exercise.pk})
    assert "exercise time ×6" in client.get("/").content.decode()


def test_an_exercise_planned_without_a_time_scale_runs_in_real_time(network, freezer):
    freezer.move_to(T0)
    exercise = _exercise(network, time_scale=None)
    assert exercise.time_scale == 1
    with using_exercise(exercise):
        drill = _report(network, "Real-time drill")
    assert _due(drill, "early_warning") == T0 + timedelta(hours=24)
