"""Tables of the lessons product: proposals to change the Blueprint, and the version that answers them."""

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from liaison.exercises import exercise_key

__all__ = ["LessonProposal"]


class LessonProposal(models.Model):
    """A lesson from a source (a review, a Reserve summary report, a situation report) proposing a Blueprint change.

    ``change`` is the structured change where the target has one (``awareness.policy.lessons``
    validates it): ``{"level": 2, "field": "ack_minutes", "value": 60}`` for a level's
    deadlines, ``{"rule": "l2-…", "fact": "affected_member_states", "value": 3}`` for a
    threshold, ``{"rule": "l2-…", "conditions": [...]}`` for a rule's conditions; ``{}`` for a
    text-only proposal. ``answered_in`` is the Blueprint draft built from it.
    """

    class Target(models.TextChoices):
        LEVEL_DEADLINES = "level_deadlines", "A level's deadlines"
        RULE_THRESHOLD = "rule_threshold", "A threshold in a rule's conditions"
        RULE_CONDITIONS = "rule_conditions", "An escalation rule's conditions"
        OTHER = "other", "Another part of the Blueprint (text only)"

    class State(models.TextChoices):
        PROPOSED = "proposed", "Waiting for ENISA"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    source_kind = models.CharField(max_length=40)
    source_id = models.CharField(max_length=64)
    target = models.CharField(max_length=20, choices=Target.choices)
    change = models.JSONField(default=dict, blank=True)
    rationale = models.TextField()
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROPOSED)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    # Discarding a draft (incidents' delete_blueprint_drafts) puts its lessons back in the queue for the next one.
    answered_in = models.ForeignKey("incidents.Blueprint", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="answered_lessons")

    # The exercise it belongs to (null: live work): liaison.exercises.in_current filters every read on it.
    exercise = exercise_key()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["source_kind", "source_id"])]

    def __str__(self):
        return f"Lesson {self.pk} ({self.get_target_display()})"
