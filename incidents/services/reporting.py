"""Reporting and working an incident: facts, status, NIS2 reports and the authorities' clocks."""


from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from csoa_portal import audit
from incidents import clocks
from incidents.models import Deadline, Incident, IncidentGroupObjectPermission, Report, TimelineEntry
from incidents.policy import may_request_intermediate_report
from incidents.selectors import (
    CHANGE,
    VIEW,
    clock_facts,
    reporting_authority_membership,
)
from incidents.services.common import (
    CLOCK_SKEW,
    _check_membership,
    _event,
    _lock_for_edit,
    _snapshot,
    _touch,
    dispatch_evaluation,
)
from incidents.vocabulary import TLP, Severity
from liaison.models import Organisation, User


@transaction.atomic
def report_incident(
    *,
    actor: User,
    organisation: Organisation,
    title: str,
    aware_at,
    tlp: str = TLP.AMBER,
    severity: str = Severity.MEDIUM,
    description: str = "",
    affected_member_states=(),
    sectors=(),
    entity_type: str = "",
    category=None,
    suspected_malicious: bool | None = None,
    cross_border_impact: bool | None = None,
    national_capacity_exceeded: bool = False,
) -> Incident:
    """Record a report; the first one may be a minimal early warning (title, awareness, TLP)."""
    _check_membership(actor, organisation)
    if aware_at is None:
        raise ValidationError({"aware_at": "Say when the entity became aware of the incident."})
    if aware_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"aware_at": "The time of awareness cannot be in the future."})
    now = timezone.now()
    incident = Incident(
        title=(title or "").strip(),
        description=description,
        reporting_organisation=organisation,
        reported_by=actor,
        entity_type=entity_type,
        category=category,
        severity=severity,
        suspected_malicious=suspected_malicious,
        cross_border_impact=cross_border_impact,
        national_capacity_exceeded=national_capacity_exceeded,
        aware_at=aware_at,
        tlp=tlp,
        created_at=now,
        updated_at=now,
    )
    incident.full_clean()
    incident.save()
    incident.affected_member_states.set(affected_member_states)
    incident.sectors.set(sectors)
    # The reporting organisation's own grants, in one insert (guardian's assign_perm takes six queries each).
    IncidentGroupObjectPermission.objects.bulk_create([
        IncidentGroupObjectPermission(permission=permission, group_id=organisation.group_id, content_object=incident)
        for permission in Permission.objects.filter(codename__in=(VIEW, CHANGE), content_type__app_label="incidents")
    ])
    if len(affected_member_states) >= 2:
        incident.multi_member_state_since = now
        incident.save(update_fields=["multi_member_state_since"])
    sync_deadlines(incident)
    _event("incident.created", incident, actor=actor)
    # Last before the commit: the audit chain's head row stays locked until then, and
    # concurrent reports queue on it.
    audit.record(actor=actor, action="incident.created", obj=incident, organisation_code=organisation.code,
                 after=_snapshot(incident))
    dispatch_evaluation(incident.pk)
    return incident


# --- Editing, status, reports --------------------------------------------------------------

UPDATABLE_FIELDS = frozenset({
    "title", "description", "entity_type", "category", "severity", "suspected_malicious", "cross_border_impact",
    "national_capacity_exceeded", "aware_at", "affected_member_states", "sectors",
})
STATUS_TRANSITIONS = {
    Incident.Status.OPEN: {Incident.Status.CONTAINED, Incident.Status.RESOLVED, Incident.Status.CLOSED},
    Incident.Status.CONTAINED: {Incident.Status.OPEN, Incident.Status.RESOLVED, Incident.Status.CLOSED},
    Incident.Status.RESOLVED: {Incident.Status.OPEN, Incident.Status.CLOSED},
    Incident.Status.CLOSED: {Incident.Status.OPEN},
}


