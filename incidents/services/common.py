"""What every incident service shares: snapshots, events, locking, the version counter."""

import logging
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from csoa_portal import audit, background
from csoa_portal.rows import related
from csoa_portal.tokens import acts_for_token_organisation
from incidents import tlp as tlp_rules
from incidents.models import Incident
from incidents.policy import can_edit, is_originator, may_change_tlp
from incidents.selectors import audience_group_names
from incidents.vocabulary import TLP
from liaison.events import Audience, record_event
from liaison.models import Organisation
from liaison.policy import acting_memberships

logger = logging.getLogger(__name__)

# Clocks drift between a SOC tool and the portal; awareness minutes "in the future" is skew, not intent.
CLOCK_SKEW = timedelta(minutes=5)

_SNAPSHOT_FIELDS = [
    "title", "description", "entity_type", "category", "severity", "suspected_malicious", "cross_border_impact",
    "national_capacity_exceeded", "technical_cooperation_requested", "aware_at", "tlp", "status", "crisis_level", "affected_member_states", "sectors",
    "significance", "significance_grounds", "significance_explanation",
]


_BY_CODE = {"category", "affected_member_states", "sectors"}


def _snapshot(incident: Incident) -> dict:
    """The incident's facts as reports and the audit log keep them: related rows by their stable codes, never by
    internal ids (a report read years later, or by another system, names ``energy.electricity``, not 17)."""
    data = audit.snapshot(incident, fields=[f for f in _SNAPSHOT_FIELDS if f not in _BY_CODE])
    data["category"] = incident.category.code if incident.category_id else None
    data["reporting_organisation"] = incident.reporting_organisation.code
    # all(): a new incident's rows are in memory (``reporting._hold``).
    data["affected_member_states"] = sorted(m.code for m in related(incident, "affected_member_states"))
    data["sectors"] = sorted(s.code for s in related(incident, "sectors"))
    return data


def _event(kind: str, incident: Incident, *, actor, payload: dict | None = None, audience: Audience | None = None):
    """``audience``: when the caller knows it already; by default every group that may see the incident."""
    record_event(
        kind=kind,
        subject=incident,
        actor=actor,
        payload={"reference": incident.reference, "title": incident.title, "tlp": incident.tlp, **(payload or {})},
        audience=audience or Audience(groups=audience_group_names(incident)),
    )


def _check_membership(actor, organisation: Organisation) -> None:
    if acts_for_token_organisation(actor, organisation.pk):  # an API token's own: found with the token
        return
    if not acting_memberships(actor).filter(organisation=organisation).exists():
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


def _relabel(actor, incident: Incident, tlp) -> bool:
    """Apply the TLP rules of a label change and set it, audited; the caller holds the lock and saves.

    Editors may relabel; only the originator lowers a label, and a stricter one must still allow
    every existing share (``incidents.tlp``). Returns whether the label changed.
    """
    if not may_change_tlp(actor, incident):
        raise PermissionDenied("You may not change this incident.")
    if tlp not in TLP.values:
        raise ValidationError({"tlp": f"Unknown TLP label {tlp!r}; use one of {', '.join(TLP.values)}."})
    refusal = tlp_rules.tlp_change_refusal(
        current=incident.tlp, new=tlp, by_originator=is_originator(actor, incident),
        shared_kinds=set(incident.shares.values_list("target_kind", flat=True)),
    )
    if refusal:
        raise ValidationError({"tlp": refusal})
    if tlp == incident.tlp:
        return False
    before = _snapshot(incident)
    incident.tlp = tlp
    audit.record(actor=actor, action="incident.tlp_changed", obj=incident, before=before, after=_snapshot(incident))
    return True


def _touch(incident: Incident, *fields: str) -> None:
    """Record a change: bump the version (ETag) and have the Blueprint engine look at it after commit."""
    incident.version += 1
    incident.updated_at = timezone.now()
    incident.save(update_fields=[*fields, "version", "updated_at"])
    dispatch_evaluation(incident.pk)


def dispatch_evaluation(incident_id: int) -> None:
    """Fast path to the engine; if the broker loses it, the sweep finds ``evaluated_version < version``.

    In production the process's dispatcher thread queues the evaluations of many commits as one
    task (``background``); otherwise each commit queues its own.
    """
    transaction.on_commit(lambda: _background_dispatcher.submit([incident_id]))


def _queue_evaluations(incident_ids: list[int]) -> None:
    from incidents import tasks  # tasks import services: resolve at call time

    ids = list(dict.fromkeys(incident_ids))  # once each, in order
    try:
        if len(ids) == 1:
            tasks.evaluate_incident.delay(ids[0])
        else:
            tasks.evaluate_incidents.delay(ids)
    except Exception:  # broker down: the sweep is the safety net (DESIGN.md "Dispatch is durable")
        logger.warning("could not queue the evaluation of incidents %s; the sweep will do it", ids, exc_info=True)


# Short: an escalation waits for it. A burst of reports then costs one broker message.
DISPATCH_DELAY_SECONDS = 0.05
_background_dispatcher = background.BatchWorker("evaluation-dispatcher", _queue_evaluations,
                                                delay=DISPATCH_DELAY_SECONDS, setting="AFTER_COMMIT_IN_BACKGROUND")
