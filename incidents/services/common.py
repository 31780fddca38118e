"""What every incident service shares: snapshots, events, locking, the version counter."""

import logging
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from csoa_portal import audit
from incidents.models import Incident
from incidents.policy import can_edit
from incidents.selectors import audience_group_names
from liaison.events import Audience, record_event
from liaison.models import Organisation

logger = logging.getLogger(__name__)

# Clocks drift between a SOC tool and the portal; awareness minutes "in the future" is skew, not intent.
CLOCK_SKEW = timedelta(minutes=5)

_SNAPSHOT_FIELDS = [
    "title", "description", "entity_type", "category", "severity", "suspected_malicious", "cross_border_impact",
    "national_capacity_exceeded", "technical_cooperation_requested", "aware_at", "tlp", "status", "crisis_level", "affected_member_states", "sectors",
    "significance", "significance_grounds", "significance_explanation",
]


def _snapshot(incident: Incident) -> dict:
    return audit.snapshot(incident, fields=_SNAPSHOT_FIELDS + ["reporting_organisation"])


def _event(kind: str, incident: Incident, *, actor, payload: dict | None = None):
    record_event(
        kind=kind,
        subject=incident,
        actor=actor,
        payload={"reference": incident.reference, "title": incident.title, "tlp": incident.tlp, **(payload or {})},
        audience=Audience(groups=audience_group_names(incident)),
    )


def _check_membership(actor, organisation: Organisation) -> None:
    if not actor.memberships.filter(organisation=organisation).exists():
        raise PermissionDenied(f"You do not act for {organisation.code}.")


class StaleVersion(Exception):
    """The caller edited an older version than the current one (HTTP 412)."""

    def __init__(self, current: int):
        super().__init__(f"The incident changed since you loaded it (now version {current}); reload and retry.")
        self.current = current



def _lock_for_edit(actor, incident: Incident, expected_version: int | None) -> Incident:
    # of=("self",): PostgreSQL cannot lock the nullable side of the member-state outer join.
    incident = (
        Incident.objects.select_for_update(of=("self",))
        .select_related("reporting_organisation__member_state")
        .get(pk=incident.pk)
    )
    if not can_edit(actor, incident):
        raise PermissionDenied("Only the reporting organisation may change this incident.")
    if expected_version is not None and expected_version != incident.version:
        raise StaleVersion(incident.version)
    return incident


def _touch(incident: Incident, *fields: str) -> None:
    """Record a change: bump the version (ETag) and have the Blueprint engine look at it after commit."""
    incident.version += 1
    incident.updated_at = timezone.now()
    incident.save(update_fields=[*fields, "version", "updated_at"])
    dispatch_evaluation(incident.pk)


def queue_on_commit(task, *args) -> None:
    """Queue a notification task after the commit; a broker outage is logged, never turned into an error.

    The change is already committed when this runs: failing the request then would tell the
    user it did not happen.
    """
    def send():
        try:
            task.delay(*args)
        except Exception:
            logger.warning("could not queue %s%r: the broker is unavailable", task.name, args, exc_info=True)

    transaction.on_commit(send)


def dispatch_evaluation(incident_id: int) -> None:
    """Fast path to the engine; if the broker loses it, the sweep finds ``evaluated_version < version``."""
    from incidents import tasks  # tasks import services: resolve at call time

    def send():
        try:
            tasks.evaluate_incident.delay(incident_id)
        except Exception:  # broker down: the sweep is the safety net (DESIGN.md "Dispatch is durable")
            logger.warning("could not queue the evaluation of incident %s; the sweep will do it", incident_id,
                           exc_info=True)

    transaction.on_commit(send)


