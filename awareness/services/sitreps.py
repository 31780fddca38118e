"""Writes of the sitreps product: draft, edit, submit, return, publish, correct; the reminder clock.

Each function checks ``awareness.policy.sitreps``, writes in one transaction, appends its audit
entry and records its Event. A refusal changes nothing.
"""

from datetime import timedelta

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from awareness.models import SitrepReminder, SituationReport
from awareness.policy import sitreps as policy
from awareness.selectors import sitreps as selectors
from csoa_portal import audit
from csoa_portal.display import when
from incidents import tlp as tlp_rules
from incidents.models import Incident
from incidents.selectors import active_blueprint, incidents_visible_to
from incidents.vocabulary import TLP
from liaison.events import Audience, record_event
from liaison.exercise_time import real_duration, scales_of
from liaison.models import User

MAX_TITLE = 200
MAX_TEXT = 20_000
TEXT_FIELDS = ("summary_what", "summary_where", "summary_impact", "summary_outlook", "summary_options",
               "assessment", "next_steps")
GROUP_KINDS = {"org": tlp_rules.ORGANISATION, "ms": tlp_rules.MEMBER_STATE, "community": tlp_rules.COMMUNITY,
               "person": tlp_rules.PERSON}
_UNSET = object()


def _snapshot(report: SituationReport) -> dict:
    return audit.to_jsonable({
        "incident": report.incident_id, "number": report.number, "version": report.version,
        "status": report.status, "level": report.level, "tlp": report.tlp, "audience": sorted(report.audience),
        "related_incidents": sorted(i.pk for i in report.related_incidents.all()) if report.pk else [],
        "title": report.title, **{f: getattr(report, f) for f in TEXT_FIELDS},
        "corrects": report.corrects_id, "published_at": report.published_at,
    })


def _payload(report: SituationReport, **extra) -> dict:
    return {"report_id": report.pk, "incident_id": report.incident_id, "reference": report.incident.reference,
            "number": report.number, "version": report.version, "level": report.level, "tlp": report.tlp,
            "status": report.status, **extra}


def _workers_audience(report: SituationReport) -> list[str]:
    orgs = policy.drafting_organisations(report.incident, report.level)
    return sorted({o.group.name for o in orgs} | {report.author_organisation.group.name})


def _event(kind: str, report: SituationReport, *, actor, groups: list[str], recipients: list[str] | None = None) -> None:
    record_event(kind=kind, subject=report, actor=actor,
                 payload=_payload(report, recipient_groups=sorted(recipients if recipients is not None else groups)),
                 audience=Audience(groups=groups))


def _clean_text(name: str, value) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValidationError({name: f"Text of at most {MAX_TEXT} characters."})
    return value.strip()


def _clean_title(value) -> str:
    if not isinstance(value, str) or len(value.strip()) > MAX_TITLE:
        raise ValidationError({"title": f"A title of at most {MAX_TITLE} characters."})
    return value.strip()


