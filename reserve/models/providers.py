"""The Reserve's providers: what ENISA registered about each one, and its committed capacity."""

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from reserve.vocabulary import CertificationStatus


class ProviderProfile(models.Model):
    """A trusted managed security service provider of the Reserve (CSoA Art. 17(2)).

    Registered and kept by ENISA; the provider's own staff read it but do not edit it.
    """

    organisation = models.OneToOneField(
        "liaison.Organisation", on_delete=models.PROTECT, related_name="reserve_profile",
        limit_choices_to={"kind": "reserve_provider"},
    )
    services = models.JSONField(default=list, help_text="Service codes offered (reserve.vocabulary.Service).")
    sectors = models.ManyToManyField("incidents.Sector", related_name="+", blank=True,
                                     help_text="NIS2 sectors of expertise.")
    languages = models.JSONField(default=list, help_text="Working languages, ISO 639-1 codes.")
    member_states = models.ManyToManyField("liaison.MemberState", related_name="+", blank=True,
                                           help_text="Member states it can deploy to (EU for the EUIBAs).")
    certification_status = models.CharField(max_length=16, choices=CertificationStatus.choices,
                                            default=CertificationStatus.PENDING)
    certified_from = models.DateField(null=True, blank=True)
    certified_until = models.DateField(null=True, blank=True)
    security_clearances = models.JSONField(default=list, blank=True,
                                           help_text="Security clearances held by deployable staff (Art. 17(2)).")
    conflicts_of_interest = models.JSONField(default=list, blank=True,
                                             help_text="Entities or organisation codes it declared a conflict with.")
    response_hours = models.PositiveSmallIntegerField(help_text="Committed time to accept or decline an engagement.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["organisation__code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(certified_until__isnull=True) | models.Q(certified_from__isnull=True)
                | models.Q(certified_until__gte=models.F("certified_from")),
                name="provider_certification_dates_in_order",
            ),
            models.CheckConstraint(condition=models.Q(response_hours__gte=1), name="provider_response_hours_positive"),
        ]

    def __str__(self):
        return f"Reserve profile of {self.organisation.name}"


class ProviderCapacity(models.Model):
    """Person-days the provider committed for one period (a quarter, a contract year…).

    What is booked is computed from the engagements whose window starts in the period.
    """

    provider = models.ForeignKey(ProviderProfile, on_delete=models.CASCADE, related_name="capacities")
    period_start = models.DateField()
    period_end = models.DateField()
    person_days = models.PositiveIntegerField()

    class Meta:
        ordering = ["provider", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "period_start"], name="unique_provider_capacity_period"),
            models.CheckConstraint(condition=models.Q(period_end__gte=models.F("period_start")),
                                   name="provider_capacity_period_in_order"),
        ]

    def __str__(self):
        return f"{self.person_days} person-days {self.period_start}–{self.period_end}"
