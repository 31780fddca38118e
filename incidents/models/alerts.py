"""Alerts: each organisation told of an escalation answers explicitly; silence never looks like an answer."""

from django.conf import settings
from django.db import models
from django.utils.timezone import now


class Alert(models.Model):
    class State(models.TextChoices):
        NOTIFIED = "notified", "Notified"
        SEEN = "seen", "Seen"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        NOT_AFFECTED = "not_affected", "Not affected"
        NO_RESPONSE = "no_response", "No response"

    class Disclosure(models.TextChoices):
        """What the alerted organisation gets of the incident (DOMAIN.md: escalation never widens who may read).

        TLP:RED and AMBER+STRICT incidents are alerted only; AMBER reaches the network once the
        originator agrees; GREEN and CLEAR are shared with the network at once.
        """

        ALERTED_ONLY = "alerted_only", "Alerted only"
        AWAITING_CONSENT = "awaiting_consent", "Awaiting the originator's consent"
        SHARED = "shared", "Shared"

    OPEN_STATES = (State.NOTIFIED, State.SEEN, State.NO_RESPONSE)

    escalation = models.ForeignKey("incidents.Escalation", on_delete=models.CASCADE, related_name="alerts")
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="alerts")
    organisation = models.ForeignKey("liaison.Organisation", on_delete=models.CASCADE, related_name="alerts")
    level = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.NOTIFIED, db_index=True)
    created_at = models.DateTimeField(default=now)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Acknowledge by; from the level's ack_minutes.")
    seen_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    note = models.TextField(blank=True)
    disclosure = models.CharField(max_length=20, choices=Disclosure.choices, default=Disclosure.ALERTED_ONLY,
                                  help_text="Whether the organisation may read the incident, or only knows it exists.")
    # The sweep's two follow-ups: a reminder to the organisation, then its other contacts and ENISA.
    reminded_at = models.DateTimeField(null=True, blank=True)
    widened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "organisation__code"]
        constraints = [models.UniqueConstraint(fields=["escalation", "organisation"], name="unique_alert_per_org")]
        indexes = [models.Index(fields=["due_at"], name="alert_open_idx",
                                condition=models.Q(state__in=["notified", "seen", "no_response"]))]

    def __str__(self):
        return f"Alert {self.pk}: {self.organisation_id} on incident {self.incident_id} (level {self.level})"
