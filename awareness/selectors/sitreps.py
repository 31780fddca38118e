"""Reads of the sitreps product: which reports a person sees, the facts a report gathers, a reader's version.

Every item of a report's sections carries its SOURCE (the incident, and the timeline entry or the
Reserve request it comes from, with its TLP and owning organisation). A reader gets the items
whose every source they may read, by the incidents' and the Reserve's own rules
(``incidents_visible_to``, ``timeline_entries_visible_to``, ``requests_visible_to``); a section
that lost items says so, never what or how many.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from awareness.documents import PrintChart, PrintDocument, PrintSection
from awareness.models import SituationReport
from awareness.policy import sitreps as policy
from csoa_portal.display import when
from incidents import clocks
from incidents.models import Alert, Deadline, Escalation, Incident, TimelineEntry
from incidents.selectors import audience_group_names, incidents_visible_to, timeline_entries_visible_to
from incidents.vocabulary import SITUATION_TAXONOMY, TLP, ImpactSeverity, ThreatSeverity
from liaison.models import MemberState
from reserve.models import AssistanceRequest
from reserve.selectors import requests_visible_to
from liaison.exercises import in_current
from liaison.policy import acting_organisation_ids

SECTION_NOTE = "Some information in this section was left out because of its sharing restrictions."
REPORT_NOTE = "Some information in this report was left out because of its sharing restrictions."
ISAA_FIELDS = (("what", "What"), ("where", "Where"), ("impact", "Impact"), ("outlook", "Outlook"),
               ("options", "Options"))
SECTIONS = (
    ("contributions", "Member state contributions"),
    ("affected", "Affected member states and sectors"),
    ("escalations", "Escalation history"),
    ("alerts", "Alert answers"),
    ("reserve", "EU Cybersecurity Reserve: requests and deployments"),
    ("clocks", "Open clocks"),
)


# --- Which reports a person sees --------------------------------------------------------------------


def reports_visible_to(user) -> QuerySet[SituationReport]:
    """Published reports addressed to one of the person's groups, and the drafts and reviews of the bodies they
    work for; always only on primary incidents the person sees. The drafting-body test runs in Python over the
    candidates with the person's seats read once (a constant number of queries however many reports); the author's
    organisation is the ``own`` filter."""
    if not getattr(user, "is_authenticated", False):
        return SituationReport.objects.none()
    names = list(user.groups.values_list("name", flat=True))
    seen = incidents_visible_to(user).filter(pk=OuterRef("incident_id"))
    candidates = in_current(SituationReport.objects.filter(Exists(seen))).select_related(
        "incident__reporting_organisation", "author_organisation", "author")
    addressed = Q(status=SituationReport.Status.PUBLISHED) & Q(
        pk__in=[pk for pk, audience in candidates.filter(status=SituationReport.Status.PUBLISHED)
                .values_list("pk", "audience") if set(audience) & set(names)])
    work = policy.drafting_body_work(user, candidates) if policy.may_draft_any(user) else []
    own = Q(author_organisation__in=acting_organisation_ids(user, roles=policy.DRAFTING_ROLES))
    return candidates.filter(addressed | Q(pk__in=work) | own).distinct()


def report_visible_to(user, report_id) -> SituationReport:
    """The report, or 404 whether it does not exist or is not the person's to read."""
    try:
        return reports_visible_to(user).get(pk=report_id)
    except (SituationReport.DoesNotExist, ValueError, TypeError):
        raise Http404("No such situation report.") from None


def visible_report_ids(user, ids: set[str]) -> set[str]:
    """Event subject check: which of these reports the person may still read."""
    numeric = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk) for pk in reports_visible_to(user).filter(pk__in=numeric).values_list("pk", flat=True)}


def draftable_incident(user, incident_id) -> Incident:
    """The incident a person drafts on: 404 unless they see it."""
    try:
        return incidents_visible_to(user).select_related("reporting_organisation__member_state").get(pk=incident_id)
    except (Incident.DoesNotExist, ValueError, TypeError):
        raise Http404("No such incident.") from None


def audience_choices(incident: Incident) -> list[str]:
    """The groups that may be addressed: those that see the primary incident (a report never widens who knows it)."""
    return sorted(audience_group_names(incident))


def versions_of(user, report: SituationReport) -> QuerySet[SituationReport]:
    """Every version of the same report number the person may read, newest first."""
    return reports_visible_to(user).filter(incident_id=report.incident_id, number=report.number).order_by("-version")


