"""The API marks each object of work with its exercise, at a constant cost, and lists the caller's exercises."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import services as incident_services
from liaison import services as liaison_services
from liaison.events import Audience, record_event
from liaison.exercises import using_exercise
from reserve.workflow import RequestStatus
from tests import factories
from tests.conftest import verified_client
from tests.exercises.support import EXERCISE_NAME, build_world
from tests.reserve.conftest import reserve  # noqa: F401  (the fixture)
from tests.reserve.factories import request_in

pytestmark = pytest.mark.django_db

# Each root object's list and detail over the API, and who reads them in the world.
ROOTS = [
    ("incident", "/api/v1/incidents/", "de_analyst"),
    ("request", "/api/v1/assistance-requests/", "de_analyst"),
    ("report", "/api/v1/sitreps/", "de_analyst"),
    ("warning", "/api/v1/warnings/", "de_analyst"),
    ("review", "/api/v1/reviews/", "ec_decision"),
    ("lesson", "/api/v1/lessons/", "de_analyst"),
]


@pytest.fixture
def world(reserve, settings, tmp_path, django_capture_on_commit_callbacks):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path
    return build_world(reserve, django_capture_on_commit_callbacks)


def _client(user, exercise=None) -> Client:
    client = verified_client(user)
    if exercise is not None:
        client.defaults["HTTP_X_EXERCISE"] = str(exercise.pk)
    return client


def _get(client, url, **query) -> dict:
    response = client.get(url, query)
    assert response.status_code == 200, (url, response.content[:300])
    return response.json()


def test_every_api_answer_about_an_object_of_work_names_its_exercise_or_null_for_live_work(world):
    exercise = world["exercise"]
    marked = {"id": exercise.pk, "name": EXERCISE_NAME}
    for kind, collection, reader in ROOTS:
        user = world["people"][reader]
        for side, context, expected in (("live", None, None), ("drill", exercise, marked)):
            client = _client(user, context)
            rows = _get(client, collection)["results"]
            assert rows, (collection, side)
            assert [row["exercise"] for row in rows] == [expected] * len(rows), (collection, side)
            detail = _get(client, f"{collection}{world[side][kind].pk}/")
            assert detail["exercise"] == expected, (collection, side)
    for side, context, expected in (("live", None, None), ("drill", exercise, marked)):
        events = _get(_client(world["people"]["de_analyst"], context), "/api/v1/events/", limit=1000)["results"]
        assert events and all(event["exercise"] == expected for event in events), side


def test_the_triage_queue_marks_the_exercise_requests_it_lists(world):
    exercise = world["exercise"]
    with using_exercise(exercise):
        waiting = request_in(RequestStatus.SUBMITTED, {**world, "incident": world["drill"]["incident"]})
    queue = _get(_client(world["people"]["enisa_triage"], exercise), "/api/v1/reserve-triage-queue/")
    assert [(row["id"], row["exercise"]) for row in queue["results"]] == [
        (waiting.pk, {"id": exercise.pk, "name": EXERCISE_NAME})]


@pytest.fixture
def drill(network):
    """An exercise de-csirt takes part in, run by ENISA."""
    enisa_crisis = factories.person("crisis@enisa.example", network["orgs"]["enisa"], ["crisis_manager"])
    now = timezone.now()
    exercise = liaison_services.create_exercise(
        actor=enisa_crisis, organisation=network["orgs"]["enisa"], name="Blue OLEx 2026", kind="blue_olex",
        starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1), participants=[network["orgs"]["de-csirt"]])
    return {**network, "exercise": exercise, "enisa_crisis": enisa_crisis}


def _report(network, n: int) -> None:
    for number in range(n):
        incident_services.report_incident(
            actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
            title=f"Drill incident {number}", aware_at=timezone.now() - timedelta(hours=1), tlp="amber")
        record_event(kind="test.happened", subject_type="test", subject_id=str(number), payload={},
                     audience=Audience(organisations=[network["orgs"]["de-csirt"]]))


def _queries(client, url, **query) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as captured:
        body = _get(client, url, **query)
    return len(captured), body


@pytest.mark.parametrize("url", ["/api/v1/incidents/", "/api/v1/events/"])
def test_an_exercise_list_costs_the_same_queries_for_one_object_as_for_many(drill, url):
    client = _client(drill["people"]["de_analyst"], drill["exercise"])
    with using_exercise(drill["exercise"]):
        _report(drill, 1)
    few, first = _queries(client, url)
    with using_exercise(drill["exercise"]):
        _report(drill, 5)
    many, second = _queries(client, url)
    assert len(second["results"]) > len(first["results"]) >= 1
    assert all(row["exercise"]["name"] == "Blue OLEx 2026" for row in second["results"])
    assert many == few


def test_exercises_api_lists_the_exercises_the_tokens_organisation_takes_part_in(drill, token_for):
    exercise = drill["exercise"]
    de = Client(headers={"Authorization": f"Bearer {token_for(drill['orgs']['de-csirt'], 'read')}"})
    pt = Client(headers={"Authorization": f"Bearer {token_for(drill['orgs']['pt-csirt'], 'read')}"})

    listed = _get(de, "/api/v1/exercises/")["results"]
    assert [(row["id"], row["name"], row["status"], row["organisation"]) for row in listed] == [
        (exercise.pk, "Blue OLEx 2026", "planned", "enisa")]
    assert listed[0]["time_scale"] == 1 and listed[0]["kind"] == "blue_olex"
    assert _get(pt, "/api/v1/exercises/")["results"] == []

    liaison_services.archive_exercise(actor=drill["enisa_crisis"], exercise=exercise)
    assert _get(de, "/api/v1/exercises/")["results"] == [], "an archived exercise is no longer worked in"


def test_exercises_api_needs_the_read_scope(drill, token_for):
    write_only = Client(headers={"Authorization": f"Bearer {token_for(drill['orgs']['de-csirt'], 'write')}"})
    assert write_only.get("/api/v1/exercises/").status_code == 403


def test_the_schema_declares_the_exercise_key_as_a_nullable_reference(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert set(schema["ExerciseRef"]["properties"]) == {"id", "name"}
    for component in ("IncidentList", "IncidentDetail", "RequestList", "RequestDetail", "Event", "WarningRow",
                      "Warning", "SitrepRow"):
        field = schema[component]["properties"]["exercise"]
        assert field["nullable"] is True and field["allOf"][0]["$ref"].endswith("/ExerciseRef"), component
