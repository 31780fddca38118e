"""Tasks on an incident: who in an organisation does what by when; each write audited with its Event.

A task is its organisation's alone: members of that organisation create, assign, complete and
delete it, and its events go to that organisation only. Another organisation that sees the same
incident is never told (``selectors.tasks_visible_to``).
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from csoa_portal import audit
from incidents.models import Incident, Task
from incidents.policy import may_add_task, may_manage_task
from incidents.services.common import _check_membership
from liaison.events import Audience, record_event
from liaison.models import Organisation, User
from liaison.policy import acting_memberships

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
_UNSET = object()


def _snapshot(task: Task) -> dict:
    return audit.to_jsonable({
        "id": task.pk, "incident": task.incident_id, "organisation": task.organisation.code, "title": task.title,
        "description": task.description, "assignee": task.assignee.email if task.assignee_id else None,
        "due_at": task.due_at, "done_at": task.done_at,
    })


def _event(kind: str, task: Task, *, actor, incident: Incident, task_id: int | None = None) -> None:
    """Told to the owning organisation only; about the incident, so it follows the incident's visibility too."""
    record_event(
        kind=kind, subject=incident, actor=actor,
        payload={"reference": incident.reference, "task_id": task_id or task.pk, "task": task.title,
                 "assignee": task.assignee.email if task.assignee_id else None,
                 "due_at": task.due_at.isoformat() if task.due_at else None, "done": task.done_at is not None},
        audience=Audience(organisations=[task.organisation]),
    )


def _clean_title(title) -> str:
    title = (title or "").strip() if isinstance(title, str) else ""
    if not title:
        raise ValidationError({"title": "Give the task a title: what is to be done."})
    if len(title) > MAX_TITLE:
        raise ValidationError({"title": f"At most {MAX_TITLE} characters."})
    return title


def _clean_description(description) -> str:
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise ValidationError({"description": f"Text of at most {MAX_DESCRIPTION} characters."})
    return description.strip()


def _clean_due(due_at):
    if due_at is not None and (not isinstance(due_at, datetime) or timezone.is_naive(due_at)):
        raise ValidationError({"due_at": "Give a date and time with its zone, e.g. 2026-11-23T18:00:00Z."})
    return due_at


def _check_assignee(organisation: Organisation, assignee: User | None) -> None:
    if assignee is None:
        return
    if assignee.is_service_account or not assignee.is_active or not organisation.memberships.filter(
            user=assignee).exists():
        raise ValidationError({"assignee": f"Assign the task to a member of {organisation.name}."})


@transaction.atomic
def create_task(*, actor: User, incident: Incident, title: str, organisation: Organisation | None = None,
                description: str = "", assignee: User | None = None, due_at=None) -> Task:
    """A task of the actor's organisation (``organisation``, or their first) on an incident they see."""
    if not may_add_task(actor, incident):
        raise PermissionDenied("Only members of an organisation that sees the incident add tasks to it.")
    if organisation is None:
        membership = acting_memberships(actor).select_related("organisation").order_by("id").first()
        organisation = membership.organisation
    _check_membership(actor, organisation)
    task = Task(incident=incident, organisation=organisation, title=_clean_title(title),
                description=_clean_description(description or ""), assignee=assignee, due_at=_clean_due(due_at),
                created_by=actor)
    _check_assignee(organisation, assignee)
    task.save()
    audit.record(actor=actor, action="task.created", obj=task, organisation_code=organisation.code,
                 after=_snapshot(task))
    _event("task.created", task, actor=actor, incident=incident)
    return task


@transaction.atomic
def update_task(*, actor: User, task: Task, title=_UNSET, description=_UNSET, assignee=_UNSET, due_at=_UNSET,
                done=_UNSET) -> Task:
    """Change, assign, reschedule, complete (``done=True``) or reopen (``done=False``) a task of one's organisation."""
    task = Task.objects.select_for_update(of=("self",)).select_related("organisation", "incident", "assignee").get(
        pk=task.pk)
    if not may_manage_task(actor, task):
        raise PermissionDenied("Only the members of the organisation that owns the task change it.")
    before = _snapshot(task)
    if title is not _UNSET:
        task.title = _clean_title(title)
    if description is not _UNSET:
        task.description = _clean_description(description or "")
    if assignee is not _UNSET:
        _check_assignee(task.organisation, assignee)
        task.assignee = assignee
    if due_at is not _UNSET:
        task.due_at = _clean_due(due_at)
    if done is not _UNSET:
        if not isinstance(done, bool):
            raise ValidationError({"done": "Answer true (done) or false (open again)."})
        if done != (task.done_at is not None):
            task.done_at = timezone.now() if done else None
    after = _snapshot(task)
    if after == before:
        return task
    task.updated_at = timezone.now()
    task.save()
    audit.record(actor=actor, action="task.updated", obj=task, organisation_code=task.organisation.code,
                 before=before, after=after)
    kind = "task.done" if after["done_at"] and not before["done_at"] else "task.updated"
    _event(kind, task, actor=actor, incident=task.incident)
    return task


@transaction.atomic
def delete_task(*, actor: User, task: Task) -> None:
    """Remove a task of one's organisation (planned by mistake, no longer needed)."""
    task = Task.objects.select_for_update(of=("self",)).select_related("organisation", "incident", "assignee").get(
        pk=task.pk)
    if not may_manage_task(actor, task):
        raise PermissionDenied("Only the members of the organisation that owns the task delete it.")
    task_id = task.pk
    audit.record(actor=actor, action="task.deleted", obj=task, organisation_code=task.organisation.code,
                 before=_snapshot(task))
    task.delete()
    _event("task.deleted", task, actor=actor, incident=task.incident, task_id=task_id)