@transaction.atomic
def update_incident(*, actor: User, incident: Incident, expected_version: int | None = None, **changes) -> Incident:
    """Complete or correct the facts; with ``expected_version`` a stale edit is refused, not merged."""
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in sorted(unknown)})
    incident = _lock_for_edit(actor, incident, expected_version)
    before = _snapshot(incident)
    m2m = {name: changes.pop(name) for name in ("affected_member_states", "sectors") if name in changes}
    for name, value in changes.items():
        setattr(incident, name, value)
    if "aware_at" in changes:
        _validate_awareness(incident)
    incident.full_clean()
    for name, values in m2m.items():
        getattr(incident, name).set(values)
    if incident.affected_member_states.count() >= 2 and incident.multi_member_state_since is None:
        incident.multi_member_state_since = timezone.now()
        changes["multi_member_state_since"] = incident.multi_member_state_since
    _touch(incident, *[f for f in changes if f not in m2m])
    after = _snapshot(incident)
    changed = sorted(k for k in after if after[k] != before.get(k))
    audit.record(actor=actor, action="incident.updated", obj=incident, before=before, after=after)
    sync_deadlines(incident)
    _event("incident.updated", incident, actor=actor, payload={"changed": changed, "version": incident.version})
    return incident


def _validate_awareness(incident: Incident) -> None:
    if incident.aware_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"aware_at": "The time of awareness cannot be in the future."})
    first_report = incident.reports.order_by("submitted_at").values_list("submitted_at", flat=True).first()
    if first_report and incident.aware_at > first_report:
        raise ValidationError({"aware_at": "The time of awareness cannot be after the first report was submitted."})


@transaction.atomic
def change_status(*, actor: User, incident: Incident, status: str, reason: str = "",
                  expected_version: int | None = None) -> Incident:
    incident = _lock_for_edit(actor, incident, expected_version)
    if status not in Incident.Status.values:
        raise ValidationError({"status": f"Unknown status {status!r}; use one of {', '.join(Incident.Status.values)}."})
    if status == incident.status:
        return incident
    if status not in STATUS_TRANSITIONS[incident.status]:
        raise ValidationError({"status": f"An incident cannot go from {incident.status} to {status}."})
    reopening = status == Incident.Status.OPEN
    if reopening and not reason.strip():
        raise ValidationError({"reason": "Say why the incident is reopened."})
    before = _snapshot(incident)
    previous, incident.status = incident.status, status
    _touch(incident, "status")
    text = f"Status changed from {previous} to {status}." + (f" Reason: {reason.strip()}" if reason.strip() else "")
    TimelineEntry.objects.create(incident=incident, kind=TimelineEntry.Kind.STATUS, author=actor,
                                 organisation=incident.reporting_organisation, text=text, tlp=incident.tlp)
    audit.record(actor=actor, action="incident.status_changed", obj=incident, before=before, after=_snapshot(incident))
    _event("incident.updated", incident, actor=actor, payload={"changed": ["status"], "status": status,
                                                                "version": incident.version})
    return incident


REPORT_SECTIONS = {
    # NIS2 Art. 23(4): what each report must say (required sections).
    Report.Kind.EARLY_WARNING: ("summary",),
    Report.Kind.NOTIFICATION: ("initial_assessment", "impact"),
    Report.Kind.INTERMEDIATE: ("status_update",),
    Report.Kind.PROGRESS: ("status_update",),
    Report.Kind.FINAL: ("detailed_description", "root_cause", "mitigation", "cross_border_impact"),
}
OPTIONAL_SECTIONS = ("indicators_of_compromise", "threat_type", "notes")