def _clean_related(actor, incident: Incident, related) -> list[Incident]:
    ids = []
    for value in related or []:
        pk = value.pk if isinstance(value, Incident) else value
        if not str(pk).isdigit():
            raise ValidationError({"related_incidents": f"{pk!r} is not an incident id."})
        if int(pk) != incident.pk and int(pk) not in ids:
            ids.append(int(pk))
    found = {i.pk: i for i in incidents_visible_to(actor).filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationError({"related_incidents": "No incident you may see has the id "
                                                    + ", ".join(str(pk) for pk in missing) + "."})
    return [found[pk] for pk in ids]


def _clean_tlp(tlp, incidents: list[Incident]) -> str:
    if tlp not in TLP.values:
        raise ValidationError({"tlp": f"Unknown TLP label {tlp!r}; use one of {', '.join(TLP.values)}."})
    strictest = max((i.tlp for i in incidents), key=TLP.rank)
    if TLP.rank(tlp) < TLP.rank(strictest):
        raise ValidationError({"tlp": f"A report cannot be less restricted than the incidents it covers "
                                      f"({TLP(strictest).label})."})
    return tlp


def _default_audience(incident: Incident, tlp: str, author_org) -> list[str]:
    names = [n for n in selectors.audience_choices(incident) if _kind(n) and tlp_rules.share_refusal(
        tlp=tlp, target_kind=_kind(n)) is None]
    if tlp_rules.share_refusal(tlp=tlp, target_kind=tlp_rules.ORGANISATION) is None:
        names.append(author_org.group.name)
    return sorted(set(names))


def _kind(name: str) -> str | None:
    return GROUP_KINDS.get(name.partition(":")[0]) if ":" in name else None


def _clean_audience(audience, *, incident: Incident, tlp: str, author_org) -> list[str]:
    if audience is None:
        return _default_audience(incident, tlp, author_org)
    if not isinstance(audience, (list, tuple)) or not all(isinstance(n, str) for n in audience):
        raise ValidationError({"audience": "Give the audience as a list of group names (org:…, ms:…, community:…)."})
    names = sorted(set(audience))
    if not names:
        raise ValidationError({"audience": "Choose at least one recipient."})
    allowed = set(selectors.audience_choices(incident)) | {author_org.group.name}
    errors = []
    for name in names:
        kind = _kind(name)
        if kind is None or name not in allowed or not Group.objects.filter(name=name).exists():
            errors.append(f"{name}: not among those who may see the incident; a report never widens who knows it.")
        elif refusal := tlp_rules.share_refusal(tlp=tlp, target_kind=kind):
            errors.append(f"{name}: {refusal}")
    if errors:
        raise ValidationError({"audience": errors})
    return names


def _locked(report: SituationReport) -> SituationReport:
    return (SituationReport.objects.select_for_update(of=("self",))
            .select_related("incident__reporting_organisation", "author_organisation__group", "author")
            .get(pk=report.pk))


@transaction.atomic
def draft_report(*, actor: User, incident: Incident, related_incidents=(), title: str = "", tlp: str | None = None,
                 audience: list[str] | None = None, **texts) -> SituationReport:
    """A new numbered report (version 1) on an incident at level 2 or 3, drafted by the body in charge."""
    incident = Incident.objects.select_for_update().select_related("reporting_organisation").get(pk=incident.pk)
    if not incidents_visible_to(actor).filter(pk=incident.pk).exists():
        raise PermissionDenied("You do not see this incident.")
    if incident.crisis_level < policy.MIN_LEVEL:
        raise ValidationError({"incident": f"{incident.reference} is at crisis level {incident.crisis_level}: situation "
                                           f"reports are drafted at levels 2 and 3 only."})
    if not policy.may_draft(actor, incident):
        raise PermissionDenied(f"Situation reports at level {incident.crisis_level} are drafted by "
                               f"{policy.drafting_bodies_sentence(incident.crisis_level)} (a crisis manager or "
                               f"liaison officer).")
    organisation = policy.drafting_organisation_of(actor, incident, incident.crisis_level)
    unknown = set(texts) - set(TEXT_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "Not a part of a situation report."})
    related = _clean_related(actor, incident, related_incidents)
    tlp = _clean_tlp(tlp or max([incident.tlp, *(i.tlp for i in related)], key=TLP.rank), [incident, *related])
    number = (SituationReport.objects.filter(incident=incident).aggregate(n=Max("number"))["n"] or 0) + 1
    report = SituationReport(
        exercise_id=incident.exercise_id, incident=incident, number=number, version=1, level=incident.crisis_level, author_organisation=organisation,
        author=actor, tlp=tlp, title=_clean_title(title or ""),
        audience=_clean_audience(audience, incident=incident, tlp=tlp, author_org=organisation),
        **{f: _clean_text(f, texts.get(f, "")) for f in TEXT_FIELDS})
    report.save()
    report.related_incidents.set(related)
    audit.record(actor=actor, action="sitrep.drafted", obj=report, organisation_code=organisation.code,
                 after=_snapshot(report))
    groups = _workers_audience(report)
    _event("sitrep.drafted", report, actor=actor, groups=groups, recipients=[])
    return report


