"""The EU Cyber Crisis Management Blueprint as versioned data ENISA edits, and escalations."""

from django.conf import settings
from django.db import models
from django.utils.timezone import now


class Blueprint(models.Model):
    """One version of the Blueprint; exactly one is active, and only a valid one can be."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_blueprint")
        ]

    def __str__(self):
        return f"Blueprint v{self.version}{' (active)' if self.is_active else ''}"


class CrisisLevel(models.Model):
    class Network(models.TextChoices):
        NATIONAL = "national", "National authorities"
        CSIRTS_NETWORK = "csirts_network", "CSIRTs Network"
        EU_CYCLONE = "eu_cyclone", "EU-CyCLONe"
        IPCR = "ipcr", "Council IPCR"

    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="levels")
    number = models.PositiveSmallIntegerField()
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    network = models.CharField(max_length=20, choices=Network.choices)
    alerted_groups = models.JSONField(default=list, blank=True, help_text="Groups alerted on escalation to this level.")
    ack_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="How fast alerts must be acknowledged.")
    update_interval_minutes = models.PositiveIntegerField(null=True, blank=True,
                                                          help_text="How often a situation update is due.")
    expected_reports = models.JSONField(default=list, blank=True)
    # The bodies in charge (incidents/bodies.py), as data: who declares, lowers and proposes this level.
    declare_bodies = models.JSONField(default=list, blank=True, help_text="Bodies that may declare this level.")
    deescalate_bodies = models.JSONField(default=list, blank=True,
                                         help_text="Bodies that may lower an incident from this level.")
    propose_bodies = models.JSONField(default=list, blank=True,
                                      help_text="Bodies that may propose this level to those who declare it.")
    declare_roles = models.JSONField(default=list, blank=True,
                                     help_text="Roles (within those bodies) that may act.")
    # The political level's IPCR modes: [{"code", "name", "update_interval_minutes"}], set by the Presidency.
    modes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["blueprint", "number"]
        constraints = [models.UniqueConstraint(fields=["blueprint", "number"], name="unique_level_number")]

    def __str__(self):
        return f"{self.number} — {self.name}"

    def mode(self, code: str) -> dict | None:
        return next((m for m in self.modes if m.get("code") == code), None)

    def update_interval_for(self, mode_code: str = "") -> int | None:
        """The situation-update interval: the IPCR mode's own where it sets one, else the level's."""
        mode = self.mode(mode_code) if mode_code else None
        return (mode or {}).get("update_interval_minutes") or self.update_interval_minutes


class EscalationRule(models.Model):
    blueprint = models.ForeignKey(Blueprint, on_delete=models.CASCADE, related_name="rules")
    code = models.SlugField(max_length=40)
    target_level = models.PositiveSmallIntegerField()
    conditions = models.JSONField(default=list, help_text='All must hold: [{"fact": …, "op": …, "value": …}]')
    automatic = models.BooleanField(default=True, help_text="Off: the rule only proposes the level.")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["blueprint", "target_level", "code"]
        constraints = [models.UniqueConstraint(fields=["blueprint", "code"], name="unique_rule_code")]

    def __str__(self):
        return f"{self.code} → level {self.target_level}"


class Escalation(models.Model):
    """A change of an incident's crisis level: by the engine, a declaration, or a de-escalation."""

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="escalations")
    from_level = models.PositiveSmallIntegerField()
    to_level = models.PositiveSmallIntegerField()
    rules = models.JSONField(default=list)
    explanation = models.TextField()
    by_engine = models.BooleanField(default=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)
    blueprint_version = models.PositiveIntegerField()
    incident_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["created_at", "id"]


class LevelProposal(models.Model):
    """A level proposed to the body that declares it (EU-CyCLONe or the engine propose the political level).

    The body in charge sees it with its explanation and declares the level or declines it.
    """

    class State(models.TextChoices):
        OPEN = "open", "Waiting for a decision"
        ACCEPTED = "accepted", "Declared"
        DECLINED = "declined", "Declined"

    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="level_proposals")
    level = models.PositiveSmallIntegerField()
    rules = models.JSONField(default=list, blank=True)
    explanation = models.TextField()
    by_engine = models.BooleanField(default=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    organisation = models.ForeignKey("liaison.Organisation", null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    blueprint_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "level"], condition=models.Q(state="open"),
                                    name="one_open_proposal_per_level"),
        ]

    def __str__(self):
        return f"Level {self.level} proposed for {self.incident_id}"
