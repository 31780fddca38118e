"""Tasks on an incident: who in an organisation does what by when.

A task belongs to one organisation and is seen only by its members (``selectors.tasks_visible_to``):
another organisation that sees the same incident never learns it exists.
"""

from django.conf import settings
from django.db import models
from django.utils.timezone import now


class Task(models.Model):
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="tasks")
    organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", help_text="A member of the organisation; empty: anyone of it.")
    due_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["done_at", "due_at", "id"]
        indexes = [models.Index(fields=["organisation", "done_at"]), models.Index(fields=["incident", "organisation"])]

    def __str__(self):
        return self.title

    @property
    def done(self) -> bool:
        return self.done_at is not None