@transaction.atomic
def edit_report(*, actor: User, report: SituationReport, related_incidents=_UNSET, title=_UNSET, tlp=_UNSET,
                audience=_UNSET, **texts) -> SituationReport:
    """Change a draft: its text, related incidents, TLP and audience."""
    report = _locked(report)
    if report.status != SituationReport.Status.DRAFT:
        raise ValidationError({"status": f"The report is {report.get_status_display().lower()}: only a draft is "
                                         "edited" + (" (publish a correction instead)." if
                                                     report.status == SituationReport.Status.PUBLISHED else
                                                     " (return it to draft first).")})
    if not policy.may_edit(actor, report):
        raise PermissionDenied(f"Only the drafting people of {report.author_organisation.name} edit this draft.")
    unknown = set(texts) - set(TEXT_FIELDS)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "Not a part of a situation report."})
    before = _snapshot(report)
    related = list(report.related_incidents.all()) if related_incidents is _UNSET else _clean_related(
        actor, report.incident, related_incidents)
    if tlp is not _UNSET:
        report.tlp = _clean_tlp(tlp, [report.incident, *related])
    else:
        _clean_tlp(report.tlp, [report.incident, *related])
    if audience is not _UNSET or tlp is not _UNSET:
        report.audience = _clean_audience(report.audience if audience is _UNSET else audience, incident=report.incident,
                                          tlp=report.tlp, author_org=report.author_organisation)
    if title is not _UNSET:
        report.title = _clean_title(title or "")
    for name, value in texts.items():
        setattr(report, name, _clean_text(name, value or ""))
    report.updated_at = timezone.now()
    report.save()
    if related_incidents is not _UNSET:
        report.related_incidents.set(related)
    after = _snapshot(report)
    if after != before:
        audit.record(actor=actor, action="sitrep.edited", obj=report, organisation_code=report.author_organisation.code,
                     before=before, after=after)
        _event("sitrep.edited", report, actor=actor, groups=_workers_audience(report), recipients=[])
    return report


@transaction.atomic
def submit_report(*, actor: User, report: SituationReport) -> SituationReport:
    """Draft → review: the drafting bodies are asked to review and publish it."""
    report = _locked(report)
    if report.status != SituationReport.Status.DRAFT:
        raise ValidationError({"status": f"The report is {report.get_status_display().lower()}: only a draft is "
                                         "submitted for review."})
    if not policy.may_submit(actor, report):
        raise PermissionDenied(f"Only the drafting people of {report.author_organisation.name} submit this draft.")
    report.status, report.submitted_by, report.submitted_at = SituationReport.Status.REVIEW, actor, timezone.now()
    report.save(update_fields=["status", "submitted_by", "submitted_at"])
    audit.record(actor=actor, action="sitrep.submitted", obj=report, organisation_code=report.author_organisation.code,
                 after={"status": report.status})
    groups = _workers_audience(report)
    _event("sitrep.submitted", report, actor=actor, groups=groups)
    return report


@transaction.atomic
def return_to_draft(*, actor: User, report: SituationReport, reason: str = "") -> SituationReport:
    """Review → draft, with the reviewer's reason."""
    report = _locked(report)
    if report.status != SituationReport.Status.REVIEW:
        raise ValidationError({"status": f"The report is {report.get_status_display().lower()}: only a report in "
                                         "review is returned to draft."})
    if not policy.may_return(actor, report):
        raise PermissionDenied("Only the drafting bodies return a report to draft.")
    report.status = SituationReport.Status.DRAFT
    report.save(update_fields=["status"])
    audit.record(actor=actor, action="sitrep.returned", obj=report, organisation_code=report.author_organisation.code,
                 after={"status": report.status, "reason": _clean_text("reason", reason or "")})
    _event("sitrep.returned", report, actor=actor, groups=_workers_audience(report),
           recipients=[report.author_organisation.group.name])
    return report


@transaction.atomic
def publish_report(*, actor: User, report: SituationReport) -> SituationReport:
    """Review → published by another person (four eyes): the facts are frozen, the audience told."""
    report = _locked(report)
    if report.status == SituationReport.Status.DRAFT:
        raise ValidationError({"status": "The report is a draft: submit it for review before publishing."})
    if report.status == SituationReport.Status.PUBLISHED:
        raise ValidationError({"status": "The report is already published: a change is a correction (a new version)."})
    if not policy.may_publish(actor, report):
        if not policy.is_four_eyes(actor, report):
            raise PermissionDenied("Another person must publish it: you drafted or submitted this report (four eyes).")
        raise PermissionDenied(f"Situation reports at level {report.level} are published by "
                               f"{policy.drafting_bodies_sentence(report.level)}.")
    now = timezone.now()
    report.snapshot = selectors.gather(report, now=now)
    report.status, report.published_by, report.published_at = SituationReport.Status.PUBLISHED, actor, now
    report.save(update_fields=["snapshot", "status", "published_by", "published_at"])
    superseded = None
    if report.corrects_id:
        superseded = SituationReport.objects.select_for_update().get(pk=report.corrects_id)
        superseded.superseded_at = now
        superseded.save(update_fields=["superseded_at"])
        audit.record(actor=actor, action="sitrep.superseded", obj=superseded,
                     organisation_code=superseded.author_organisation.code,
                     after={"superseded_at": now, "by": report.pk})
    audit.record(actor=actor, action="sitrep.published", obj=report, organisation_code=report.author_organisation.code,
                 after={**_snapshot(report), "sources": sum(len(s["items"]) for s in report.snapshot["sections"])})
    groups = sorted(set(report.audience) | set(_workers_audience(report)))
    _event("sitrep.published", report, actor=actor, groups=groups, recipients=list(report.audience))
    return report


