"""Requests for Reserve support and what the contracting authority does with them.

A request carries guardian object permissions to groups (requester, its SPOC, the
contracting authority, ENISA triage, the Commission, engaged providers); everything
hanging off it (information requests, assessments, the decision, the report) is
visible exactly when the request is, except where the selectors narrow it further.
"""

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from guardian.models import GroupObjectPermissionBase

from liaison.exercises import exercise_key

from incidents.vocabulary import EntityType
from reserve.vocabulary import (
    ClearanceLevel,
    DecisionOutcome,
    ImpactLevel,
    MeasuresLevel,
    Recommendation,
    SpillOverRisk,
    Urgency,
)
from reserve.workflow import RequestStatus


class AssistanceRequest(models.Model):
    """A request for support from the EU Cybersecurity Reserve (CSoA Art. 15)."""

    Status = RequestStatus

    requester_organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT,
                                               related_name="reserve_requests")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    spoc_organisation = models.ForeignKey(
        "liaison.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="routed_reserve_requests",
        help_text="The NIS2 single point of contact the request was routed through (Art. 15(3)).",
    )
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.DRAFT, db_index=True)

    # Art. 15(4)(a): the affected entity, the potential impacts, the planned use and the estimated needs.
    affected_entity = models.CharField(max_length=200, blank=True)
    entity_type = models.CharField(max_length=32, choices=EntityType.choices, blank=True)
    sector = models.ForeignKey("incidents.Sector", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    incidents = models.ManyToManyField("incidents.Incident", related_name="reserve_requests", blank=True)
    impact_description = models.TextField(blank=True)
    impact_level = models.CharField(max_length=16, choices=ImpactLevel.choices, blank=True)
    planned_use = models.TextField(blank=True)
    services = models.JSONField(default=list, blank=True)
    person_days = models.PositiveIntegerField(null=True, blank=True, help_text="Estimated effort, person-days.")
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    # Art. 15(4)(b) and 15(2): measures taken, and the requester's confirmation that they are all appropriate ones.
    mitigation_measures = models.TextField(blank=True)
    measures_level = models.CharField(max_length=16, choices=MeasuresLevel.choices, blank=True)
    measures_confirmed = models.BooleanField(default=False)
    # Art. 15(4)(c): other support available (incident-response contracts, insurance).
    other_support = models.TextField(blank=True)
    urgency = models.CharField(max_length=16, choices=Urgency.choices, blank=True)
    languages = models.JSONField(default=list, blank=True)
    spill_over_risk = models.CharField(max_length=16, choices=SpillOverRisk.choices, blank=True)
    security_clearance = models.CharField(
        max_length=16, choices=ClearanceLevel.choices, blank=True,
        help_text="Security clearance the deployed staff must hold (CSoA Art. 17(2)); empty when none is needed.")

    # The priority when last computed (submission, answer, assessment): the queue recomputes it live.
    priority_score = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    requester_submitted_at = models.DateTimeField(null=True, blank=True)
    # Reached the contracting authority: starts the 48-hour response clock.
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now, db_index=True)

    # The exercise it belongs to (null: live work): liaison.exercises.in_current filters every read on it.
    exercise = exercise_key()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["requester_organisation", "-id"]),
            models.Index(fields=["status", "-priority_score"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window_end__isnull=True) | models.Q(window_start__isnull=True)
                | models.Q(window_end__gte=models.F("window_start")),
                name="reserve_request_window_in_order",
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.affected_entity}".strip()

    @property
    def reference(self) -> str:
        return f"RSV-{self.created_at:%Y}-{self.pk:06d}" if self.pk else "RSV-new"


class AssistanceRequestGroupObjectPermission(GroupObjectPermissionBase):
    """guardian's direct foreign key: list filtering stays one EXISTS over an indexed table."""

    content_object = models.ForeignKey(AssistanceRequest, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["group", "permission", "content_object"])]


class InformationRequest(models.Model):
    """Triage asks the requester for more; the answer puts the request back in the queue."""

    request = models.ForeignKey(AssistanceRequest, on_delete=models.CASCADE, related_name="information_requests")
    question = models.TextField()
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    asked_at = models.DateTimeField(default=now)
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at", "id"]


class Assessment(models.Model):
    """ENISA triage's assessment: completeness, the priority seen then, and a recommendation with reasons."""

    request = models.ForeignKey(AssistanceRequest, on_delete=models.CASCADE, related_name="assessments")
    complete = models.BooleanField()
    missing = models.JSONField(default=list, blank=True, help_text="What triage found missing or unclear.")
    recommendation = models.CharField(max_length=8, choices=Recommendation.choices)
    reasons = models.TextField()
    priority_score = models.PositiveSmallIntegerField()
    priority_explanation = models.TextField()
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["assessed_at", "id"]


class Decision(models.Model):
    """The contracting authority's answer (Art. 15(5)); one per request, final."""

    request = models.OneToOneField(AssistanceRequest, on_delete=models.CASCADE, related_name="decision")
    outcome = models.CharField(max_length=8, choices=DecisionOutcome.choices)
    reasons = models.TextField()
    organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="+",
                                     help_text="The contracting authority that decided.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=now)


class AfterActionReport(models.Model):
    """The user's summary report after the support (CSoA Art. 16): for ENISA and the Commission."""

    request = models.OneToOneField(AssistanceRequest, on_delete=models.CASCADE, related_name="report")
    service_provided = models.TextField()
    results = models.TextField()
    lessons_learned = models.TextField()
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(default=now)
