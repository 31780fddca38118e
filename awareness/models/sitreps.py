"""Tables of the sitreps product: situation reports and the reminders of their clock.

A situation report is numbered per primary incident (1, 2, 3 …) and versioned: a correction is
a new row with the same number and the next version, pointing to the one it corrects. While a
draft or in review it reads the portal's facts live; publishing freezes them into ``snapshot``
(every item with its source), so a published report never changes (docs/situation-reports.md).
"""

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from liaison.exercises import exercise_key

from incidents.vocabulary import TLP

__all__ = ["SituationReport", "SitrepReminder"]


class SituationReport(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        REVIEW = "review", "In review"
        PUBLISHED = "published", "Published"

    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="situation_reports")
    related_incidents = models.ManyToManyField("incidents.Incident", related_name="+", blank=True,
                                               help_text="Incidents grouped with the primary one into one crisis.")
    number = models.PositiveIntegerField()
    version = models.PositiveIntegerField(default=1)
    corrects = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    level = models.PositiveSmallIntegerField(help_text="The incident's crisis level when the report was drafted.")
    author_organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    superseded_at = models.DateTimeField(null=True, blank=True, help_text="When its correction was published.")
    tlp = models.CharField(max_length=16, choices=TLP.choices)
    # Group names (org:…, ms:…, community:…, person:…) that receive the published report.
    audience = models.JSONField(default=list)
    title = models.CharField(max_length=200, blank=True)
    # Level 3: the ISAA political-level summary (what, where, impact, outlook, options).
    summary_what = models.TextField(blank=True)
    summary_where = models.TextField(blank=True)
    summary_impact = models.TextField(blank=True)
    summary_outlook = models.TextField(blank=True)
    summary_options = models.TextField(blank=True)
    assessment = models.TextField(blank=True)
    next_steps = models.TextField(blank=True)
    # The portal's facts and contributions, frozen on publishing: {"gathered_at", "sections": [...]}.
    snapshot = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    # The exercise it belongs to (null: live work): liaison.exercises.in_current filters every read on it.
    exercise = exercise_key()

    class Meta:
        ordering = ["-incident_id", "-number", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "number", "version"], name="unique_sitrep_version"),
        ]

    def __str__(self):
        return f"Situation report {self.number}.{self.version} on incident {self.incident_id}"

    @property
    def label(self) -> str:
        return f"Situation report {self.number}" + (f" (version {self.version})" if self.version > 1 else "")


class SitrepReminder(models.Model):
    """One "situation report due" reminder per incident and due time: the sweep fires each once."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["incident", "due_at"], name="unique_sitrep_reminder")]