# --- Gathering the portal's facts (live for a draft, frozen on publishing) ------------------------------


def _source(incident: Incident, *, entry: TimelineEntry | None = None, request: AssistanceRequest | None = None,
            tlp: str | None = None, organisation: str = "") -> dict:
    return {"incident": incident.pk, "reference": incident.reference, "entry": entry.pk if entry else None,
            "request": request.pk if request else None, "tlp": tlp or incident.tlp,
            "organisation": organisation or incident.reporting_organisation.code}


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def report_incidents(report: SituationReport, *, user=None) -> list[Incident]:
    """The primary incident and the related ones (those ``user`` sees, when given)."""
    related = report.related_incidents.all() if report.pk else []
    incidents = [report.incident, *sorted(related, key=lambda i: i.pk)]
    if user is not None:
        seen = set(incidents_visible_to(user).filter(pk__in=[i.pk for i in incidents]).values_list("pk", flat=True))
        incidents = [i for i in incidents if i.pk in seen]
    return incidents


def gather(report: SituationReport, *, now=None) -> dict:
    """The portal's facts and the member states' contributions, as the report's author may read them.

    The author's view bounds the report: a report never carries what its author could not read.
    """
    now = now or timezone.now()
    author = report.author
    incidents = report_incidents(report, user=author)
    by_pk = {i.pk: i for i in incidents}
    ids = list(by_pk)
    sections = {key: [] for key, _ in SECTIONS}
    states = {pk: sorted(codes) for pk, codes in _states_of(ids).items()}
    names = dict(MemberState.objects.values_list("code", "name"))

    # Contributions: each affected member state's latest situation update by one of its organisations.
    affected = sorted({code for codes in states.values() for code in codes})
    entries = (timeline_entries_visible_to(author).filter(incident_id__in=ids, kind=TimelineEntry.Kind.SITUATION,
                                                           organisation__member_state__code__in=affected)
               .select_related("organisation__member_state").order_by("-created_at", "-id"))
    latest: dict[str, TimelineEntry] = {}
    for entry in entries:
        latest.setdefault(entry.organisation.member_state.code, entry)
    for code in affected:
        entry = latest.get(code)
        if entry is None:
            continue
        incident = by_pk[entry.incident_id]
        sections["contributions"].append({
            "source": _source(incident, entry=entry, tlp=entry.tlp, organisation=entry.organisation.code),
            "state": code, "label": f"{names.get(code, code)} — {entry.organisation.name}", "text": entry.text,
            "at": _iso(entry.created_at),
            "assessment": {f: getattr(entry, f) for f in SITUATION_TAXONOMY},
            "fields": [[label, vocabulary(getattr(entry, f)).label if getattr(entry, f) else "Not assessed"]
                       for f, (label, vocabulary) in SITUATION_TAXONOMY.items()],
        })

    sectors = _sectors_of(ids)
    for incident in incidents:
        sections["affected"].append({
            "source": _source(incident), "states": states.get(incident.pk, []),
            "label": f"{incident.reference} {incident.title}",
            "text": "Member states: " + (", ".join(names.get(c, c) for c in states.get(incident.pk, [])) or "none recorded")
                    + ". Sectors: " + (", ".join(sectors.get(incident.pk, [])) or "none recorded") + ".",
            "at": None, "fields": [["Crisis level", str(incident.crisis_level)], ["Status", incident.get_status_display()]],
        })

    for esc in Escalation.objects.filter(incident_id__in=ids).order_by("created_at", "id"):
        incident = by_pk[esc.incident_id]
        how = "by the Blueprint's rules" if esc.by_engine else "declared by the body in charge"
        sections["escalations"].append({
            "source": _source(incident), "label": f"{incident.reference}: level {esc.from_level} → {esc.to_level}",
            "text": f"{esc.explanation} ({how})" if esc.explanation else how.capitalize(), "at": _iso(esc.created_at),
            "fields": [],
        })

    for alert in (Alert.objects.filter(incident_id__in=ids).select_related("organisation")
                  .order_by("incident_id", "level", "organisation__code")):
        incident = by_pk[alert.incident_id]
        sections["alerts"].append({
            "source": _source(incident), "label": f"{incident.reference}: {alert.organisation.name}",
            "text": f"Level {alert.level} alert: {alert.get_state_display()}.",
            "at": _iso(alert.answered_at), "fields": [],
        })

    for request in (requests_visible_to(author).filter(incidents__in=ids).distinct()
                    .prefetch_related("incidents", "engagements__provider").order_by("id")):
        incident = by_pk[min(i.pk for i in request.incidents.all() if i.pk in by_pk)]
        deployments = [f"{e.provider.name}: {e.get_status_display()} ({e.window_start:%Y-%m-%d} – {e.window_end:%Y-%m-%d})"
                       for e in request.engagements.all()]
        sections["reserve"].append({
            "source": _source(incident, request=request, organisation=request.requester_organisation.code
                              if request.requester_organisation_id else ""),
            "label": f"{request.reference} for {incident.reference}", "text": request.get_status_display() + ".",
            "at": _iso(request.submitted_at), "fields": [["Deployment", d] for d in deployments],
        })

    for deadline in Deadline.objects.filter(incident_id__in=ids, met_at__isnull=True).order_by("due_at", "id"):
        incident = by_pk[deadline.incident_id]
        try:
            label = clocks.LABELS[clocks.Clock(deadline.clock)]
        except (ValueError, KeyError):
            label = deadline.clock
        sections["clocks"].append({
            "source": _source(incident), "label": f"{incident.reference}: {label}",
            "text": "Overdue." if deadline.due_at <= now else "Open.", "at": _iso(deadline.due_at), "fields": [],
        })

    return {"gathered_at": now.isoformat(), "incidents": [i.pk for i in incidents],
            "sections": [{"key": key, "heading": heading, "items": sections[key]} for key, heading in SECTIONS]}


