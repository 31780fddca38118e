"""Scheduled injects go out when their exercise time comes (the sweep), and the scenario pages are the controllers'."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from csoa_portal.sweep import run_sweep
from incidents.models import Incident
from liaison import services as liaison_services
from scenarios import services, timing
from scenarios.models import Inject
from tests import factories
from tests.conftest import verified_client
from tests.scenarios.test_injects import HOSPITALS

pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled(drill, freezer):
    """The exercise (re)planned to start now, with an incident at 02:00 and its escalation at 02:30 of exercise time."""
    start = timezone.now()
    exercise = drill["exercise"]
    liaison_services.update_exercise(actor=drill["people"]["enisa_crisis"], exercise=exercise, name=exercise.name,
                                     kind=exercise.kind, starts_at=start, ends_at=start + timedelta(hours=8),
                                     participants=exercise.participants.all(),
                                     controllers=exercise.controllers.all())
    exercise.refresh_from_db()
    controller = drill["people"]["controller"]
    first = services.create_inject(actor=controller, exercise=exercise, kind="incident", title="Hospitals",
                                   organisation=drill["orgs"]["de-csirt"], payload=HOSPITALS,
                                   offset=timedelta(hours=2))
    second = services.create_inject(actor=controller, exercise=exercise, kind="severity", title="Worse",
                                    organisation=drill["orgs"]["de-csirt"],
                                    payload={"incident_inject": first.pk, "severity": "high"},
                                    offset=timedelta(hours=2, minutes=30))
    return {**drill, "start": start, "first": first, "second": second}


def _states(s) -> list[str]:
    return [Inject.objects.get(pk=s[name].pk).status for name in ("first", "second")]


def test_the_sweep_releases_scheduled_injects_when_their_exercise_time_comes_not_before(
        scheduled, freezer, django_capture_on_commit_callbacks):
    s = scheduled
    freezer.move_to(s["start"] + timedelta(hours=1, minutes=59))
    assert run_sweep()["scenario_injects"] == 0 and _states(s) == ["pending", "pending"]
    assert not Incident.objects.filter(exercise=s["exercise"]).exists()

    freezer.move_to(s["start"] + timedelta(hours=2, minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert run_sweep()["scenario_injects"] == 1
    first = Inject.objects.get(pk=s["first"].pk)
    assert _states(s) == ["released", "pending"]
    assert first.released_by is None and first.released_at == s["start"] + timedelta(hours=2, minutes=1)
    assert first.incident.exercise == s["exercise"]
    assert run_sweep()["scenario_injects"] == 0, "released once"

    freezer.move_to(s["start"] + timedelta(hours=2, minutes=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert run_sweep()["scenario_injects"] == 1
    assert _states(s) == ["released", "released"]
    assert Incident.objects.get(pk=first.incident.pk).crisis_level == 2


def test_both_due_in_one_sweep_go_out_in_scenario_order(scheduled, freezer, django_capture_on_commit_callbacks):
    freezer.move_to(scheduled["start"] + timedelta(hours=3))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.release_due_injects() == 2
    assert _states(scheduled) == ["released", "released"]


def test_nothing_is_released_in_an_archived_exercise_or_after_its_end(scheduled, freezer):
    freezer.move_to(scheduled["start"] + timedelta(hours=9))
    assert services.release_due_injects() == 0
    liaison_services.archive_exercise(actor=scheduled["people"]["enisa_crisis"], exercise=scheduled["exercise"])
    freezer.move_to(scheduled["start"] + timedelta(hours=3))
    assert services.release_due_injects() == 0
    assert _states(scheduled) == ["pending", "pending"]


def test_exercise_time_is_converted_in_one_place():
    class Exercise:
        starts_at = timezone.now()
        time_scale = 1

    class Compressed(Exercise):
        time_scale = 6

    assert timing.due_at(Exercise, timedelta(hours=2)) == Exercise.starts_at + timedelta(hours=2)
    assert timing.exercise_elapsed(Exercise, Exercise.starts_at + timedelta(minutes=90)) == timedelta(minutes=90)
    assert timing.due_at(Compressed, timedelta(hours=2)) == Exercise.starts_at + timedelta(minutes=20)
    assert timing.exercise_elapsed(Compressed, Exercise.starts_at + timedelta(minutes=90)) == timedelta(hours=9)
    assert timing.parse_offset("1d 02:30") == timedelta(days=1, hours=2, minutes=30)
    assert timing.format_offset(timedelta(hours=26, minutes=5)) == "1d 02:05" and timing.parse_offset(" ") is None
    with pytest.raises(ValueError, match="hours:minutes"):
        timing.parse_offset("half past two")


# --- Pages ------------------------------------------------------------------------------------------


def _url(d, suffix=""):
    return f"/exercises/{d['exercise'].pk}/scenario/{suffix}"


def test_a_controller_adds_an_inject_with_the_form_and_releases_it_with_one_button(
        drill, django_capture_on_commit_callbacks):
    client = verified_client(drill["people"]["controller"])
    assert f'href="{_url(drill)}"' in client.get("/exercises/").content.decode()
    form = {"kind": "incident", "title": "Hospitals", "organisation": drill["orgs"]["de-csirt"].pk, "offset": "",
            "payload": json.dumps({**HOSPITALS, "severity": "extreme"})}
    refused = client.post(_url(drill, "new/"), form)
    assert refused.status_code == 400 and "severity: Unknown value" in refused.content.decode()
    assert client.post(_url(drill, "new/"), {**form, "payload": "{oops"}).status_code == 400
    assert client.post(_url(drill, "new/"), {**form, "payload": json.dumps(HOSPITALS)}).status_code == 302
    inject = Inject.objects.get()
    page = client.get(_url(drill)).content.decode()
    assert "Hospitals" in page and "Release now" in page and "by hand" in page

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(_url(drill, f"{inject.pk}/release/")).status_code == 302
    inject.refresh_from_db()
    assert inject.status == "released" and inject.incident.reference in client.get(_url(drill)).content.decode()
    again = client.post(_url(drill, f"{inject.pk}/release/"), follow=True)
    assert "released once" in again.content.decode()


def test_from_live_work_a_released_incident_opens_in_the_exercise_through_the_switch(
        drill, django_capture_on_commit_callbacks):
    """A link straight to the incident would be 404 in live work: the page offers the switch, then the incident."""
    exercise = drill["exercise"]
    controller = factories.person("control@bsi.example", drill["orgs"]["de-csirt"], ["analyst"])  # sees DE's incident
    liaison_services.update_exercise(actor=drill["people"]["enisa_crisis"], exercise=exercise, name=exercise.name,
                                     kind=exercise.kind, starts_at=exercise.starts_at, ends_at=exercise.ends_at,
                                     participants=exercise.participants.all(),
                                     controllers=[*exercise.controllers.all(), controller])
    inject = services.create_inject(actor=controller, exercise=exercise, kind="incident", title="Hospitals",
                                    organisation=drill["orgs"]["de-csirt"], payload=HOSPITALS)
    with django_capture_on_commit_callbacks(execute=True):
        services.release_inject(actor=controller, inject=inject)
    inject.refresh_from_db()
    client = verified_client(controller)
    detail = f"/incidents/{inject.incident.pk}/"
    assert client.get(detail).status_code == 404, "live work does not hold it"
    page = client.get(_url(drill)).content.decode()
    assert f'href="{detail}"' not in page and f'name="next" value="{detail}"' in page

    opened = client.post("/exercises/switch/", {"exercise": drill["exercise"].pk, "next": detail})

    assert opened.status_code == 302 and opened["Location"] == detail
    assert client.get(detail).status_code == 200
    assert f'href="{detail}"' in client.get(_url(drill)).content.decode(), "inside the exercise: a plain link"
    elsewhere = client.post("/exercises/switch/", {"exercise": drill["exercise"].pk, "next": "https://evil.example/"})
    assert elsewhere["Location"] == "/", "never a redirect off the site"


def test_the_live_incident_list_never_shows_a_released_inject(drill, django_capture_on_commit_callbacks):
    inject = services.create_inject(actor=drill["people"]["controller"], exercise=drill["exercise"], kind="incident",
                                    title="Hospitals", organisation=drill["orgs"]["de-csirt"],
                                    payload={**HOSPITALS, "title": "DRILL hospitals"})
    with django_capture_on_commit_callbacks(execute=True):
        services.release_inject(actor=drill["people"]["controller"], inject=inject)
    analyst = verified_client(drill["people"]["de_analyst"])
    assert "DRILL hospitals" not in analyst.get("/incidents/").content.decode()
    assert "DRILL hospitals" not in analyst.get("/incidents/board/").content.decode()
    assert "DRILL hospitals" not in analyst.get("/api/v1/incidents/").content.decode()
    in_drill = analyst.get("/api/v1/incidents/", HTTP_X_EXERCISE=str(drill["exercise"].pk)).content.decode()
    assert "DRILL hospitals" in in_drill


@pytest.mark.parametrize("who", ["de_analyst", "enisa_crisis", "provider"])
def test_whoever_does_not_control_the_exercise_gets_404_on_every_scenario_page(drill, who):
    inject = services.create_inject(actor=drill["people"]["controller"], exercise=drill["exercise"], kind="incident",
                                    title="Hospitals", organisation=drill["orgs"]["de-csirt"], payload=HOSPITALS)
    client = verified_client(drill["people"][who])
    for suffix in ("", "new/", f"{inject.pk}/edit/"):
        assert client.get(_url(drill, suffix)).status_code == 404, suffix
    for suffix in (f"{inject.pk}/release/", f"{inject.pk}/delete/", "new/"):
        assert client.post(_url(drill, suffix)).status_code == 404, suffix
    assert f'href="{_url(drill)}"' not in client.get("/exercises/").content.decode()
    assert Inject.objects.get().status == "pending"


def test_a_controller_edits_and_deletes_a_pending_inject(drill):
    client = verified_client(drill["people"]["controller"])
    inject = services.create_inject(actor=drill["people"]["controller"], exercise=drill["exercise"], kind="incident",
                                    title="Hospitals", organisation=drill["orgs"]["de-csirt"], payload=HOSPITALS)
    assert "Hospitals" in client.get(_url(drill, f"{inject.pk}/edit/")).content.decode()
    saved = client.post(_url(drill, f"{inject.pk}/edit/"), {
        "kind": "incident", "title": "Clinics", "organisation": drill["orgs"]["fr-csirt"].pk, "offset": "01:30",
        "payload": json.dumps(HOSPITALS)})
    assert saved.status_code == 302
    inject.refresh_from_db()
    assert (inject.title, inject.organisation.code, inject.offset) == ("Clinics", "fr-csirt", timedelta(hours=1, minutes=30))
    late = client.post(_url(drill, f"{inject.pk}/edit/"), {
        "kind": "incident", "title": "Clinics", "organisation": drill["orgs"]["fr-csirt"].pk, "offset": "30:00",
        "payload": json.dumps(HOSPITALS)})
    assert late.status_code == 400 and "after the exercise ends" in late.content.decode()
    assert client.post(_url(drill, f"{inject.pk}/delete/")).status_code == 302
    assert not Inject.objects.exists()


def test_on_a_compressed_clock_an_inject_falls_due_at_its_exercise_time_not_its_real_offset(
        scheduled, freezer, django_capture_on_commit_callbacks):
    """×6: the incident inject at 02:00 of exercise time goes out 20 real minutes after the start."""
    s = scheduled
    liaison_services.update_exercise(actor=s["people"]["enisa_crisis"], exercise=s["exercise"], name=s["exercise"].name,
                                     kind=s["exercise"].kind, starts_at=s["start"], ends_at=s["start"] + timedelta(hours=8),
                                     participants=s["exercise"].participants.all(),
                                     controllers=s["exercise"].controllers.all(), time_scale=6)
    freezer.move_to(s["start"] + timedelta(minutes=19))
    assert run_sweep()["scenario_injects"] == 0

    freezer.move_to(s["start"] + timedelta(minutes=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert run_sweep()["scenario_injects"] == 1
    assert _states(s) == ["released", "pending"], "the escalation at 02:30 is due at 25 real minutes"
    freezer.move_to(s["start"] + timedelta(minutes=25))
    with django_capture_on_commit_callbacks(execute=True):
        assert run_sweep()["scenario_injects"] == 1
    assert _states(s) == ["released", "released"]