@transaction.atomic
def submit_report(*, actor: User, incident: Incident, kind: str, content: dict) -> Report:
    """Submit a NIS2 report; it is final once written (corrections are new reports)."""
    incident = _lock_for_edit(actor, incident, None)
    if kind not in Report.Kind.values:
        raise ValidationError({"kind": f"Unknown report kind {kind!r}; use one of {', '.join(Report.Kind.values)}."})
    if not isinstance(content, dict):
        raise ValidationError({"content": "Give the report's sections as an object of texts."})
    allowed = set(REPORT_SECTIONS[kind]) | set(OPTIONAL_SECTIONS)
    errors = {f"content.{name}": "Unknown section for this report." for name in content if name not in allowed}
    errors |= {
        f"content.{name}": "This section is required."
        for name in REPORT_SECTIONS[kind]
        if not isinstance(content.get(name), str) or not content.get(name).strip()
    }
    errors |= {f"content.{n}": "Must be text." for n, v in content.items() if n in allowed and not isinstance(v, str)}
    if errors:
        raise ValidationError(errors)
    kinds_so_far = set(incident.reports.values_list("kind", flat=True))
    if kind == Report.Kind.FINAL and Report.Kind.NOTIFICATION not in kinds_so_far:
        raise ValidationError({"kind": "The final report comes after the incident notification: submit that first."})
    report = Report.objects.create(
        incident=incident, kind=kind, submitted_by=actor,
        content={**{k: v.strip() for k, v in content.items()}, "facts": _snapshot(incident)},
    )
    _touch(incident)
    audit.record(actor=actor, action="report.submitted", obj=report, organisation_code=incident.reporting_organisation.code,
                 after={"kind": kind, "incident": incident.pk})
    sync_deadlines(incident)
    _event("report.submitted", incident, actor=actor, payload={"report": kind, "report_id": report.pk})
    return report


# --- Authority clocks -----------------------------------------------------------------

def sync_deadlines(incident: Incident) -> None:
    """Materialise the NIS2 clocks as rows so the sweeper and the overdue filter can query them."""
    wanted = {d.clock.value: d for d in clocks.deadlines(clock_facts(incident), now=timezone.now())}
    existing = {d.clock: d for d in incident.deadlines.all()}
    for name, deadline in wanted.items():
        row = existing.get(name)
        if row is None:
            Deadline.objects.create(incident=incident, clock=name, due_at=deadline.due_at, met_at=deadline.met_at)
        elif (row.due_at, row.met_at) != (deadline.due_at, deadline.met_at):
            row.due_at, row.met_at = deadline.due_at, deadline.met_at
            row.save(update_fields=["due_at", "met_at"])
    incident.deadlines.filter(clock__in=clocks.NIS2_CLOCKS).exclude(clock__in=wanted).delete()


@transaction.atomic
def request_intermediate_report(*, actor: User, incident: Incident, due_at) -> Deadline:
    """An authority asks the reporter for an intermediate report (NIS2 Art. 23(4)(c))."""
    if not may_request_intermediate_report(actor, incident):
        raise PermissionDenied("Only the reporting member state's CSIRT or authority requests intermediate reports.")
    if due_at <= timezone.now():
        raise ValidationError({"due_at": "The due date must be in the future."})
    row, _ = Deadline.objects.update_or_create(
        incident=incident, clock=clocks.Clock.INTERMEDIATE, defaults={"due_at": due_at, "met_at": None}
    )
    audit.record(actor=actor, action="report.requested", obj=incident, after={"kind": "intermediate", "due_at": due_at})
    _event("report.requested", incident, actor=actor, payload={
        "report": "intermediate", "due_at": due_at.isoformat(),
        "recipient_groups": [incident.reporting_organisation.group.name]})
    return row


@transaction.atomic
def record_initial_response(*, actor: User, incident: Incident, text: str) -> TimelineEntry:
    """The CSIRT's initial feedback to the entity (NIS2 Art. 23(5)), which stops its 24-hour clock."""
    membership = reporting_authority_membership(actor, incident)
    if membership is None:
        raise PermissionDenied("Only the reporting member state's CSIRT or authority gives the initial response.")
    if not text or not text.strip():
        raise ValidationError({"text": "Write the response given to the entity."})
    entry = TimelineEntry.objects.create(incident=incident, kind=TimelineEntry.Kind.RESPONSE, author=actor,
                                         organisation=membership.organisation, text=text.strip(), tlp=incident.tlp)
    _touch(Incident.objects.select_for_update().get(pk=incident.pk))
    audit.record(actor=actor, action="incident.initial_response", obj=entry, after={"incident": incident.pk})
    sync_deadlines(incident)
    _event("incident.responded", incident, actor=actor, payload={"entry_id": entry.pk})
    return entry