def _states_of(ids: list[int]) -> dict[int, set[str]]:
    through = Incident.affected_member_states.through
    states: dict[int, set[str]] = {pk: set() for pk in ids}
    for pk, code in through.objects.filter(incident_id__in=ids).values_list("incident_id", "memberstate__code"):
        states[pk].add(code)
    return states


def _sectors_of(ids: list[int]) -> dict[int, list[str]]:
    through = Incident.sectors.through
    sectors: dict[int, list[str]] = {}
    for row in through.objects.filter(incident_id__in=ids).select_related("sector__parent").order_by("sector__code"):
        sectors.setdefault(row.incident_id, []).append(str(row.sector))
    return sectors


# --- A reader's version ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReaderItem:
    label: str
    text: str
    at: datetime | None
    fields: tuple[tuple[str, str], ...]
    tlp: str
    source: dict


@dataclass(frozen=True)
class ReaderSection:
    key: str
    heading: str
    items: tuple[ReaderItem, ...]
    omitted_note: str = ""


@dataclass(frozen=True)
class ReaderReport:
    report: SituationReport
    title: str
    tlp: str
    live: bool  # a draft or review: the facts are read now, not frozen
    gathered_at: datetime | None
    summary: tuple[tuple[str, str], ...]
    sections: tuple[ReaderSection, ...]
    omitted_note: str
    map_states: dict[str, str] = field(default_factory=dict)
    charts: tuple[PrintChart, ...] = ()
    incidents: tuple[Incident, ...] = ()


def isaa_summary(report: SituationReport) -> tuple[tuple[str, str], ...]:
    return tuple((label, getattr(report, f"summary_{key}")) for key, label in ISAA_FIELDS)


def _readable(user, items: list[dict]) -> tuple[set[int], set[int], set[int]]:
    """The incidents, timeline entries and Reserve requests among these sources the reader may read (3 queries)."""
    incident_ids = {i["source"]["incident"] for i in items}
    entry_ids = {i["source"]["entry"] for i in items if i["source"].get("entry")}
    request_ids = {i["source"]["request"] for i in items if i["source"].get("request")}
    incidents = set(incidents_visible_to(user).filter(pk__in=incident_ids).values_list("pk", flat=True))
    entries = set(timeline_entries_visible_to(user).filter(pk__in=entry_ids, incident_id__in=incidents)
                  .values_list("pk", flat=True)) if entry_ids else set()
    requests = set(requests_visible_to(user).filter(pk__in=request_ids).values_list("pk", flat=True)) if request_ids else set()
    return incidents, entries, requests


