"""Tables of the warnings product: a synchronised public warning, its cited facts, one row per concerned state.

A ``PublicWarning`` is drafted once about a cross-border incident, circulated to the
authorities of the incident's affected member states (one ``WarningParticipation`` each),
scheduled for an embargo time and released for every state that agreed at once. What it
quotes from the incident is held as ``WarningFact`` rows: a reference and a snapshot of the
TLP:CLEAR text at the time it was cited (docs/public-warnings.md).
"""

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from liaison.exercises import exercise_key

__all__ = ["PublicWarning", "WarningFact", "WarningParticipation"]


class PublicWarning(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        CIRCULATED = "circulated", "Circulated for agreement"
        SCHEDULED = "scheduled", "Scheduled for release"
        RELEASED = "released", "Released"
        WITHDRAWN = "withdrawn", "Withdrawn"

    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="public_warnings")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    recommendations = models.TextField(blank=True)
    language = models.CharField(max_length=8, default="en", help_text="The language of the common text.")
    drafter_organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="+")
    drafted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    # Bumped by every revision: an answer is to one revision (revising resets the answers).
    revision = models.PositiveIntegerField(default=1)
    response_deadline = models.DateTimeField(null=True, blank=True)
    circulated_at = models.DateTimeField(null=True, blank=True)
    publish_at = models.DateTimeField(null=True, blank=True, help_text="The embargo: released together at this time.")
    scheduled_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Why the sweep could not release it at publish_at (a cited fact no longer TLP:CLEAR); blank when none.
    release_problem = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    # The exercise it belongs to (null: live work): liaison.exercises.in_current filters every read on it.
    exercise = exercise_key()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "publish_at"], name="warning_due_idx")]

    def __str__(self):
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"PW-{self.created_at:%Y}-{self.pk:05d}" if self.pk else "PW-new"


class WarningFact(models.Model):
    """A fact of the incident cited by the warning: its key (``observable:12``) and the CLEAR text as cited."""

    warning = models.ForeignKey(PublicWarning, on_delete=models.CASCADE, related_name="facts")
    key = models.CharField(max_length=80)
    kind = models.CharField(max_length=32)
    label = models.CharField(max_length=200)
    text = models.TextField()
    cited_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["warning", "key"], name="unique_warning_fact")]


class WarningParticipation(models.Model):
    """One concerned member state: its authorities' answer, own-language version, release and publication."""

    class Response(models.TextChoices):
        PENDING = "pending", "No answer yet"
        AGREED = "agreed", "Agreed"
        CHANGES_PROPOSED = "changes_proposed", "Proposed changes"
        DECLINED = "declined", "Declined to take part"

    warning = models.ForeignKey(PublicWarning, on_delete=models.CASCADE, related_name="participations")
    member_state = models.ForeignKey("liaison.MemberState", on_delete=models.PROTECT, related_name="+")
    response = models.CharField(max_length=20, choices=Response.choices, default=Response.PENDING)
    proposed_text = models.TextField(blank=True)
    comment = models.TextField(blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    responding_organisation = models.ForeignKey("liaison.Organisation", null=True, blank=True,
                                                on_delete=models.PROTECT, related_name="+")
    # The state's own-language version, written by its authority (blank: the common text).
    own_language = models.CharField(max_length=8, blank=True)
    own_title = models.CharField(max_length=200, blank=True)
    own_text = models.TextField(blank=True)
    # What was released for this state, frozen at release.
    released_at = models.DateTimeField(null=True, blank=True)
    released_language = models.CharField(max_length=8, blank=True)
    released_title = models.CharField(max_length=200, blank=True)
    released_text = models.TextField(blank=True)
    # When it was published: the portal's public feeds carry it from release (docs/public-warnings.md).
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["member_state__code"]
        constraints = [models.UniqueConstraint(fields=["warning", "member_state"], name="unique_warning_state")]
        indexes = [models.Index(fields=["released_at"], name="warning_released_idx",
                                condition=models.Q(released_at__isnull=False))]
