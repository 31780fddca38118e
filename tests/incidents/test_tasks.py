"""Tasks on an incident: who in my organisation does what by when, seen by my organisation only.

Another organisation that sees the same incident never learns a task exists: not on the page,
not in the API (404 like a missing one), not in the event feed. Each person's open tasks are on
their dashboard, overdue first.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from csoa_portal.models import AuditEntry
from incidents import services
from incidents.models import Task
from liaison.models import Event, EventAudience
from tests.factories import person


@pytest.fixture
def shared(incident, network):
    """The AMBER incident of de-csirt, shared with fr-csirt."""
    services.share_incident(actor=incident.reported_by, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    return incident


def _tool(network, token_for, org):
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(network['orgs'][org], 'read,write')}")


def _task(incident, network, who="de_analyst", **fields):
    fields.setdefault("title", "Call the DSO's CISO")
    return services.create_task(actor=network["people"][who], incident=incident, **fields)


def test_analyst_adds_a_task_on_the_incident_page_and_sees_it(shared, network, login):
    client = login(network["people"]["de_analyst"])
    due = timezone.localtime(timezone.now() + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(f"/incidents/{shared.pk}/tasks/", {
        "task-title": "Collect the firewall logs", "task-assignee": network["people"]["de_admin"].pk,
        "task-due_at": due})

    assert response.status_code == 302 and response["Location"].endswith("#tasks")
    task = Task.objects.get()
    assert (task.organisation.code, task.assignee, task.created_by) == (
        "de-csirt", network["people"]["de_admin"], network["people"]["de_analyst"])
    assert AuditEntry.objects.filter(action="task.created", object_id=str(task.pk)).exists()
    assert "Collect the firewall logs" in client.get(f"/incidents/{shared.pk}/").content.decode()


def test_a_task_without_a_title_is_refused_and_nothing_is_created(shared, network, login, token_for):
    page = login(network["people"]["de_analyst"]).post(f"/incidents/{shared.pk}/tasks/", {"task-title": "   "})
    api = _tool(network, token_for, "de-csirt").post(f"/api/v1/incidents/{shared.pk}/tasks/", {"description": "x"},
                                                     content_type="application/json")

    assert page.status_code == api.status_code == 400
    assert page.context["task_form"].errors["title"] == ["Give the task a title: what is to be done."]
    assert api.json()["error"]["fields"]["title"] == ["Give the task a title: what is to be done."]
    with pytest.raises(ValidationError) as refused:
        _task(shared, network, title=" \n ")
    assert refused.value.message_dict == {"title": ["Give the task a title: what is to be done."]}
    assert not Task.objects.exists()


def test_another_organisation_never_learns_a_task_exists(shared, network, login, token_for):
    task = _task(shared, network, title="Zeppelin: brief the minister")
    fr_page, fr_tool = login(network["people"]["fr_analyst"]), _tool(network, token_for, "fr-csirt")

    page = fr_page.get(f"/incidents/{shared.pk}/").content.decode()
    listed = fr_tool.get(f"/api/v1/incidents/{shared.pk}/tasks/")
    feed = fr_tool.get("/api/v1/events/", {"after": 0, "limit": 1000}).json()["results"]

    assert listed.status_code == 200 and listed.json()["results"] == []
    assert "Zeppelin" not in page and "Zeppelin" not in str(feed)
    for method in ("get", "patch", "delete"):
        seen = getattr(fr_tool, method)(f"/api/v1/tasks/{task.pk}/", {}, content_type="application/json")
        missing = getattr(fr_tool, method)("/api/v1/tasks/987654/", {}, content_type="application/json")
        assert seen.status_code == missing.status_code == 404, method
        assert seen.json()["error"]["message"] == missing.json()["error"]["message"]
    for url in (f"/incidents/{shared.pk}/tasks/{task.pk}/", f"/incidents/{shared.pk}/tasks/{task.pk}/done/"):
        assert fr_page.post(url).status_code == 404
    task.refresh_from_db()
    assert task.done_at is None and task.title == "Zeppelin: brief the minister"


def test_each_organisation_sees_only_its_own_tasks_on_a_shared_incident(shared, network, token_for):
    _task(shared, network, title="DE: contain")
    _task(shared, network, who="fr_analyst", title="FR: check our DSOs")

    de = _tool(network, token_for, "de-csirt").get(f"/api/v1/incidents/{shared.pk}/tasks/").json()["results"]
    fr = _tool(network, token_for, "fr-csirt").get(f"/api/v1/incidents/{shared.pk}/tasks/").json()["results"]

    assert [(t["title"], t["organisation"]) for t in de] == [("DE: contain", "de-csirt")]
    assert [(t["title"], t["organisation"]) for t in fr] == [("FR: check our DSOs", "fr-csirt")]


def test_task_events_reach_only_the_owner_organisation(shared, network):
    task = _task(shared, network)
    services.update_task(actor=network["people"]["de_admin"], task=task, done=True)

    events = Event.objects.filter(kind__startswith="task.", payload__task_id=task.pk).order_by("id")
    assert [e.kind for e in events] == ["task.created", "task.done"]
    audiences = set(EventAudience.objects.filter(event__in=events).values_list("group__name", flat=True))
    assert audiences == {"org:de-csirt"}


def test_assignee_must_be_a_member_of_the_owner_organisation(shared, network, token_for):
    tool = _tool(network, token_for, "de-csirt")
    url = f"/api/v1/incidents/{shared.pk}/tasks/"

    outsider = tool.post(url, {"title": "Sync", "assignee": "analyst@fr-csirt.example"}, content_type="application/json")
    nobody = tool.post(url, {"title": "Sync", "assignee": "nobody@nowhere.example"}, content_type="application/json")
    member = tool.post(url, {"title": "Sync", "assignee": "admin@de-csirt.example"}, content_type="application/json")

    assert outsider.status_code == nobody.status_code == 400
    # The same answer whether the address exists elsewhere or not.
    assert outsider.json()["error"]["fields"] == nobody.json()["error"]["fields"] == {
        "assignee": ["No member of de-csirt with this e-mail address."]}
    assert member.status_code == 201 and member.json()["assignee"] == "admin@de-csirt.example"
    assert Task.objects.count() == 1


def test_a_task_is_completed_reopened_rescheduled_and_deleted_over_the_api(shared, network, token_for):
    task = _task(shared, network)
    tool = _tool(network, token_for, "de-csirt")
    url = f"/api/v1/tasks/{task.pk}/"
    due = (timezone.now() - timedelta(hours=1)).isoformat()

    late = tool.patch(url, {"due_at": due}, content_type="application/json").json()
    done = tool.patch(url, {"done": True}, content_type="application/json").json()
    reopened = tool.patch(url, {"done": False}, content_type="application/json").json()
    empty = tool.patch(url, {}, content_type="application/json")
    deleted = tool.delete(url)

    assert late["overdue"] is True and done["done"] is True and done["done_at"] and done["overdue"] is False
    assert reopened["done"] is False and reopened["done_at"] is None
    assert empty.status_code == 400 and deleted.status_code == 204
    assert not Task.objects.exists()
    assert AuditEntry.objects.filter(action="task.deleted", object_id=str(task.pk)).get().before["title"] == \
        "Call the DSO's CISO"


def test_a_task_goes_with_the_incident_when_the_share_is_revoked(shared, network, token_for):
    task = _task(shared, network, who="fr_analyst")
    share = shared.shares.get()
    tool = _tool(network, token_for, "fr-csirt")
    assert tool.get(f"/api/v1/tasks/{task.pk}/").status_code == 200

    services.unshare_incident(actor=shared.reported_by, share=share)

    assert tool.get(f"/api/v1/tasks/{task.pk}/").status_code == 404


def test_dashboard_lists_your_open_tasks_with_due_times_overdue_first(shared, network, login):
    now = timezone.now()
    colleague = network["people"]["de_admin"]
    _task(shared, network, title="Tomorrow's", due_at=now + timedelta(days=1))
    _task(shared, network, title="Overdue", due_at=now - timedelta(hours=2))
    _task(shared, network, title="Someday")
    _task(shared, network, title="The colleague's", assignee=colleague, due_at=now - timedelta(hours=3))
    done = _task(shared, network, title="Finished", due_at=now - timedelta(hours=5))
    services.update_task(actor=colleague, task=done, done=True)
    _task(shared, network, who="fr_analyst", title="France's", due_at=now - timedelta(hours=4))

    response = login(network["people"]["de_analyst"]).get("/")

    panel = next(p for p in response.context["panels"] if p["name"] == "tasks")
    assert [t.title for t in panel["context"]["tasks"]] == ["Overdue", "Tomorrow's", "Someday"]
    assert "Your tasks" in response.content.decode()
    colleague_panel = next(p for p in login(colleague).get("/").context["panels"] if p["name"] == "tasks")
    assert [t.title for t in colleague_panel["context"]["tasks"]] == [
        "The colleague's", "Overdue", "Tomorrow's", "Someday"]


def test_a_person_without_tasks_or_incident_work_sees_no_task_panel(network, login):
    liaison = person("liaison2@de-authority.example", network["orgs"]["de-authority"], ["liaison_officer"])

    response = login(liaison).get("/")

    assert "tasks" not in [p["name"] for p in response.context["panels"]]


def test_editing_a_task_on_its_page(shared, network, login):
    task = _task(shared, network)
    client = login(network["people"]["de_admin"])
    url = f"/incidents/{shared.pk}/tasks/{task.pk}/"
    assert "Call the DSO&#x27;s CISO" in client.get(url).content.decode()

    blank = client.post(url, {"task-title": ""})
    saved = client.post(url, {"task-title": "Call the DSO's CEO", "task-assignee": network["people"]["de_admin"].pk})

    assert blank.status_code == 400 and saved.status_code == 302
    task.refresh_from_db()
    assert (task.title, task.assignee) == ("Call the DSO's CEO", network["people"]["de_admin"])