def report_for_reader(*, report: SituationReport, user, now=None) -> ReaderReport:
    """The version of the report this person may read; 404 when they may not read it at all."""
    if not reports_visible_to(user).filter(pk=report.pk).exists():
        raise Http404("No such situation report.")
    published = report.status == SituationReport.Status.PUBLISHED
    snapshot = report.snapshot if published and report.snapshot else gather(report, now=now)
    all_items = [item for section in snapshot["sections"] for item in section["items"]]
    incidents, entries, requests = _readable(user, all_items)

    def readable(item) -> bool:
        src = item["source"]
        return (src["incident"] in incidents and (not src.get("entry") or src["entry"] in entries)
                and (not src.get("request") or src["request"] in requests))

    sections, left_out, map_states = [], False, {}
    severity: dict[str, int] = {}
    threat: dict[str, int] = {}
    for section in snapshot["sections"]:
        kept = [item for item in section["items"] if readable(item)]
        dropped = len(kept) < len(section["items"])
        left_out |= dropped
        for item in kept:
            if section["key"] == "affected":
                for code in item.get("states", []):
                    map_states.setdefault(code, "affected")
            if section["key"] == "contributions":
                map_states[item["state"]] = "contributed"
                assessment = item.get("assessment", {})
                if assessment.get("impact_severity"):
                    severity[assessment["impact_severity"]] = severity.get(assessment["impact_severity"], 0) + 1
                if assessment.get("threat_severity"):
                    threat[assessment["threat_severity"]] = threat.get(assessment["threat_severity"], 0) + 1
        sections.append(ReaderSection(
            key=section["key"], heading=section["heading"], omitted_note=SECTION_NOTE if dropped else "",
            items=tuple(ReaderItem(label=i["label"], text=i["text"], at=parse_datetime(i["at"]) if i.get("at") else None,
                                   fields=tuple(tuple(f) for f in i.get("fields", [])), tlp=i["source"]["tlp"],
                                   source=i["source"]) for i in kept)))
    charts = (
        PrintChart("Impact severity reported by member states",
                   tuple((v.label, severity[v.value]) for v in ImpactSeverity if v.value in severity)),
        PrintChart("Threat severity reported by member states",
                   tuple((v.label, threat[v.value]) for v in ThreatSeverity if v.value in threat)),
    )
    readable_incidents = tuple(i for i in report_incidents(report) if i.pk in incidents)
    return ReaderReport(
        report=report, title=report.title or f"{report.label} on {report.incident.reference}", tlp=report.tlp,
        live=not published, gathered_at=parse_datetime(snapshot["gathered_at"]),
        summary=isaa_summary(report) if report.level >= 3 else (), sections=tuple(sections),
        omitted_note=REPORT_NOTE if left_out else "", map_states=map_states,
        charts=tuple(c for c in charts if c.bars), incidents=readable_incidents,
    )


def pdf_filename(report: SituationReport) -> str:
    """The PDF's file name, the same from the page and the API: incident, number and version."""
    return f"sitrep-{report.incident_id}-{report.number}-v{report.version}.pdf"


def print_document(reader: ReaderReport, *, now=None) -> PrintDocument:
    """The reader's version as ``awareness.pdf`` lays it out."""
    report = reader.report
    status = (f"published {when(report.published_at)}" if report.published_at
              else f"{report.get_status_display().lower()}, not published")
    if report.superseded_at:
        status += f"; superseded by a correction {when(report.superseded_at)}"
    sections = []
    for heading, text in (("Assessment", report.assessment), ("Next steps", report.next_steps)):
        if text:
            sections.append(PrintSection(heading=heading, paragraphs=tuple(p for p in text.split("\n\n") if p.strip())))
    for section in reader.sections:
        table = ()
        if section.items:
            table = (("Item", "Says", "When", "TLP"),) + tuple(
                (item.label, " ".join([item.text, *(f"{k}: {v}." for k, v in item.fields)]), when(item.at),
                 TLP(item.tlp).label) for item in section.items)
        sections.append(PrintSection(heading=section.heading, table=table, omitted_note=section.omitted_note,
                                     paragraphs=() if section.items or section.omitted_note else ("Nothing recorded.",)))
    return PrintDocument(
        title=reader.title, tlp=report.tlp, generated_at=now or timezone.now(),
        subtitle=f"{report.label} · crisis level {report.level} · {report.author_organisation.name} · {status}",
        summary=reader.summary, sections=tuple(sections), map_states=dict(reader.map_states), charts=reader.charts,
        omitted_note=reader.omitted_note,
    )


# --- The clock --------------------------------------------------------------------------------------


def last_published_at(incident_id: int):
    return (SituationReport.objects.filter(incident_id=incident_id, status=SituationReport.Status.PUBLISHED)
            .order_by("-published_at").values_list("published_at", flat=True).first())
