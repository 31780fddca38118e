"""Reporting and working an incident: facts, status, NIS2 reports and the authorities' clocks."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from csoa_portal import audit, inserts
from incidents import clocks
from incidents.models import Deadline, Incident, IncidentGroupObjectPermission, Report, TimelineEntry
from incidents.policy import is_reporting_authority, may_request_intermediate_report
from incidents.selectors import (
    CHANGE,
    VIEW,
    clock_facts,
    clock_facts_before_write,
    grant_permission_ids,
    reporting_authority_membership,
    tag_names,
)
from incidents.services.common import (
    CLOCK_SKEW,
    _check_membership,
    _event,
    _lock_for_edit,
    _relabel,
    _snapshot,
    _touch,
    dispatch_evaluation,
)
from incidents.services.tags import apply_tags, resolve_tags
from incidents.vocabulary import TLP, Severity, Significance, SignificanceGround
from liaison.events import Audience
from liaison.models import Organisation, User
from liaison.exercises import current_exercise_id


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
    technical_cooperation_requested: bool = False,
    significance: str = "",
    significance_grounds=(),
    significance_explanation: str = "",
    early_warning: dict | None = None,
    tags=(),
    keep_related: bool = False,
) -> Incident:
    """Record a report; the first one may be a minimal early warning (title, awareness, TLP).

    With ``early_warning`` (the early warning's sections: a summary at least) the NIS2 early
    warning (Art. 23(4)(a)) is recorded with the incident, in the same transaction: its answers
    to the two questions are ``suspected_malicious`` and ``cross_border_impact``.

    ``keep_related``: the returned incident keeps what was written (member states, sectors, tags,
    deadlines, reports, no level proposals) as if prefetched, for an answer built
    without reading it back. Only for a caller that is done with it: the other services change
    a fresh copy, and this one would not see it.
    """
    _check_membership(actor, organisation)
    if aware_at is None:
        raise ValidationError({"aware_at": "Say when the entity became aware of the incident."})
    if aware_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"aware_at": "The time of awareness cannot be in the future."})
    now = timezone.now()
    incident = Incident(
        exercise_id=current_exercise_id(),
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
        technical_cooperation_requested=bool(technical_cooperation_requested),
        significance=significance or "",
        significance_grounds=list(significance_grounds or []),
        significance_explanation=(significance_explanation or "").strip(),
        aware_at=aware_at,
        tlp=tlp,
        created_at=now,
        updated_at=now,
    )
    member_states, sector_rows = _distinct(affected_member_states), _distinct(sectors)
    if len(member_states) >= 2:
        incident.multi_member_state_since = now
    _validate_significance(incident)
    # The foreign keys are the caller's rows and stix_id, misp_uuid fresh UUIDs: checking that they exist, or
    # that they are unique, would cost a query each.
    incident.full_clean(exclude=["reporting_organisation", "reported_by", "category", "stix_id", "misp_uuid"])
    if early_warning is not None:
        try:
            _check_sections(Report.Kind.EARLY_WARNING, early_warning)
        except ValidationError as exc:  # name the field as the caller sent it: early_warning.summary
            raise ValidationError({f"early_warning.{k.removeprefix('content.')}": v
                                   for k, v in exc.message_dict.items()}) from None
    # Whatever may refuse the report was checked above, before any write, except its tags (a free tag is
    # created with the incident, not before): a savepoint only for them. A report refused inside a caller's
    # transaction then leaves it usable, and the others save the savepoint's two round trips (issue 16).
    with transaction.atomic(savepoint=bool(tags)):
        _write_new(incident, actor=actor, organisation=organisation, member_states=member_states,
                   sector_rows=sector_rows, tags=tags, early_warning=early_warning)
    if not keep_related:
        incident.__dict__.pop("_prefetched_objects_cache", None)
    return incident


def _write_new(incident: Incident, *, actor: User, organisation: Organisation, member_states: list,
               sector_rows: list, tags, early_warning: dict | None) -> None:
    """``report_incident``'s writes, in its transaction: the incident, its links, grants, report and clocks."""
    now = incident.created_at
    tag_rows = _distinct(resolve_tags(list(tags), tlp=incident.tlp)) if tags else []
    linked = (("affected_member_states", member_states, "code"), ("sectors", sector_rows, "code"),
              ("tags", tag_rows, "name"))
    for name, rows, order in linked:
        _hold(incident, name, rows, order)
    # The reporting organisation's own grants (guardian's assign_perm takes six queries each).
    permission_ids = grant_permission_ids()
    grants = [IncidentGroupObjectPermission(permission_id=permission_ids[codename], group_id=organisation.group_id,
                                            content_object=incident) for codename in (VIEW, CHANGE)]
    deadlines = _new_deadlines(incident, early_warning_at=now if early_warning is not None else None)
    # A new incident has nothing to replace or duplicate: its link rows, grants and clocks are written without
    # add()'s checks, with the incident itself (one statement on PostgreSQL).
    inserts.insert_with_related(
        incident, links=[inserts.Links(**_links(name), ids=_ids(rows)) for name, rows, _ in linked],
        children=[inserts.Children("content_object", grants), inserts.Children("incident", deadlines)])
    _hold(incident, "deadlines", deadlines, "due_at")
    # Those grants are its whole audience so far (``audience_group_names`` would read them back).
    audience = Audience(group_ids=[organisation.group_id])
    reports = []
    if early_warning is not None:
        reports.append(_record_report(actor=actor, incident=incident, kind=Report.Kind.EARLY_WARNING,
                                      content=early_warning, at=now, audience=audience, checked=True))
    _hold(incident, "reports", reports)
    _hold(incident, "level_proposals", [])
    _event("incident.created", incident, actor=actor, audience=audience)
    # Last: the entry's snapshot holds everything written above (the chain is sealed after the commit).
    audit.record(actor=actor, action="incident.created", obj=incident, organisation_code=organisation.code,
                 after={**_snapshot(incident), "tags": tag_names(incident)})
    dispatch_evaluation(incident.pk)


def _distinct(rows) -> list:
    """Rows (or ids) once each, in the order given."""
    return list({getattr(row, "pk", row): row for row in rows}.values())


def _links(name: str) -> dict:
    """The through model of the incident's many-to-many ``name`` and its two sides, as ``inserts`` takes them."""
    field = Incident._meta.get_field(name)
    return {"link": field.remote_field.through, "to": field.m2m_field_name(), "other": field.m2m_reverse_field_name()}


def _ids(rows) -> list:
    return [getattr(row, "pk", row) for row in rows]


def _hold(incident: Incident, name: str, rows: list, order: str | None = None) -> None:
    """Keep what the service just wrote as the new incident's ``name``, as ``prefetch_related`` would.

    The audit snapshot, the clocks and the API's answer then read it from memory (``all()``) instead
    of reading back rows written a moment ago; a later ``add``/``set`` drops it, as it drops any prefetch.
    Ids instead of rows (a caller may pass either) are not held: reads then query as usual.
    """
    if not all(isinstance(row, models.Model) for row in rows):
        return
    held = _Held(model=Incident._meta.get_field(name).related_model)
    held._result_cache = sorted(rows, key=lambda row: getattr(row, order)) if order else list(rows)
    held._prefetch_done = True
    incident.__dict__.setdefault("_prefetched_objects_cache", {})[name] = held


class _Held(models.QuerySet):
    """Rows ``_hold`` keeps, read with ``all()`` (or iterated, counted, tested).

    Building the related manager's filtered queryset for each of them, as a prefetch does, was a
    twentieth of a report's CPU (issue 16). This one holds no filter: a query derived from it
    (``filter``, ``values``, ``order_by``…) would read every incident's rows, so it refuses instead.
    """

    def _chain(self):
        raise TypeError("held rows of a new incident: read them with all(); query the relation on a fresh copy")


SIGNIFICANCE_RULE = ("Say why the incident is significant (NIS2 Art. 23(3)): severe operational disruption or "
                     "financial loss for the entity, or considerable damage to others.")


def _validate_significance(incident: Incident) -> None:
    """NIS2 Art. 23(3): a significant incident says why; grounds belong to significant incidents only."""
    grounds = incident.significance_grounds
    if not isinstance(grounds, list) or any(g not in SignificanceGround.values for g in grounds):
        raise ValidationError({"significance_grounds": f"Use {', '.join(SignificanceGround.values)}."})
    if len(set(grounds)) != len(grounds):
        raise ValidationError({"significance_grounds": "Name each ground once."})
    if incident.significance == Significance.SIGNIFICANT and not grounds:
        raise ValidationError({"significance_grounds": SIGNIFICANCE_RULE})
    if incident.significance in (Significance.VOLUNTARY, Significance.NEAR_MISS) and grounds:
        raise ValidationError({"significance_grounds": "Grounds of significance (NIS2 Art. 23(3)) are for a "
                                                       "significant incident; this one is notified voluntarily "
                                                       "(Art. 30)."})


# --- Editing, status, reports --------------------------------------------------------------

UPDATABLE_FIELDS = frozenset({
    "title", "description", "entity_type", "category", "severity", "suspected_malicious", "cross_border_impact",
    "national_capacity_exceeded", "technical_cooperation_requested", "aware_at", "affected_member_states", "sectors",
    "significance", "significance_grounds", "significance_explanation", "tlp", "tags",
})
# NIS2 Art. 23(4)(e): resolved and closed incidents are handled; open and contained ones are still being handled.
HANDLED_STATUSES = frozenset({Incident.Status.RESOLVED, Incident.Status.CLOSED})
STATUS_TRANSITIONS = {
    Incident.Status.OPEN: {Incident.Status.CONTAINED, Incident.Status.RESOLVED, Incident.Status.CLOSED},
    Incident.Status.CONTAINED: {Incident.Status.OPEN, Incident.Status.RESOLVED, Incident.Status.CLOSED},
    Incident.Status.RESOLVED: {Incident.Status.OPEN, Incident.Status.CLOSED},
    Incident.Status.CLOSED: {Incident.Status.OPEN},
}


@transaction.atomic
def update_incident(*, actor: User, incident: Incident, expected_version: int | None = None, **changes) -> Incident:
    """Complete or correct the facts; with ``expected_version`` a stale edit is refused, not merged.

    ``tlp`` relabels under the TLP rules (only the originator lowers a label, ``change_tlp``'s rules);
    ``tags`` replaces the tags (``resolve_tags``). All of it or nothing.
    """
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValidationError({name: "This field cannot be changed here." for name in sorted(unknown)})
    incident = _lock_for_edit(actor, incident, expected_version)
    tags, tlp = changes.pop("tags", None), changes.pop("tlp", None)
    before = {**_snapshot(incident), "tags": tag_names(incident)}
    if tlp is not None and _relabel(actor, incident, tlp):
        changes["tlp"] = tlp
    m2m = {name: changes.pop(name) for name in ("affected_member_states", "sectors") if name in changes}
    for name, value in changes.items():
        setattr(incident, name, value)
    if "aware_at" in changes:
        _validate_awareness(incident)
    if "significance" in changes and changes["significance"] != Significance.SIGNIFICANT \
            and "significance_grounds" not in changes:
        incident.significance_grounds = changes["significance_grounds"] = []  # no longer significant: no grounds
    _validate_significance(incident)
    incident.full_clean()
    tag_rows = resolve_tags(tags, tlp=incident.tlp) if tags is not None else None
    for name, values in m2m.items():
        getattr(incident, name).set(values)
    if tag_rows is not None:
        apply_tags(incident, tag_rows)
    if incident.affected_member_states.count() >= 2 and incident.multi_member_state_since is None:
        incident.multi_member_state_since = timezone.now()
        changes["multi_member_state_since"] = incident.multi_member_state_since
    _touch(incident, *[f for f in changes if f not in m2m])
    after = {**_snapshot(incident), "tags": tag_names(incident)}
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
    # Art. 23(4)(e): the final report after a progress report is due one month after handling.
    if status in HANDLED_STATUSES and previous not in HANDLED_STATUSES:
        incident.handled_at = timezone.now()
    elif status not in HANDLED_STATUSES:
        incident.handled_at = None
    _touch(incident, "status", "handled_at")
    text = f"Status changed from {previous} to {status}." + (f" Reason: {reason.strip()}" if reason.strip() else "")
    TimelineEntry.objects.create(incident=incident, kind=TimelineEntry.Kind.STATUS, author=actor,
                                 organisation=incident.reporting_organisation, text=text, tlp=incident.tlp)
    audit.record(actor=actor, action="incident.status_changed", obj=incident, before=before, after=_snapshot(incident))
    sync_deadlines(incident)
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


_UNSET = object()
ART_23_4_A = ("suspected_malicious", "cross_border_impact")


@transaction.atomic
def submit_report(*, actor: User, incident: Incident, kind: str, content: dict,
                  suspected_malicious=_UNSET, cross_border_impact=_UNSET) -> Report:
    """Submit a NIS2 report; it is final once written (corrections are new reports).

    The early warning answers the two questions of Art. 23(4)(a) (suspected unlawful or
    malicious? possible cross-border impact?): given here they become the incident's facts;
    not given, the incident's current answers (possibly "not known yet") are recorded.
    """
    incident = _lock_for_edit(actor, incident, None)
    answers = {"suspected_malicious": suspected_malicious, "cross_border_impact": cross_border_impact}
    given = {name: value for name, value in answers.items() if value is not _UNSET}
    if given and kind != Report.Kind.EARLY_WARNING:
        raise ValidationError({name: "Only the early warning asks this (NIS2 Art. 23(4)(a)); change the incident's "
                                     "facts instead." for name in given})
    if any(value not in (True, False, None) for value in given.values()):
        raise ValidationError({n: "Answer true, false or null (not known yet)." for n, v in given.items()
                               if v not in (True, False, None)})
    if given:
        for name, value in given.items():
            setattr(incident, name, value)
        incident.save(update_fields=list(given))
    report = _record_report(actor=actor, incident=incident, kind=kind, content=content)
    _touch(incident)
    sync_deadlines(incident)
    return report


def _check_sections(kind: str, content) -> None:
    """A report's sections: the kind's required ones as text, no unknown one (before anything is written)."""
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


def _record_report(*, actor: User, incident: Incident, kind: str, content: dict, at=None, audience=None,
                   checked: bool = False) -> Report:
    """Validate and write one report, audited with its event; the caller holds the incident's lock.

    ``audience``: the event's, when the caller knows it (``_event`` reads it from the grants otherwise).
    ``checked``: the caller already ran ``_check_sections`` on ``content`` (``report_incident``, before its writes).
    """
    if not checked:
        _check_sections(kind, content)
    if kind == Report.Kind.FINAL and not incident.reports.filter(kind=Report.Kind.NOTIFICATION).exists():
        raise ValidationError({"kind": "The final report comes after the incident notification: submit that first."})
    if kind == Report.Kind.PROGRESS and incident.status in HANDLED_STATUSES:
        raise ValidationError({"kind": f"A progress report is for an incident still being handled (NIS2 Art. "
                                       f"23(4)(e)); this one is {incident.status}: submit the final report instead."})
    sections = {k: v.strip() for k, v in content.items()}
    if kind == Report.Kind.EARLY_WARNING:
        # NIS2 Art. 23(4)(a): the early warning always says what is known of the two questions.
        sections["art_23_4_a"] = {name: getattr(incident, name) for name in ART_23_4_A}
    report = Report.objects.create(
        incident=incident, kind=kind, submitted_by=actor, submitted_at=at or timezone.now(),
        content={**sections, "facts": _snapshot(incident)},
    )
    audit.record(actor=actor, action="report.submitted", obj=report, organisation_code=incident.reporting_organisation.code,
                 after={"kind": kind, "incident": incident.pk})
    _event("report.submitted", incident, actor=actor, payload={"report": kind, "report_id": report.pk},
           audience=audience)
    return report


# --- Authority clocks -----------------------------------------------------------------

def _new_deadlines(incident: Incident, *, early_warning_at) -> list[Deadline]:
    """The clocks' rows of an incident ``report_incident`` is about to write, from the facts in memory.

    Computed before the incident is written, to be written with it: its early warning, if any, is
    submitted at ``early_warning_at``.
    """
    facts = clock_facts_before_write(incident, early_warning_at=early_warning_at)
    return [Deadline(incident=incident, clock=d.clock.value, sequence=d.sequence, due_at=d.due_at, met_at=d.met_at)
            for d in clocks.deadlines(facts, now=timezone.now())]


def sync_deadlines(incident: Incident) -> None:
    """Materialise the NIS2 clocks as rows so the sweeper and the overdue filter can query them.

    An intermediate request's row is also the record of the request (Art. 23(4)(c)): it is kept
    even when no clock runs any more (the incident declared not significant), only its answer is updated.
    """
    facts = clock_facts(incident)
    if facts.others_informed_at != incident.others_informed_at:
        # Art. 23(6): informed only while every other affected state (and ENISA) is; a newly affected state reopens it.
        incident.others_informed_at = facts.others_informed_at
        Incident.objects.filter(pk=incident.pk).update(others_informed_at=facts.others_informed_at)
    wanted = {(d.clock.value, d.sequence): d for d in clocks.deadlines(facts, now=timezone.now())}
    existing = {(d.clock, d.sequence): d for d in incident.deadlines.all()}
    for request in facts.intermediate_requests:
        key = (clocks.Clock.INTERMEDIATE.value, request.sequence)
        if key not in wanted and key in existing:
            row = existing[key]
            row.met_at = clocks.answered_by(request, facts.intermediate_reports)
            row.save(update_fields=["met_at"])
    added = []
    for (name, sequence), deadline in wanted.items():
        row = existing.get((name, sequence))
        if row is None:
            added.append(Deadline(incident=incident, clock=name, sequence=sequence, due_at=deadline.due_at,
                                  met_at=deadline.met_at))
        elif (row.due_at, row.met_at) != (deadline.due_at, deadline.met_at):
            row.due_at, row.met_at = deadline.due_at, deadline.met_at
            row.save(update_fields=["due_at", "met_at"])
    inserts.insert(*added)
    stale = [row.pk for key, row in existing.items()
             if key not in wanted and row.clock in clocks.NIS2_CLOCKS and row.clock != clocks.Clock.INTERMEDIATE]
    if stale:  # none is the rule (always for a new incident): the delete's collector costs CPU even with no rows
        Deadline.objects.filter(pk__in=stale).delete()


@transaction.atomic
def request_intermediate_report(*, actor: User, incident: Incident, due_at) -> Deadline:
    """An authority asks the reporter for an intermediate report (NIS2 Art. 23(4)(c)).

    Each request is its own clock, answered only by an intermediate report submitted after it.
    """
    incident = Incident.objects.select_for_update(of=("self",)).select_related(
        "reporting_organisation__member_state").get(pk=incident.pk)
    if not may_request_intermediate_report(actor, incident):
        if incident.carries_clocks or not is_reporting_authority(actor, incident):
            raise PermissionDenied("Only the reporting member state's CSIRT or authority requests intermediate reports.")
        raise ValidationError({"due_at": "Intermediate reports are owed for significant incidents (NIS2 Art. 23(3) "
                                         "and 23(4)(c)); this one is notified voluntarily (Art. 30)."})
    now = timezone.now()
    if due_at <= now:
        raise ValidationError({"due_at": "The due date must be in the future."})
    last = incident.deadlines.filter(clock=clocks.Clock.INTERMEDIATE).aggregate(n=models.Max("sequence"))["n"] or 0
    row = Deadline.objects.create(incident=incident, clock=clocks.Clock.INTERMEDIATE, sequence=last + 1,
                                  requested_at=now, due_at=due_at)
    audit.record(actor=actor, action="report.requested", obj=incident,
                 after={"kind": "intermediate", "request": row.sequence, "due_at": due_at})
    _event("report.requested", incident, actor=actor, payload={
        "report": "intermediate", "request": row.sequence, "due_at": due_at.isoformat(),
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


def recount_clocks_in_zone(member_state) -> int:
    """A member state's zone changed: its open incidents' calendar-month deadlines are counted again now,
    not at their next change (liaison.services.follow_time_zone_changes)."""
    incidents = Incident.objects.filter(reporting_organisation__member_state=member_state,
                                        status__in=[Incident.Status.OPEN, Incident.Status.CONTAINED])
    count = 0
    for incident in incidents.iterator(chunk_size=200):
        sync_deadlines(incident)
        count += 1
    return count
