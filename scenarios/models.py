"""An exercise's scenario: its injects, each delivered through the real services when released."""

from django.conf import settings
from django.db import models
from django.utils.timezone import now


class Inject(models.Model):
    """One event of the scenario, played by a participating organisation (docs/exercises.md, "Scenario and injects").

    ``offset`` is exercise time after the start (``scenarios.timing.due_at``); empty: released by
    hand. Once released it keeps what it created (the incident, the request, the timeline entry,
    the declined engagement) and when, so an evaluation can measure the responses to it.
    """

    class Kind(models.TextChoices):
        INCIDENT = "incident", "New incident reported"
        SEVERITY = "severity", "Severity change"
        PRESS = "press", "Press article"
        RESERVE_REQUEST = "reserve_request", "Reserve request"
        PROVIDER_DECLINES = "provider_declines", "Provider declines a Reserve engagement"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RELEASED = "released", "Released"
        FAILED = "failed", "Failed"

    # Required: an inject has no live twin. Deleting the exercise deletes its scenario.
    exercise = models.ForeignKey("liaison.Exercise", on_delete=models.CASCADE, related_name="injects")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    title = models.CharField(max_length=200, help_text="What the controllers call it on the scenario.")
    organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="+",
                                     help_text="The participating organisation that plays it (reports, requests, "
                                               "declines).")
    offset = models.DurationField(null=True, blank=True,
                                  help_text="Exercise time after the start; empty: released by hand.")
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    # The release (evaluation measures from released_at): who (empty: the schedule), and what it made.
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    timeline_entry = models.ForeignKey("incidents.TimelineEntry", on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="+")
    assistance_request = models.ForeignKey("reserve.AssistanceRequest", on_delete=models.SET_NULL, null=True,
                                           blank=True, related_name="+")
    engagement = models.ForeignKey("reserve.Engagement", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    failed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = [models.F("offset").asc(nulls_last=True), "id"]
        indexes = [models.Index(fields=["status", "exercise"], name="inject_status_exercise")]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.title}"
