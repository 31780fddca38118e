"""Running exercises and switching into them: who may, and the bad input that changes nothing."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Incident
from liaison import services
from liaison.exercises import SESSION_KEY, using_exercise
from liaison.models import Event, Exercise
from tests import factories
from tests.conftest import verified_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(network):
    network["people"]["enisa_crisis"] = factories.person("crisis@enisa.example", network["orgs"]["enisa"],
                                                         ["crisis_manager"])
    return network


def _plan(network, **changes):
    now = timezone.now()
    fields = dict(actor=network["people"]["enisa_crisis"], organisation=network["orgs"]["enisa"], name="Blue OLEx",
                  kind="blue_olex", starts_at=now, ends_at=now + timedelta(days=1),
                  participants=[network["orgs"]["de-csirt"]])
    fields.update(changes)
    return services.create_exercise(**fields)


def test_enisa_plans_an_exercise_which_its_own_organisation_takes_part_in(people):
    exercise = _plan(people)
    assert set(exercise.participants.values_list("code", flat=True)) == {"de-csirt", "enisa"}
    assert Event.objects.filter(kind="exercise.created", exercise__isnull=True).exists()


@pytest.mark.parametrize("changes, field", [
    (lambda n: {"ends_at": timezone.now() - timedelta(hours=1)}, "ends_at"),
    (lambda n: {"participants": [factories.organisation("gone", "national_csirt", "DE", "Gone")]}, None),
    (lambda n: {"controllers": [n["people"]["pt_analyst"]]}, "controllers"),
    (lambda n: {"blueprint_version": 999}, "blueprint_version"),
])
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(people, changes, field):
    values = changes(people)
    if field is None:  # an organisation that left the network
        values["participants"][0].is_active = False
        values["participants"][0].save()
        field = "participants"
    with pytest.raises(ValidationError) as refused:
        _plan(people, **values)
    assert field in refused.value.message_dict
    assert not Exercise.objects.exists()


def test_only_enisa_or_a_national_authority_runs_exercises(people):
    with pytest.raises(PermissionDenied):
        _plan(people, actor=people["people"]["de_analyst"], organisation=people["orgs"]["de-csirt"])


def test_switching_to_an_exercise_one_does_not_take_part_in_is_refused_like_one_that_does_not_exist(people):
    exercise = _plan(people)
    outsider = verified_client(people["people"]["pt_analyst"])
    refused = outsider.post("/exercises/switch/", {"exercise": exercise.pk})
    missing = outsider.post("/exercises/switch/", {"exercise": 987654})
    assert refused.status_code == missing.status_code == 403
    assert SESSION_KEY not in outsider.session
    member = verified_client(people["people"]["de_analyst"])
    assert member.post("/exercises/switch/", {"exercise": exercise.pk}).status_code == 302
    assert member.session[SESSION_KEY] == exercise.pk


def test_an_archived_exercise_drops_its_people_back_into_live_work_and_tells_them(people):
    exercise = _plan(people)
    member = verified_client(people["people"]["de_analyst"])
    member.post("/exercises/switch/", {"exercise": exercise.pk})
    services.archive_exercise(actor=people["people"]["enisa_crisis"], exercise=exercise)
    page = member.get("/")
    assert "back in live work" in page.content.decode() and "EXERCISE —" not in page.content.decode()
    assert SESSION_KEY not in member.session


def test_the_api_refuses_an_exercise_header_of_a_non_participant_and_a_malformed_one(people, token_for):
    from django.test import Client

    exercise = _plan(people)
    outsider = Client(headers={"Authorization": f"Bearer {token_for(people['orgs']['pt-csirt'], 'read')}",
                               "X-Exercise": str(exercise.pk)})
    answer = outsider.get("/api/v1/incidents/")
    assert answer.status_code == 403 and "do not take part" in answer.content.decode()
    bad = Client(headers={"X-Exercise": "drill"}).get("/api/v1/incidents/")
    assert bad.status_code == 400


def test_deleting_a_live_object_from_inside_an_exercise_is_a_404_and_changes_nothing(people, token_for):
    from django.test import Client

    exercise = _plan(people)
    de = people["people"]["de_analyst"]
    incident = incident_services.report_incident(actor=de, organisation=people["orgs"]["de-csirt"], title="Live",
                                                 aware_at=timezone.now(), tlp="amber")
    task = incident_services.create_task(actor=de, incident=incident, title="Live task")
    client = Client(headers={"Authorization": f"Bearer {token_for(people['orgs']['de-csirt'])}",
                             "X-Exercise": str(exercise.pk)})
    assert client.delete(f"/api/v1/tasks/{task.pk}/").status_code == 404
    assert client.get(f"/api/v1/incidents/{incident.pk}/").status_code == 404
    assert incident.tasks.filter(pk=task.pk).exists()


def test_deleting_an_exercise_deletes_its_work_and_never_live_work(people):
    exercise = _plan(people)
    de = people["people"]["de_analyst"]
    live = incident_services.report_incident(actor=de, organisation=people["orgs"]["de-csirt"], title="Live",
                                             aware_at=timezone.now(), tlp="amber")
    with using_exercise(exercise):
        drill = incident_services.report_incident(actor=de, organisation=people["orgs"]["de-csirt"], title="Drill",
                                                  aware_at=timezone.now(), tlp="amber")
    assert drill.exercise_id == exercise.pk and live.exercise_id is None
    services.delete_exercise(actor=people["people"]["enisa_crisis"], exercise=exercise)
    assert list(Incident.objects.values_list("title", flat=True)) == ["Live"]
    assert not Event.objects.filter(subject_type="incident", subject_id=str(drill.pk)).exists()
    assert Event.objects.filter(subject_type="incident", subject_id=str(live.pk)).exists()
    from csoa_portal.models import AuditEntry
    assert AuditEntry.objects.filter(action="exercise.deleted").exists()
    assert AuditEntry.objects.filter(object_id=str(drill.pk), action__startswith="incident.").exists()


def test_the_top_bar_offers_the_switch_only_to_participants_and_the_network_page_to_those_who_run_exercises(people):
    _plan(people)
    participant = verified_client(people["people"]["de_analyst"]).get("/").content.decode()
    outsider = verified_client(people["people"]["pt_analyst"]).get("/").content.decode()
    runner = verified_client(people["people"]["enisa_crisis"]).get("/network/").content.decode()

    assert 'id="exercise-switch"' in participant and ">Exercise: Blue OLEx<" in participant
    assert 'href="/exercises/"' in participant
    assert 'id="exercise-switch"' not in outsider and 'href="/exercises/"' not in outsider
    assert 'href="/exercises/"' in runner


def test_an_exercise_on_a_draft_blueprint_escalates_by_the_draft_and_live_work_by_the_active_version(
        people, django_capture_on_commit_callbacks):
    """The draft under test has no "national capacity exceeded → level 2" rule: only the exercise follows it."""
    from incidents.selectors import active_blueprint

    active = active_blueprint()
    draft = incident_services.draft_blueprint(actor=people["people"]["enisa_admin"], based_on=active, title="Under test")
    draft.rules.filter(code="l2-capacity-exceeded").delete()
    exercise = _plan(people, blueprint_version=draft.version)
    de, de_org = people["people"]["de_analyst"], people["orgs"]["de-csirt"]

    def report(title):
        with django_capture_on_commit_callbacks(execute=True):
            return incident_services.report_incident(actor=de, organisation=de_org, title=title, tlp="amber",
                                                     aware_at=timezone.now(), national_capacity_exceeded=True)

    live = report("Live")
    with using_exercise(exercise):
        drill = report("Drill")
        assert active_blueprint().version == draft.version
    assert active_blueprint().version == active.version, "live work stays on the active version"
    assert Incident.objects.get(pk=live.pk).crisis_level == 2
    assert Incident.objects.get(pk=drill.pk).crisis_level < 2
    assert not draft.is_active
