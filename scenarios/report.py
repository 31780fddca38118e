"""The after-action report: an evaluation laid out as sections, charts and lessons, for the page and the PDF.

One layout for both: ``report_for`` gives the sections as plain tables of text (the page renders
them, ``print_document`` hands them to ``awareness.pdf`` through its ``PrintDocument`` contract),
so the HTML and the PDF say the same figures. Pure: no ORM.

TLP: the whole report is **TLP:AMBER** — it names each participating organisation with what it
missed and never answered, which the participants may share inside their organisations on a
need-to-know basis (to learn from it), not beyond; a participant's own report is
**TLP:AMBER+STRICT** — it is about one organisation and for that organisation only.
"""

from dataclasses import dataclass
from datetime import datetime

from awareness.documents import PrintChart, PrintDocument, PrintSection
from csoa_portal.display import when
from liaison.exercise_time import describe
from scenarios import evaluation as ev

WHOLE_TLP = "amber"
PARTICIPANT_TLP = "amber+strict"


@dataclass(frozen=True)
class Report:
    title: str
    subtitle: str
    marking: str  # "EXERCISE — <name>"
    tlp: str
    summary: tuple[tuple[str, str], ...]
    sections: tuple[PrintSection, ...]
    charts: tuple[tuple[str, list[dict]], ...]  # (title, bars) for the page's SVG
    print_charts: tuple[PrintChart, ...]
    lessons: tuple[str, ...]


def _name(names, code):
    return names.get(code, code) if code else "—"


def report_for(exercise, evaluation: ev.Evaluation, names: dict[str, str]) -> Report:
    """``names``: organisation code -> name."""
    own = evaluation.organisation
    marking = f"EXERCISE — {exercise.name}"
    title = f"{marking} · After-action report" + (f" of {_name(names, own)}" if own else "")
    scale = describe(exercise.time_scale) or "real time"
    missed = evaluation.missed_by_kind()
    silent = evaluation.never_answered()
    summary = (
        ("Exercise", f"{exercise.name} ({exercise.get_kind_display()}), {when(exercise.starts_at)} to "
                     f"{when(exercise.ends_at)}, exercise time {scale}"),
        ("Measured up to", when(evaluation.as_of)),
        ("Injects", f"{len(evaluation.injects)} released, {len(evaluation.unanswered_injects)} without a response"
                    + (" from this organisation" if own else "")),
        ("Alerts", f"{len(evaluation.alerts)} raised, {len(evaluation.unanswered_alerts)} never answered"),
        ("Missed clocks", ", ".join(f"{kind} {n}" for kind, n in missed.items()) or "none"),
        ("Never answered", "; ".join(_name(names, org) for org in silent) or "nobody"),
    )
    sections = (
        PrintSection("Injects: time to the first response", (
            "From the inject's release to the first action by a person of a participating organisation on what it "
            "made (an update, an acknowledgement, a share, a report, a decision on the request).",), (
            ("#", "Inject", "Played by", "Released", "First response", "By", "Took"),
            *((str(i.inject.pk), f"{i.inject.title} ({i.inject.kind_label})", _name(names, i.inject.organisation),
               when(i.inject.released_at), when(i.first_response_at) or "none",
               _name(names, i.responder) if i.responder else "—",
               ev.words(i.by_organisation[own][1] if own and own in i.by_organisation else
                        None if own else i.response))
              for i in evaluation.injects))),
        PrintSection("Alerts: time to acknowledgement", (
            "From the alert to the organisation's answer (acknowledged, or not affected).",), (
            ("Incident", "Organisation", "Level", "Raised", "Answered", "Answer", "Took", "On time"),
            *((a.alert.incident, _name(names, a.alert.organisation), str(a.alert.level), when(a.alert.raised_at),
               when(a.alert.answered_at) or "never", a.alert.state.replace("_", " "), ev.words(a.to_answer),
               "no" if a.late else "yes") for a in evaluation.alerts))),
        PrintSection("Reports: time from the incident's clock start", (
            "NIS2 reports and situation updates, from the incident's awareness (where its clocks start) to "
            "submission.",), (
            ("Incident", "Organisation", "Report", "Submitted", "After the clock start"),
            *((r.report.incident, _name(names, r.report.organisation), r.report.kind_label, when(r.report.submitted_at),
               ev.words(r.after_start)) for r in evaluation.reports))),
        PrintSection("Missed clocks", (
            "Deadlines that passed (by the time measured up to) without being met: still open, or met late.",), (
            ("Clock", "Subject", "Organisation", "Due", "Met"),
            *((m.clock.label, m.clock.subject, _name(names, m.clock.organisation), when(m.clock.due_at),
               when(m.clock.met_at) or "not met") for m in evaluation.missed))),
        PrintSection("Who never answered", tuple(
            f"{_name(names, org)}: {'; '.join(items)}." for org, items in silent.items()) or ("Everyone answered.",)),
        PrintSection("Reserve decision times", (
            "From the request's submission, and from reaching the contracting authority, to the decision.",), (
            ("Request", "Requested by", "Submitted", "Decided", "Outcome", "From submission", "From the authority"),
            *((d.request.reference, _name(names, d.request.organisation), when(d.request.requested_at),
               when(d.request.decided_at) or "not decided", d.request.outcome or "—", ev.words(d.from_request),
               ev.words(d.from_authority)) for d in evaluation.decisions))),
    )
    charts = ev.charts(evaluation, names)
    lessons = tuple(ev.lessons(evaluation, names))
    if lessons:
        sections += (PrintSection("Lessons", lessons),)
    return Report(
        title=title, subtitle=f"{marking} · {'for ' + _name(names, own) if own else 'the whole exercise'}",
        marking=marking, tlp=PARTICIPANT_TLP if own else WHOLE_TLP, summary=summary, sections=sections,
        charts=tuple((t, ev.bars(pairs)) for t, pairs in charts),
        print_charts=tuple(PrintChart(t, tuple((label, round(v)) for label, v in pairs)) for t, pairs in charts),
        lessons=lessons)


def print_document(report: Report, *, generated_at: datetime) -> PrintDocument:
    """The report for ``awareness.pdf.render_pdf``: the title (every page's header) starts "EXERCISE — <name>"."""
    return PrintDocument(title=report.title, subtitle=report.subtitle, tlp=report.tlp, generated_at=generated_at,
                         summary=report.summary, sections=report.sections, charts=report.print_charts)
