"""Incidents and what hangs off them: reports, shares, timeline, observables.

Child rows carry no permissions of their own: they are visible exactly when their
incident is (DESIGN.md "Permissions").
"""

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from guardian.models import GroupObjectPermissionBase

from incidents.vocabulary import TLP, EntityType, Severity


class Sector(models.Model):
    """A NIS2 Annex I or II sector, or a sub-sector (``energy.electricity``)."""

    code = models.CharField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    annex = models.CharField(max_length=2, choices=[("I", "Annex I — high criticality"), ("II", "Annex II — other critical")])
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="subsectors")

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.name if self.parent_id is None else f"{self.parent.name} — {self.name}"

    @property
    def high_criticality(self) -> bool:
        return self.annex == "I"


class IncidentCategory(models.Model):
    """A class/type of the Reference Security Incident Taxonomy (``availability/ddos``)."""

    code = models.CharField(max_length=80, unique=True)
    klass = models.CharField("class", max_length=40)
    type = models.CharField(max_length=60)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "incident categories"

    def __str__(self):
        return self.code


class Incident(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONTAINED = "contained", "Contained"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    reporting_organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="incidents")
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    affected_member_states = models.ManyToManyField("liaison.MemberState", related_name="incidents", blank=True)
    sectors = models.ManyToManyField(Sector, related_name="incidents", blank=True)
    entity_type = models.CharField(max_length=32, choices=EntityType.choices, blank=True)
    category = models.ForeignKey(IncidentCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    suspected_malicious = models.BooleanField(null=True, blank=True, help_text="Suspected unlawful or malicious cause.")
    cross_border_impact = models.BooleanField(null=True, blank=True)
    national_capacity_exceeded = models.BooleanField(default=False)
    aware_at = models.DateTimeField(help_text="When the entity became aware: starts the NIS2 clocks.")
    tlp = models.CharField(max_length=16, choices=TLP.choices, default=TLP.AMBER)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    crisis_level = models.PositiveSmallIntegerField(default=0, db_index=True)
    # Every committed change bumps version; the escalation engine records the version it saw.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["reporting_organisation", "-id"]), models.Index(fields=["severity"])]

    def __str__(self):
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"INC-{self.created_at:%Y}-{self.pk:06d}" if self.pk else "INC-new"


class IncidentGroupObjectPermission(GroupObjectPermissionBase):
    """guardian's direct foreign key: list filtering stays one indexed join."""

    content_object = models.ForeignKey(Incident, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["group", "permission", "content_object"])]


class Share(models.Model):
    """One grant of an incident to an organisation, member state, community or named person.

    Every target is a group (a named person has a personal group), so a share is one
    guardian group grant and one audience group for the incident's events.
    """

    class TargetKind(models.TextChoices):
        ORGANISATION = "organisation", "Organisation"
        MEMBER_STATE = "member_state", "Member state"
        COMMUNITY = "community", "Community"
        PERSON = "person", "Named person"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="shares")
    target_kind = models.CharField(max_length=16, choices=TargetKind.choices)
    group = models.ForeignKey("auth.Group", on_delete=models.CASCADE, related_name="+")
    label = models.CharField(max_length=200, help_text="Who the target is, as shown to people.")
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    shared_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["shared_at", "id"]
        constraints = [models.UniqueConstraint(fields=["incident", "group"], name="unique_share_group")]

    def __str__(self):
        return f"{self.incident.reference} → {self.label}"
