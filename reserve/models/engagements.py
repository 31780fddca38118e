"""Engagements of providers on approved requests, the work they log, the updates both sides post.

An engagement is visible to its provider and to those who may see the request apart
from providers: a provider never sees another provider's engagement (reserve.selectors).
"""

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from reserve.vocabulary import Clock
from reserve.workflow import EngagementStatus


class Engagement(models.Model):
    """A provider engaged on a request: offered, then accepted (deployed) or declined/expired."""

    Status = EngagementStatus

    request = models.ForeignKey("reserve.AssistanceRequest", on_delete=models.CASCADE, related_name="engagements")
    provider = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="reserve_engagements")
    status = models.CharField(max_length=16, choices=EngagementStatus.choices, default=EngagementStatus.OFFERED,
                              db_index=True)
    services = models.JSONField(default=list)
    person_days = models.PositiveIntegerField(help_text="Capacity booked for this engagement.")
    window_start = models.DateField()
    window_end = models.DateField()
    rank = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Its place in the ranking when engaged.")
    reasons = models.JSONField(default=list, blank=True, help_text="Why it ranked there (reserve.matching).")
    offered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="Empty when the portal proposed the next provider.")
    offered_at = models.DateTimeField(default=now)
    respond_by = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    decline_reason = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # CSoA Art. 16: the support is given under a specific agreement between the provider and the user, on
    # ENISA's template, with its liability conditions. Both confirm it after acceptance; no work before that.
    agreement_template = models.CharField(max_length=100, blank=True,
                                          help_text="Reference of ENISA's specific-agreement template used.")
    agreement_date = models.DateField(null=True, blank=True, help_text="The date of the specific agreement.")
    provider_agreed_at = models.DateTimeField(null=True, blank=True)
    provider_agreed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                           related_name="+")
    user_agreed_at = models.DateTimeField(null=True, blank=True)
    user_agreed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")

    class Meta:
        ordering = ["offered_at", "id"]
        constraints = [
            # A provider is engaged at most once per request: declined or timed out, it is not asked again.
            models.UniqueConstraint(fields=["request", "provider"], name="unique_engagement_per_provider"),
            models.CheckConstraint(condition=models.Q(window_end__gte=models.F("window_start")),
                                   name="engagement_window_in_order"),
        ]
        indexes = [models.Index(fields=["provider", "status", "window_start"])]

    def __str__(self):
        return f"{self.provider.name} on request {self.request.reference}"

    @property
    def agreement_in_force(self) -> bool:
        """Both the provider and the user confirmed the specific agreement (CSoA Art. 16): work may start."""
        return self.provider_agreed_at is not None and self.user_agreed_at is not None


class WorkLog(models.Model):
    """Days a provider worked on an engagement; never more in total than the booked person-days."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="work_logs")
    day = models.DateField()
    person_days = models.DecimalField(max_digits=6, decimal_places=1)
    activity = models.TextField()
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    logged_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["day", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(person_days__gt=0), name="work_log_positive_days")]


class DeploymentUpdate(models.Model):
    """An update on a deployment, by the requester or the provider; append-only."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["created_at", "id"]


class ReserveDeadline(models.Model):
    """A Reserve clock as a row: the sweep claims due rows (FOR UPDATE SKIP LOCKED) and fires each once.

    ``remind_at`` is when the reminder goes out; ``overdue_fired_at`` when the alarm (or, for a
    provider's answer, the time-out) was handled. ``met_at`` stops the clock.
    """

    request = models.ForeignKey("reserve.AssistanceRequest", on_delete=models.CASCADE, related_name="deadlines")
    engagement = models.ForeignKey(Engagement, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="deadlines")
    clock = models.CharField(max_length=32, choices=Clock.choices)
    due_at = models.DateTimeField()
    remind_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "clock"], condition=models.Q(engagement__isnull=True),
                                    name="unique_reserve_request_clock"),
            models.UniqueConstraint(fields=["engagement", "clock"], condition=models.Q(engagement__isnull=False),
                                    name="unique_reserve_engagement_clock"),
        ]
        indexes = [
            models.Index(fields=["due_at"], name="reserve_deadline_open_idx", condition=models.Q(met_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.clock} due {self.due_at:%Y-%m-%d %H:%M} (request {self.request_id})"
