"""Incidents and what hangs off them: reports, shares, timeline, observables.

Child rows carry no permissions of their own: they are visible exactly when their
incident is (DESIGN.md "Permissions").
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from guardian.models import GroupObjectPermissionBase

from liaison.exercises import exercise_key

from incidents.observables import ObservableType
from incidents.vocabulary import (
    TLP,
    EntityType,
    ImpactOutlook,
    ImpactSeverity,
    RootCause,
    Severity,
    Significance,
    ThreatSeverity,
    situation_badges,
)


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
    # Indexed first in (reporting_organisation, -id) below; a single-column index would only repeat it.
    reporting_organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="incidents",
                                               db_index=False)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    affected_member_states = models.ManyToManyField("liaison.MemberState", related_name="incidents", blank=True)
    sectors = models.ManyToManyField(Sector, related_name="incidents", blank=True)
    entity_type = models.CharField(max_length=32, choices=EntityType.choices, blank=True)
    category = models.ForeignKey(IncidentCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.MEDIUM)
    suspected_malicious = models.BooleanField(null=True, blank=True, help_text="Suspected unlawful or malicious cause.")
    cross_border_impact = models.BooleanField(null=True, blank=True)
    national_capacity_exceeded = models.BooleanField(default=False)
    technical_cooperation_requested = models.BooleanField(default=False)
    # NIS2 Art. 23(3): significant (mandatory clocks) or not (Art. 30 voluntary / near miss), and why.
    significance = models.CharField(max_length=16, choices=Significance.choices, blank=True,
                                    help_text="Blank: not stated, treated as significant.")
    significance_grounds = models.JSONField(default=list, blank=True,
                                            help_text="Codes of SignificanceGround: why it is significant.")
    significance_explanation = models.TextField(blank=True)
    aware_at = models.DateTimeField(help_text="When the entity became aware: starts the NIS2 clocks.")
    tlp = models.CharField(max_length=16, choices=TLP.choices, default=TLP.AMBER)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    crisis_level = models.PositiveSmallIntegerField(default=0, db_index=True)
    tags = models.ManyToManyField("incidents.Tag", related_name="incidents", blank=True)
    # A level declared by the body in charge (a fact for the engine), and the facts when a human last
    # de-escalated: the decision holds until new facts match a rule (escalation.evaluate(held=…)).
    declared_level = models.PositiveSmallIntegerField(default=0)
    deescalation_facts = models.JSONField(null=True, blank=True)
    # At the political level: the IPCR mode the Council Presidency set (a code of the level's modes).
    ipcr_mode = models.CharField(max_length=32, blank=True)
    # NIS2 Art. 23(6): when the second member state was recorded, and when the others were informed.
    multi_member_state_since = models.DateTimeField(null=True, blank=True)
    others_informed_at = models.DateTimeField(null=True, blank=True)
    # NIS2 Art. 23(4)(e): when the incident was last marked handled (resolved or closed); None while ongoing.
    handled_at = models.DateTimeField(null=True, blank=True)
    # Every committed change bumps version; the escalation engine records the version it saw.
    version = models.PositiveIntegerField(default=1)
    evaluated_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now, db_index=True)
    # The STIX id of the exported ``incident`` (incidents/stix.py): a UUIDv4 drawn once, so re-exports agree.
    stix_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The MISP event's uuid (incidents/misp.py): drawn once, so a MISP instance pulling the feed updates the
    # event instead of adding a copy; stored (not derived) because the feed serves ``<uuid>.json`` by it.
    misp_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    # The exercise it belongs to (null: live work): liaison.exercises.in_current filters every read on it.
    exercise = exercise_key()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["reporting_organisation", "-id"]), models.Index(fields=["severity"]),
            # A plain index: db_index on a CharField adds a LIKE index too, which no query of status uses and
            # every write of an incident would maintain (issue 16).
            models.Index(fields=["status"], name="incident_status_idx"),
            # Live work's lists walk this, newest first, and never step over an exercise's incidents
            # (bench/exercise_isolation.py: docs/exercises.md "Performance").
            models.Index(fields=["-id"], name="incident_live_idx", condition=models.Q(exercise__isnull=True)),
        ]

    def __str__(self):
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return reference_for(self.pk, self.created_at) if self.pk else "INC-new"

    @property
    def carries_clocks(self) -> bool:
        """NIS2 Art. 23(3): significant, or not stated (treated as significant)."""
        return self.significance in ("", Significance.SIGNIFICANT)


def reference_for(pk: int, created_at) -> str:
    """An incident's reference from its id and creation time (lists render it from plain rows).

    The year as ``%Y`` writes it, without strftime (50 calls per page of the list)."""
    return f"INC-{created_at.year}-{pk:06d}"


class IncidentGroupObjectPermission(GroupObjectPermissionBase):
    """guardian's direct foreign key: list filtering stays one indexed join.

    A list asks, incident by incident newest first, whether one of a few groups holds the view grant
    (``incidents.selectors.incidents_visible_to``): the (incident, permission, group) index answers from
    the index alone. guardian's unique (group, permission, incident) serves a group's grants; the
    incident's own single-column index would only repeat the first column of the new one.
    """

    content_object = models.ForeignKey(Incident, on_delete=models.CASCADE, db_index=False)
    # guardian's unique (group, permission, incident) leads with the group: its own index would repeat it.
    group = models.ForeignKey("auth.Group", on_delete=models.CASCADE, db_index=False)

    class Meta(GroupObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["content_object", "permission", "group"], name="incident_grant_idx")]


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


class Report(models.Model):
    """A submitted NIS2 report (Art. 23(4)): immutable once written."""

    class Kind(models.TextChoices):
        EARLY_WARNING = "early_warning", "Early warning"
        NOTIFICATION = "notification", "Incident notification"
        INTERMEDIATE = "intermediate", "Intermediate report"
        PROGRESS = "progress", "Progress report"
        FINAL = "final", "Final report"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    submitted_at = models.DateTimeField(default=now)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # What the report says: free text per section plus the incident's facts as reported then.
    content = models.JSONField(default=dict)

    class Meta:
        ordering = ["submitted_at", "id"]
        indexes = [models.Index(fields=["incident", "kind"])]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.incident.reference}"


class Deadline(models.Model):
    """A clock the portal owns, materialised so the sweeper and the overdue filter can query it."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="deadlines",
                                 db_index=False)  # indexed first in unique_incident_clock_seq
    clock = models.CharField(max_length=32)
    # NIS2 Art. 23(4)(c): each intermediate-report request is its own clock (1, 2, …); 0 for every other clock.
    sequence = models.PositiveSmallIntegerField(default=0)
    requested_at = models.DateTimeField(null=True, blank=True, help_text="When the authority asked (intermediate).")
    due_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    overdue_fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]  # ties (clocks due at once) in the order they were set
        constraints = [models.UniqueConstraint(fields=["incident", "clock", "sequence"], name="unique_incident_clock_seq")]
        indexes = [models.Index(fields=["due_at"], name="deadline_open_idx", condition=models.Q(met_at__isnull=True))]


