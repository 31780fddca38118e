"""Writes to incidents: reporting and sharing under TLP 2.0, each audited with its Event."""

import hashlib
import uuid
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from guardian.shortcuts import assign_perm, remove_perm

from csoa_portal import audit
from incidents import clocks, tasks
from incidents import tlp as tlp_rules
from incidents.models import Attachment, Deadline, Incident, Observable, Report, Share, TimelineEntry
from incidents.observables import InvalidObservable, normalise
from incidents.selectors import (
    CHANGE,
    VIEW,
    audience_group_names,
    can_edit,
    clock_facts,
    is_originator,
    is_reporting_authority,
    reporting_authority_membership,
)
from incidents.vocabulary import TLP, Severity
from liaison.events import Audience, record_event
from liaison.models import MemberState, Organisation, User
from liaison.roles import Community

# Clocks drift between a SOC tool and the portal; awareness minutes "in the future" is skew, not intent.
CLOCK_SKEW = timedelta(minutes=5)

_SNAPSHOT_FIELDS = [
    "title", "description", "entity_type", "category", "severity", "suspected_malicious", "cross_border_impact",
    "national_capacity_exceeded", "aware_at", "tlp", "status", "crisis_level", "affected_member_states", "sectors",
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
    for codename in (VIEW, CHANGE):
        assign_perm(f"incidents.{codename}", organisation.group, incident)
    if len(affected_member_states) >= 2:
        incident.multi_member_state_since = now
        incident.save(update_fields=["multi_member_state_since"])
    audit.record(actor=actor, action="incident.created", obj=incident, organisation_code=organisation.code,
                 after=_snapshot(incident))
    sync_deadlines(incident)
    _event("incident.created", incident, actor=actor)
    return incident


def _share_targets(*, organisations, member_states, communities, people) -> list[tuple[str, Group, str]]:
    targets = [(tlp_rules.ORGANISATION, o.group, o.name) for o in organisations]
    targets += [(tlp_rules.MEMBER_STATE, m.group, m.name) for m in member_states]
    for name in communities:
        if name not in Community.LABELS:
            raise ValidationError({"communities": f"Unknown community {name!r}."})
        targets.append((tlp_rules.COMMUNITY, Group.objects.get_or_create(name=name)[0], Community.LABELS[name]))
    for person in people:
        group, _ = Group.objects.get_or_create(name=f"person:{person.pk}")
        person.groups.add(group)
        targets.append((tlp_rules.PERSON, group, str(person)))
    return targets


@transaction.atomic
def share_incident(
    *,
    actor: User,
    incident: Incident,
    organisations: list[Organisation] = (),
    member_states: list[MemberState] = (),
    communities: list[str] = (),
    people: list[User] = (),
) -> list[Share]:
    """Grant the incident to new recipients, all or nothing, within its TLP.

    Only the originating organisation shares: TLP obliges recipients not to pass it on.
    """
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if not is_originator(actor, incident):
        raise PermissionDenied("Only the originating organisation may share this incident.")
    targets = _share_targets(organisations=organisations, member_states=member_states,
                             communities=communities, people=people)
    if not targets:
        raise ValidationError({"targets": "Choose at least one recipient."})
    refusals = sorted({r for kind, _, _ in targets if (r := tlp_rules.share_refusal(tlp=incident.tlp, target_kind=kind))})
    if refusals:
        raise ValidationError({"targets": refusals})
    already = set(incident.shares.values_list("group_id", flat=True)) | {incident.reporting_organisation.group_id}
    created = []
    for kind, group, label in targets:
        if group.pk in already:
            continue
        already.add(group.pk)
        created.append(Share.objects.create(incident=incident, target_kind=kind, group=group, label=label, shared_by=actor))
        assign_perm(f"incidents.{VIEW}", group, incident)
    if created:
        audit.record(actor=actor, action="incident.shared", obj=incident,
                     after={"shared_with": [{"kind": s.target_kind, "group": s.group.name} for s in created]})
        _event("incident.shared", incident, actor=actor,
               payload={"shared_with": [{"kind": s.target_kind, "label": s.label} for s in created],
                        "recipient_groups": [s.group.name for s in created]})
        group_ids = [s.group_id for s in created]
        incident_id = incident.pk
        transaction.on_commit(lambda: tasks.notify_new_recipients.delay(incident_id, group_ids))
    return created


@transaction.atomic
def unshare_incident(*, actor: User, share: Share) -> None:
    """Revoke a share: the recipient loses access on every read path at once."""
    incident = Incident.objects.select_for_update().get(pk=share.incident_id)
    if not is_originator(actor, incident):
        raise PermissionDenied("Only the originating organisation may revoke a share.")
    remove_perm(f"incidents.{VIEW}", share.group, incident)
    before = {"kind": share.target_kind, "group": share.group.name}
    label = share.label
    share.delete()
    audit.record(actor=actor, action="incident.unshared", obj=incident, before=before)
    _event("incident.unshared", incident, actor=actor, payload={"unshared": label})


@transaction.atomic
def change_tlp(*, actor: User, incident: Incident, tlp: str) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if not can_edit(actor, incident):
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
        return incident
    before = _snapshot(incident)
    incident.tlp = tlp
    incident.version += 1
    incident.updated_at = timezone.now()
    incident.save(update_fields=["tlp", "version", "updated_at"])
    audit.record(actor=actor, action="incident.tlp_changed", obj=incident, before=before, after=_snapshot(incident))
    _event("incident.updated", incident, actor=actor, payload={"changed": ["tlp"]})
    return incident



# --- Editing, status, reports --------------------------------------------------------------

class StaleVersion(Exception):
    """The caller edited an older version than the current one (HTTP 412)."""

    def __init__(self, current: int):
        super().__init__(f"The incident changed since you loaded it (now version {current}); reload and retry.")
        self.current = current


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
    incident.version += 1
    incident.updated_at = timezone.now()
    incident.save(update_fields=[*fields, "version", "updated_at"])


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
    incident.deadlines.exclude(clock__in=wanted).delete()


@transaction.atomic
def request_intermediate_report(*, actor: User, incident: Incident, due_at) -> Deadline:
    """An authority asks the reporter for an intermediate report (NIS2 Art. 23(4)(c))."""
    if not is_reporting_authority(actor, incident) or is_originator(actor, incident):
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


def cross_border_recipients(incident: Incident) -> list[Organisation]:
    """Whom NIS2 Art. 23(6) says to inform: the other affected member states' CSIRTs and ENISA."""
    own = incident.reporting_organisation.member_state_id
    others = incident.affected_member_states.exclude(pk=own)
    return list(
        Organisation.objects.filter(
            models.Q(kind="national_csirt", member_state__in=others, is_active=True) | models.Q(kind="enisa", is_active=True)
        ).select_related("member_state").order_by("kind", "code")
    )


@transaction.atomic
def inform_other_member_states(*, actor: User, incident: Incident) -> list[Share]:
    """The one-click Art. 23(6) share, within the incident's TLP; stops the authority's clock."""
    recipients = cross_border_recipients(incident)
    if not recipients:
        raise ValidationError({"affected_member_states": "No other affected member state to inform."})
    shares = share_incident(actor=actor, incident=incident, organisations=recipients)
    Incident.objects.filter(pk=incident.pk, others_informed_at__isnull=True).update(others_informed_at=timezone.now())
    incident.refresh_from_db()
    sync_deadlines(incident)
    return shares


# --- Timeline ----------------------------------------------------------------------------

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 5
# Allowed attachment types, recognised by their first bytes, never by name or declared type.
_MAGIC = [
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
]


def sniff_content_type(head: bytes) -> str | None:
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a multi-byte character cut at the end is still text
            return None
    return "text/plain" if b"\x00" not in head else None


def _check_entry_tlp(incident: Incident, tlp: str) -> None:
    if tlp not in TLP.values:
        raise ValidationError({"tlp": f"Unknown TLP label {tlp!r}; use one of {', '.join(TLP.values)}."})
    if TLP.rank(tlp) < TLP.rank(incident.tlp):
        raise ValidationError({"tlp": f"An update cannot be less restricted than its incident ({TLP(incident.tlp).label})."})


@transaction.atomic
def add_timeline_entry(*, actor: User, incident: Incident, text: str, tlp: str | None = None,
                       kind: str = TimelineEntry.Kind.UPDATE, files=()) -> TimelineEntry:
    """Append an update; anyone who may see the incident and acts for an organisation may post."""
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    membership = actor.memberships.select_related("organisation").order_by("id").first()
    if membership is None:
        raise PermissionDenied("Only members of an organisation may post updates.")
    if kind not in (TimelineEntry.Kind.UPDATE, TimelineEntry.Kind.SITUATION):
        raise ValidationError({"kind": "Post an update or a situation update."})
    if not text or not text.strip():
        raise ValidationError({"text": "Write the update."})
    tlp = tlp or incident.tlp
    _check_entry_tlp(incident, tlp)
    files = list(files)
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationError({"files": f"At most {MAX_ATTACHMENTS} attachments per update."})
    checked = []
    for upload in files:
        if upload.size > MAX_ATTACHMENT_BYTES:
            raise ValidationError({"files": f"{upload.name} is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB."})
        head = upload.read(2048)
        upload.seek(0)
        content_type = sniff_content_type(head)
        if content_type is None:
            raise ValidationError({"files": f"{upload.name}: only PDF, PNG, JPEG, GIF, ZIP and plain-text files are accepted."})
        checked.append((upload, content_type))
    entry = TimelineEntry.objects.create(incident=incident, kind=kind, author=actor, organisation=membership.organisation,
                                         text=text.strip(), tlp=tlp)
    for upload, content_type in checked:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        attachment = Attachment(entry=entry, original_name=upload.name[:255], content_type=content_type,
                                size=upload.size, sha256=digest.hexdigest())
        attachment.file.save(f"{uuid.uuid4().hex}.bin", upload, save=False)  # never the uploaded name
        attachment.save()
    _touch(incident)
    audit.record(actor=actor, action="timeline.added", obj=entry, after={"incident": incident.pk, "kind": kind, "tlp": tlp,
                                                                       "attachments": len(checked)})
    _event("timeline.added", incident, actor=actor, payload={"entry_id": entry.pk, "kind": kind})
    return entry


# --- Observables ---------------------------------------------------------------------------

MAX_OBSERVABLES_PER_CALL = 10_000


def _parse_time(raw, field: str):
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        value = raw
    else:
        value = parse_datetime(str(raw))
        if value is None:
            raise InvalidObservable(f"{field}: {raw!r} is not an ISO 8601 date-time.")
    if timezone.is_naive(value):
        raise InvalidObservable(f"{field}: give a time zone (e.g. 2026-11-23T10:00:00Z).")
    return value


@dataclass
class ObservableBatchResult:
    created: int = 0
    merged: int = 0
    errors: list[dict] = dataclass_field(default_factory=list)


def _clean_row(row, incident: Incident) -> dict:
    if not isinstance(row, dict):
        raise InvalidObservable("Each row must be an object with type and value.")
    unknown = set(row) - {"type", "value", "tlp", "first_seen", "last_seen", "note"}
    if unknown:
        raise InvalidObservable(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    tlp = row.get("tlp") or incident.tlp
    if tlp not in TLP.values:
        raise InvalidObservable(f"tlp: unknown label {tlp!r}.")
    if TLP.rank(tlp) < TLP.rank(incident.tlp):
        raise InvalidObservable(f"tlp: cannot be less restricted than the incident ({TLP(incident.tlp).label}).")
    first_seen = _parse_time(row.get("first_seen"), "first_seen")
    last_seen = _parse_time(row.get("last_seen"), "last_seen")
    if first_seen and last_seen and first_seen > last_seen:
        raise InvalidObservable("first_seen is after last_seen.")
    note = row.get("note") or ""
    if not isinstance(note, str) or len(note) > 2000:
        raise InvalidObservable("note: text of at most 2000 characters.")
    return {"type": row.get("type"), "value": normalise(row.get("type"), row.get("value")), "tlp": tlp,
            "first_seen": first_seen, "last_seen": last_seen, "note": note}


@transaction.atomic
def add_observables(*, actor: User, incident: Incident, rows: list) -> ObservableBatchResult:
    """Add up to 10,000 observables: valid rows are kept, invalid ones reported by index.

    A value already on the incident (or twice in the batch) is merged: its seen-window widens.
    """
    if not isinstance(rows, list) or not rows:
        raise ValidationError({"observables": "Give a non-empty list of observables."})
    if len(rows) > MAX_OBSERVABLES_PER_CALL:
        raise ValidationError({"observables": f"At most {MAX_OBSERVABLES_PER_CALL} observables per call; got {len(rows)}."})
    incident = _lock_for_edit(actor, incident, None)
    result = ObservableBatchResult()
    cleaned: dict[tuple[str, str], dict] = {}
    for index, row in enumerate(rows):
        try:
            data = _clean_row(row, incident)
        except InvalidObservable as exc:
            value = row.get("value") if isinstance(row, dict) else None
            result.errors.append({"index": index, "value": value if isinstance(value, str) else None, "error": str(exc)})
            continue
        key = (data["type"], data["value"])
        if key in cleaned:
            _widen(cleaned[key], data)
            result.merged += 1
        else:
            cleaned[key] = data
    existing = {}
    keys = list(cleaned)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for obs in incident.observables.filter(value__in=[v for _, v in chunk]):
            if (obs.type, obs.value) in cleaned:
                existing[(obs.type, obs.value)] = obs
    to_update = []
    for key, obs in existing.items():
        data = cleaned.pop(key)
        if _widen_model(obs, data):
            to_update.append(obs)
        result.merged += 1
    Observable.objects.bulk_update(to_update, ["first_seen", "last_seen"], batch_size=500)
    Observable.objects.bulk_create(
        [Observable(incident=incident, created_by=actor, **data) for data in cleaned.values()], batch_size=1000
    )
    result.created = len(cleaned)
    if result.created or result.merged:
        _touch(incident)
        audit.record(actor=actor, action="observables.added", obj=incident,
                     after={"created": result.created, "merged": result.merged, "rejected": len(result.errors),
                            "values": [f"{t}:{v}" for t, v in list(cleaned)[:1000]]})
        _event("observables.added", incident, actor=actor,
               payload={"created": result.created, "merged": result.merged})
    return result


def _widen(target: dict, data: dict) -> None:
    for field, pick in (("first_seen", min), ("last_seen", max)):
        values = [v for v in (target[field], data[field]) if v]
        target[field] = pick(values) if values else None


def _widen_model(obs: Observable, data: dict) -> bool:
    before = (obs.first_seen, obs.last_seen)
    snapshot = {"first_seen": obs.first_seen, "last_seen": obs.last_seen}
    _widen(snapshot, data)
    obs.first_seen, obs.last_seen = snapshot["first_seen"], snapshot["last_seen"]
    return before != (obs.first_seen, obs.last_seen)
