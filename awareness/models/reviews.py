"""Tables of the reviews product: ENISA's incident review (CSoA Art. 21).

A review is requested by the Commission or EU-CyCLONe on a significant or large-scale
incident; each member state concerned agrees or refuses; ENISA drafts the report in
sections (causes, response, lessons), some confidential to the state they come from; the
states that agreed comment; ENISA delivers it to the requester. Its clocks are rows
(``ReviewClock``) the sweep reminds and alarms once.
"""

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from liaison.exercises import exercise_key

__all__ = ["IncidentReview", "ReviewAgreement", "ReviewSection", "ReviewComment", "ReviewClock"]


class IncidentReview(models.Model):
    class State(models.TextChoices):
        AGREEMENT = "agreement", "Waiting for the states' agreement"
        DRAFTING = "drafting", "ENISA drafting"
        COMMENTS = "comments", "Draft with the states for comments"
        DELIVERED = "delivered", "Delivered"
        DECLINED = "declined", "Not agreed by any state concerned"

    class Body(models.TextChoices):
        COMMISSION = "commission", "the European Commission"
        EU_CYCLONE = "eu_cyclone", "EU-CyCLONe"

    incident = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requester_organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="+")
    requester_body = models.CharField(max_length=16, choices=Body.choices)
    reason = models.TextField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.AGREEMENT)
    created_at = models.DateTimeField(default=now)
    drafting_started_at = models.DateTimeField(null=True, blank=True)
    circulated_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")

    # The exercise it belongs to (null: live work): liaison.exercises.in_current filters every read on it.
    exercise = exercise_key()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["incident"], condition=models.Q(state__in=["agreement", "drafting",
                                                                                       "comments"]),
                                    name="one_open_review_per_incident"),
        ]

    def __str__(self):
        return self.reference

    @property
    def reference(self) -> str:
        return f"REV-{self.created_at:%Y}-{self.pk:05d}" if self.pk else "REV-new"

    @property
    def is_open(self) -> bool:
        return self.state in (self.State.AGREEMENT, self.State.DRAFTING, self.State.COMMENTS)


class ReviewAgreement(models.Model):
    """One member state concerned and its answer: the review needs its agreement (CSoA Art. 21)."""

    class Answer(models.TextChoices):
        PENDING = "pending", "No answer yet"
        AGREED = "agreed", "Agreed"
        REFUSED = "refused", "Refused"
        LAPSED = "lapsed", "No answer before the deadline"

    review = models.ForeignKey(IncidentReview, on_delete=models.CASCADE, related_name="agreements")
    member_state = models.ForeignKey("liaison.MemberState", on_delete=models.PROTECT, related_name="+")
    answer = models.CharField(max_length=16, choices=Answer.choices, default=Answer.PENDING)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    organisation = models.ForeignKey("liaison.Organisation", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["review", "member_state__code"]
        constraints = [models.UniqueConstraint(fields=["review", "member_state"], name="one_answer_per_state")]


class ReviewSection(models.Model):
    """A part of the report; a confidential one is read only by its source state and ENISA."""

    class Kind(models.TextChoices):
        CAUSES = "causes", "Causes"
        RESPONSE = "response", "Response"
        LESSONS = "lessons", "Lessons learned"

    review = models.ForeignKey(IncidentReview, on_delete=models.CASCADE, related_name="sections")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField()
    confidential = models.BooleanField(default=False)
    source_state = models.ForeignKey("liaison.MemberState", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["review", "kind", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(confidential=False) | models.Q(source_state__isnull=False),
                                   name="confidential_section_has_source"),
        ]


class ReviewComment(models.Model):
    """A state's comment on the draft (the report carries the affected states' comments)."""

    review = models.ForeignKey(IncidentReview, on_delete=models.CASCADE, related_name="comments")
    member_state = models.ForeignKey("liaison.MemberState", on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["review", "created_at", "id"]


class ReviewClock(models.Model):
    """A deadline of the review, reminded once and alarmed once by the sweep."""

    class Clock(models.TextChoices):
        AGREEMENT = "agreement", "States' agreement"
        DRAFTING = "drafting", "ENISA's draft"
        COMMENTS = "comments", "States' comments"

    review = models.ForeignKey(IncidentReview, on_delete=models.CASCADE, related_name="clocks")
    clock = models.CharField(max_length=16, choices=Clock.choices)
    due_at = models.DateTimeField()
    remind_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["review", "clock"], name="one_review_clock_each")]
        indexes = [models.Index(fields=["due_at"], name="review_clock_open_idx",
                                condition=models.Q(met_at__isnull=True))]