@transaction.atomic
def correct_report(*, actor: User, report: SituationReport) -> SituationReport:
    """A correction of a published report: a new draft with the same number and the next version.

    The corrected version stays published and readable; it is marked superseded when the correction
    is published.
    """
    report = _locked(report)
    if report.status != SituationReport.Status.PUBLISHED:
        raise ValidationError({"status": "Only a published report is corrected; edit the draft instead."})
    if report.superseded_at is not None:
        raise ValidationError({"status": "This version was already corrected: correct the newest version."})
    open_correction = SituationReport.objects.filter(incident_id=report.incident_id, number=report.number).exclude(
        status=SituationReport.Status.PUBLISHED).first()
    if open_correction is not None:
        raise ValidationError({"status": f"Version {open_correction.version} of this report is already being drafted."})
    if not policy.may_correct(actor, report):
        raise PermissionDenied(f"Situation reports at level {report.level} are corrected by "
                               f"{policy.drafting_bodies_sentence(report.level)}.")
    organisation = policy.drafting_organisation_of(actor, report.incident, report.level)
    version = SituationReport.objects.filter(incident_id=report.incident_id, number=report.number).aggregate(
        v=Max("version"))["v"] + 1
    correction = SituationReport(
        exercise_id=report.exercise_id, incident=report.incident, number=report.number, version=version, corrects=report, level=report.level,
        author_organisation=organisation, author=actor, tlp=report.tlp, audience=list(report.audience),
        title=report.title, **{f: getattr(report, f) for f in TEXT_FIELDS})
    correction.save()
    correction.related_incidents.set(report.related_incidents.all())
    audit.record(actor=actor, action="sitrep.correction_drafted", obj=correction, organisation_code=organisation.code,
                 after=_snapshot(correction))
    _event("sitrep.drafted", correction, actor=actor, groups=_workers_audience(correction), recipients=[])
    return correction


# --- The clock: "the next situation report is due" ------------------------------------------------------


def remind_due_reports(*, now=None) -> int:
    """For open incidents at level ≥ 2 whose level (or IPCR mode) sets an update interval: once per interval
    without a published report, remind the drafting bodies. Idempotent: one reminder per incident and due time."""
    now = now or timezone.now()
    levels = {lv.number: lv for lv in active_blueprint().levels.all() if lv.number >= policy.MIN_LEVEL}
    fired = 0
    incidents = list(Incident.objects.filter(crisis_level__in=list(levels), status__in=["open", "contained"])
                     .annotate(last_escalation=Max("escalations__created_at"))
                     .select_related("reporting_organisation"))
    scales = scales_of({incident.exercise_id for incident in incidents})  # an exercise's reports on its own clock
    for incident in incidents:
        interval = levels[incident.crisis_level].update_interval_for(incident.ipcr_mode)
        if not interval:
            continue
        step = real_duration(timedelta(minutes=interval), scale=scales[incident.exercise_id])
        since = max(t for t in (selectors.last_published_at(incident.pk), incident.last_escalation,
                                incident.created_at) if t)
        if now < since + step:
            continue
        due = since + step * ((now - since) // step)  # the latest due time passed: one reminder per interval
        fired += _remind(incident, due=due, next_due=due + step, level=incident.crisis_level)
    return fired


def _remind(incident: Incident, *, due, next_due, level: int) -> int:
    try:
        with transaction.atomic():
            SitrepReminder.objects.create(incident=incident, due_at=due)
            orgs = policy.drafting_organisations(incident, level)
            groups = sorted({o.group.name for o in orgs})
            audit.record(actor=None, action="sitrep.due", obj=incident, organisation_code="",
                         after={"due_at": due, "level": level})
            record_event(kind="sitrep.due", subject=incident, payload={
                "reference": incident.reference, "title": incident.title, "tlp": incident.tlp, "level": level,
                "due_at": due.isoformat(), "next_due_at": next_due.isoformat(), "recipient_groups": groups,
                "message": f"Situation report due at {when(due)}: none published in the level's interval.",
            }, audience=Audience(groups=groups))
    except IntegrityError:  # another sweep sent it
        return 0
    return 1
