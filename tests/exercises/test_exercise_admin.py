"""Exercises in the admin: read there, archived only through the service; work rows filterable by exercise."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from csoa_portal.models import AuditEntry
from liaison import services
from liaison.events import Audience, record_event
from liaison.exercises import using_exercise
from liaison.models import Event, Exercise, User
from reserve.workflow import RequestStatus
from tests.conftest import verified_client
from tests.reserve import factories as reserve_factories
from tests.reserve.conftest import reserve  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db


def _staff(user) -> User:
    User.objects.filter(pk=user.pk).update(is_staff=True)
    user.refresh_from_db()
    return user


@pytest.fixture
def drill(reserve):  # noqa: F811
    now = timezone.now()
    exercise = services.create_exercise(
        actor=reserve["people"]["enisa_admin"], organisation=reserve["orgs"]["enisa"], name="Cyber Europe 2026",
        kind="cyber_europe", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1),
        participants=[reserve["orgs"]["de-csirt"], reserve["orgs"]["de-spoc"]])
    return {**reserve, "exercise": exercise, "admin": verified_client(_staff(reserve["people"]["enisa_admin"]))}


def test_the_network_admin_reads_exercises_in_the_admin_but_cannot_add_change_or_delete_them(drill):
    client, exercise = drill["admin"], drill["exercise"]
    listed = client.get(reverse("admin:liaison_exercise_changelist"))
    assert listed.status_code == 200 and "Cyber Europe 2026" in listed.content.decode()
    assert client.get(reverse("admin:liaison_exercise_change", args=[exercise.pk])).status_code == 200
    assert client.get(reverse("admin:liaison_exercise_add")).status_code == 403
    assert client.post(reverse("admin:liaison_exercise_change", args=[exercise.pk]),
                       {"name": "Renamed"}).status_code == 403
    assert client.post(reverse("admin:liaison_exercise_delete", args=[exercise.pk]), {"post": "yes"}).status_code == 403
    exercise.refresh_from_db()
    assert exercise.name == "Cyber Europe 2026"


def test_archiving_in_the_admin_goes_through_the_service_with_its_audit_entry_and_event(drill):
    exercise = drill["exercise"]
    response = drill["admin"].post(reverse("admin:liaison_exercise_changelist"),
                                   {"action": "archive", "_selected_action": [exercise.pk]})
    assert response.status_code == 302
    exercise.refresh_from_db()
    assert exercise.status == Exercise.Status.ARCHIVED
    assert AuditEntry.objects.filter(action="exercise.archived", via="admin", object_id=str(exercise.pk)).exists()
    assert Event.objects.filter(kind="exercise.archived").exists()


def test_staff_who_may_not_manage_the_exercise_are_refused_in_the_admin_and_nothing_changes(drill):
    exercise = drill["exercise"]
    outsider = _staff(drill["people"]["de_admin"])
    User.objects.filter(pk=outsider.pk).update(is_superuser=True)  # sees the action; the service still refuses
    outsider.refresh_from_db()
    response = verified_client(outsider).post(reverse("admin:liaison_exercise_changelist"),
                                              {"action": "archive", "_selected_action": [exercise.pk]}, follow=True)
    assert "Not archived — Cyber Europe 2026" in response.content.decode()
    exercise.refresh_from_db()
    assert exercise.status == Exercise.Status.PLANNED
    assert not AuditEntry.objects.filter(action="exercise.archived").exists()


def test_the_event_and_reserve_changelists_filter_by_exercise_and_by_live_work(drill):
    exercise, client = drill["exercise"], drill["admin"]
    audience = Audience(organisations=[drill["orgs"]["de-csirt"]])
    live_event = record_event(kind="test.live", subject_type="test", subject_id="1", payload={}, audience=audience)
    live_request = reserve_factories.request_in(RequestStatus.SUBMITTED, drill)
    with using_exercise(exercise):
        drill_event = record_event(kind="test.drill", subject_type="test", subject_id="2", payload={},
                                   audience=audience)
        drill_incident = reserve_factories.incident(drill["people"]["de_analyst"], drill["orgs"]["de-csirt"])
        drill_request = reserve_factories.request_in(RequestStatus.DEPLOYED, {**drill, "incident": drill_incident})
    assert drill_request.exercise_id == exercise.pk and live_request.exercise_id is None

    def shown(changelist, **query) -> set[int]:
        response = client.get(reverse(f"admin:{changelist}"), query)
        assert response.status_code == 200, response.content[:300]
        return {row.pk for row in response.context["cl"].result_list}

    assert drill_event.pk in shown("liaison_event_changelist", exercise__id__exact=exercise.pk)
    assert live_event.pk not in shown("liaison_event_changelist", exercise__id__exact=exercise.pk)
    assert live_event.pk in shown("liaison_event_changelist", exercise__isnull="True")
    assert drill_event.pk not in shown("liaison_event_changelist", exercise__isnull="True")
    assert shown("reserve_assistancerequest_changelist", exercise__id__exact=exercise.pk) == {drill_request.pk}
    assert live_request.pk in shown("reserve_assistancerequest_changelist", exercise__isnull="True")
    assert drill_request.pk not in shown("reserve_assistancerequest_changelist", exercise__isnull="True")
    engagements = shown("reserve_engagement_changelist", request__exercise__id__exact=exercise.pk)
    assert engagements == set(drill_request.engagements.values_list("pk", flat=True)) and engagements
    page = client.get(reverse("admin:reserve_assistancerequest_changelist")).content.decode()
    assert "Cyber Europe 2026" in page  # the exercise column marks its rows