class TimelineEntry(models.Model):
    """An append-only update on the incident: analysts' notes, situation updates, status changes."""

    class Kind(models.TextChoices):
        UPDATE = "update", "Update"
        SITUATION = "situation", "Situation update"
        STATUS = "status", "Status change"
        RESPONSE = "response", "Authority response"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.UPDATE)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    text = models.TextField()
    tlp = models.CharField(max_length=16, choices=TLP.choices)
    # The NIS Cooperation Group's assessment (DOMAIN.md); only a situation update carries it, blank = not assessed.
    impact_severity = models.CharField(max_length=16, choices=ImpactSeverity.choices, blank=True, default="")
    impact_outlook = models.CharField(max_length=16, choices=ImpactOutlook.choices, blank=True, default="")
    root_cause = models.CharField(max_length=32, choices=RootCause.choices, blank=True, default="")
    threat_severity = models.CharField(max_length=16, choices=ThreatSeverity.choices, blank=True, default="")
    # The STIX id of the ``note`` a situation update is exported as (incidents/stix.py).
    stix_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "timeline entries"

    @property
    def situation_badges(self) -> list[dict]:
        return situation_badges({f: getattr(self, f) for f in ("impact_severity", "impact_outlook", "root_cause",
                                                              "threat_severity")})


class Attachment(models.Model):
    """A file on a timeline entry; stored under a random name, served only as a download."""

    entry = models.ForeignKey(TimelineEntry, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)


class Observable(models.Model):
    """An indicator seen in the incident; ``value`` is normalised so duplicates collapse."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="observables")
    type = models.CharField(max_length=16, choices=ObservableType.choices)
    value = models.CharField(max_length=2048)
    tlp = models.CharField(max_length=16, choices=TLP.choices)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    tags = models.ManyToManyField("incidents.Tag", related_name="observables", blank=True)
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The STIX ids of its export (incidents/stix.py): the indicator (a vulnerability for a CVE) and the
    # relationship tying it to the incident. UUIDv4s drawn once, so re-exports agree.
    stix_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    stix_relationship_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["incident", "type", "value"], name="unique_incident_observable")]
        indexes = [models.Index(fields=["type", "value"])]


class CrossBorderNotice(models.Model):
    """One organisation told under NIS2 Art. 23(6): another affected member state's SPOC or CSIRT, or ENISA.

    ``content_shared`` is false for TLP:RED incidents: the organisation got the reference and the
    obligation, not the incident.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="cross_border_notices")
    organisation = models.ForeignKey("liaison.Organisation", on_delete=models.PROTECT, related_name="+")
    member_state = models.ForeignKey("liaison.MemberState", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", help_text="The affected state it was told for; empty for ENISA.")
    informed_at = models.DateTimeField(default=now)
    informed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    content_shared = models.BooleanField(default=True)

    class Meta:
        ordering = ["informed_at", "id"]
        constraints = [models.UniqueConstraint(fields=["incident", "organisation"], name="unique_cross_border_notice")]


class StixIdentity(models.Model):
    """The STIX ``identity`` id of an organisation in the incidents' STIX export.

    Kept here, not on ``liaison.Organisation``: the export is the incidents app's. Drawn (a
    UUIDv4) the first time the organisation appears in an export, then the same for good.
    """

    organisation = models.OneToOneField("liaison.Organisation", on_delete=models.CASCADE, related_name="+")
    stix_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        verbose_name_plural = "STIX identities"

    def __str__(self):
        return f"identity--{self.stix_id}"
