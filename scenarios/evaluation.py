"""An exercise's evaluation as a pure computation over plain rows (docs/exercises.md, "Evaluation").

``scenarios.selectors.evaluation_of`` reads the exercise's own objects (injects, the Events of
people's actions, alerts, NIS2 reports and situation updates, deadlines, Reserve requests) into
the row types below; ``evaluate`` turns them into figures. Every duration is given in real time
and in exercise time (``liaison.exercise_time.exercise_duration`` with the exercise's scale).
No ORM, no clock: ``as_of`` says up to when clocks count as passed.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from liaison.exercise_time import exercise_duration

ALERT_CLOCK = "alert_acknowledgement"


@dataclass(frozen=True)
class Took:
    """A duration on both clocks: what the wall clock measured and what the exercise's clock read."""

    real: timedelta
    exercise: timedelta

    @property
    def real_minutes(self) -> float:
        return self.real / timedelta(minutes=1)

    @property
    def exercise_minutes(self) -> float:
        return self.exercise / timedelta(minutes=1)


def took(start: datetime | None, end: datetime | None, *, scale) -> Took | None:
    if start is None or end is None:
        return None
    real = end - start
    return Took(real, exercise_duration(real, scale=scale))


def words(duration: Took | None) -> str:
    """"7 min real · 42 min exercise"; "—" for nothing."""
    if duration is None:
        return "—"
    return f"{_span(duration.real)} real · {_span(duration.exercise)} exercise"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign, seconds = ("−" if seconds < 0 else ""), abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{sign}{hours} h {minutes:02d} min"
    return f"{sign}{minutes} min" + (f" {seconds:02d} s" if seconds else "")


# --- What the selectors read ------------------------------------------------------------------------


@dataclass(frozen=True)
class InjectRow:
    pk: int
    title: str
    kind: str  # Inject.Kind value
    kind_label: str
    organisation: str  # the organisation that plays it (code)
    released_at: datetime
    keys: tuple[tuple[str, int], ...]  # what it made: ("incident", 12), ("request", 3)
    alerted: tuple[str, ...] = ()  # organisations it got alerted (expected to respond to it)


@dataclass(frozen=True)
class ActionRow:
    """One action by a person of a participating organisation (an Event of the exercise), on an object."""

    at: datetime
    organisation: str
    key: tuple[str, int]
    kind: str


@dataclass(frozen=True)
class AlertRow:
    pk: int
    incident: str  # reference
    organisation: str
    level: int
    raised_at: datetime
    due_at: datetime | None
    answered_at: datetime | None
    state: str


@dataclass(frozen=True)
class ReportRow:
    incident: str
    organisation: str
    kind: str  # early_warning, notification, …, situation_update
    kind_label: str
    clock_start: datetime  # the incident's awareness: where its NIS2 clocks start
    submitted_at: datetime


@dataclass(frozen=True)
class ClockRow:
    kind: str  # the Deadline's clock, "reserve:response", …
    label: str
    subject: str  # incident or request reference
    organisation: str  # whose clock it is
    due_at: datetime
    met_at: datetime | None


@dataclass(frozen=True)
class RequestRow:
    reference: str
    organisation: str  # the requester
    requested_at: datetime | None  # the requester's submission
    submitted_at: datetime | None  # when it reached the contracting authority
    decided_at: datetime | None
    outcome: str
    decided_by: str  # the deciding organisation


# --- Figures ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InjectFigure:
    inject: InjectRow
    first_response_at: datetime | None
    responder: str
    response: Took | None
    by_organisation: dict  # org code -> (first action at, Took)


@dataclass(frozen=True)
class AlertFigure:
    alert: AlertRow
    to_answer: Took | None
    late: bool  # answered after its due time, or never answered by the time it was due


@dataclass(frozen=True)
class ReportFigure:
    report: ReportRow
    after_start: Took


@dataclass(frozen=True)
class MissedClock:
    clock: ClockRow
    met_late: bool  # met after its due time (False: still not met)


@dataclass(frozen=True)
class DecisionFigure:
    request: RequestRow
    from_request: Took | None
    from_authority: Took | None


@dataclass
class Evaluation:
    scale: object
    as_of: datetime
    injects: list[InjectFigure] = field(default_factory=list)
    alerts: list[AlertFigure] = field(default_factory=list)
    reports: list[ReportFigure] = field(default_factory=list)
    missed: list[MissedClock] = field(default_factory=list)
    decisions: list[DecisionFigure] = field(default_factory=list)
    organisation: str = ""  # set on a participant's report: every list is about it

    @property
    def unanswered_alerts(self) -> list[AlertFigure]:
        return [a for a in self.alerts if a.alert.answered_at is None]

    @property
    def unanswered_injects(self) -> list[InjectFigure]:
        """Injects nobody (on a participant's report: not that organisation) responded to."""
        if self.organisation:
            return [i for i in self.injects if self.organisation not in i.by_organisation]
        return [i for i in self.injects if i.first_response_at is None]

    def missed_by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for m in self.missed:
            counts[m.clock.kind] = counts.get(m.clock.kind, 0) + 1
        return dict(sorted(counts.items()))

    def never_answered(self) -> dict[str, list[str]]:
        """Organisation code -> what it never answered ("alert 12 on INC-…", "inject #4 …"), for the summary."""
        silent: dict[str, list[str]] = {}
        for a in self.unanswered_alerts:
            silent.setdefault(a.alert.organisation, []).append(f"alert on {a.alert.incident} (level {a.alert.level})")
        for i in self.injects:
            for org in i.inject.alerted:
                if org not in i.by_organisation and (not self.organisation or org == self.organisation):
                    silent.setdefault(org, []).append(f"inject #{i.inject.pk} {i.inject.title}")
        return dict(sorted(silent.items()))

    def mean_alert_answer(self) -> dict[str, Took]:
        """Organisation code -> mean time to answer its alerts (answered ones)."""
        spans: dict[str, list[Took]] = {}
        for a in self.alerts:
            if a.to_answer is not None:
                spans.setdefault(a.alert.organisation, []).append(a.to_answer)
        return {org: Took(sum((t.real for t in ts), timedelta()) / len(ts),
                          sum((t.exercise for t in ts), timedelta()) / len(ts)) for org, ts in sorted(spans.items())}


def evaluate(*, scale, as_of: datetime, injects: list[InjectRow], actions: list[ActionRow], alerts: list[AlertRow],
             reports: list[ReportRow], clocks: list[ClockRow], requests: list[RequestRow]) -> Evaluation:
    """The exercise's figures. A clock counts as missed when its due time passed by ``as_of`` and it was not met
    by then (still open, or met late); an alert's acknowledgement is such a clock too."""
    result = Evaluation(scale=scale, as_of=as_of)
    by_key: dict[tuple[str, int], list[ActionRow]] = {}
    for action in sorted(actions, key=lambda a: a.at):
        by_key.setdefault(action.key, []).append(action)
    for inject in sorted(injects, key=lambda i: (i.released_at, i.pk)):
        after = sorted((a for key in inject.keys for a in by_key.get(key, ()) if a.at >= inject.released_at),
                       key=lambda a: a.at)
        per_org: dict[str, tuple[datetime, Took]] = {}
        for action in after:
            per_org.setdefault(action.organisation, (action.at, took(inject.released_at, action.at, scale=scale)))
        first = after[0] if after else None
        result.injects.append(InjectFigure(
            inject=inject, first_response_at=first.at if first else None, responder=first.organisation if first else "",
            response=took(inject.released_at, first.at, scale=scale) if first else None, by_organisation=per_org))
    for alert in sorted(alerts, key=lambda a: (a.raised_at, a.organisation)):
        late = alert.due_at is not None and alert.due_at <= as_of and (
            alert.answered_at is None or alert.answered_at > alert.due_at)
        result.alerts.append(AlertFigure(alert, took(alert.raised_at, alert.answered_at, scale=scale), late))
        if late:
            result.missed.append(MissedClock(ClockRow(
                kind=ALERT_CLOCK, label="Alert acknowledgement (the level's ack time)", subject=alert.incident,
                organisation=alert.organisation, due_at=alert.due_at, met_at=alert.answered_at),
                met_late=alert.answered_at is not None))
    result.reports = [ReportFigure(r, took(r.clock_start, r.submitted_at, scale=scale))
                      for r in sorted(reports, key=lambda r: (r.submitted_at, r.incident))]
    for clock in sorted(clocks, key=lambda c: (c.due_at, c.kind)):
        if clock.due_at <= as_of and (clock.met_at is None or clock.met_at > clock.due_at):
            result.missed.append(MissedClock(clock, met_late=clock.met_at is not None))
    result.missed.sort(key=lambda m: (m.clock.due_at, m.clock.kind, m.clock.organisation))
    result.decisions = [DecisionFigure(r, took(r.requested_at, r.decided_at, scale=scale),
                                       took(r.submitted_at, r.decided_at, scale=scale))
                        for r in sorted(requests, key=lambda r: r.reference)]
    return result


def for_organisation(evaluation: Evaluation, code: str) -> Evaluation:
    """A participant's own report: its alerts, reports, clocks and requests, and its responses to the injects."""
    return Evaluation(
        scale=evaluation.scale, as_of=evaluation.as_of, organisation=code,
        injects=[i for i in evaluation.injects
                 if code in i.by_organisation or code in i.inject.alerted or i.inject.organisation == code],
        alerts=[a for a in evaluation.alerts if a.alert.organisation == code],
        reports=[r for r in evaluation.reports if r.report.organisation == code],
        missed=[m for m in evaluation.missed if m.clock.organisation == code],
        decisions=[d for d in evaluation.decisions if code in (d.request.organisation, d.request.decided_by)])


# --- Charts: plain bars, the same data for the page (inline SVG) and the PDF --------------------------


def bars(pairs: list[tuple[str, float]]) -> list[dict]:
    """``[{"label", "value", "width"}]`` with widths 0–100 relative to the largest value (the page's SVG)."""
    top = max((v for _, v in pairs), default=0)
    return [{"label": label, "value": round(value), "width": round(100 * value / top, 1) if top else 0}
            for label, value in pairs]


def charts(evaluation: Evaluation, names: dict[str, str]) -> list[tuple[str, list[tuple[str, float]]]]:
    """The report's charts as (title, [(label, exercise minutes or count)])."""
    answer = [(names.get(org, org), t.exercise_minutes) for org, t in evaluation.mean_alert_answer().items()]
    response = [(f"#{i.inject.pk} {i.inject.title}", i.response.exercise_minutes) for i in evaluation.injects
                if i.response is not None]
    missed = list(evaluation.missed_by_kind().items())
    return [("Mean time to answer an alert, per organisation (exercise minutes)", answer),
            ("Time from inject to first response (exercise minutes)", response),
            ("Missed clocks, per kind", missed)]


def lessons(evaluation: Evaluation, names: dict[str, str]) -> list[str]:
    """The report's lesson lines: what the figures say went wrong, each one a candidate Blueprint change."""
    lines = []
    labels = {m.clock.kind: m.clock.label for m in evaluation.missed}
    for kind, count in evaluation.missed_by_kind().items():
        late = sum(1 for m in evaluation.missed if m.clock.kind == kind and m.met_late)
        lines.append(f"{count} {labels[kind]} clock{'s' if count != 1 else ''} missed"
                     + (f" ({late} met late, {count - late} never met)" if late else " (never met)")
                     + ": check that the deadline fits the work it asks for, and who is reminded.")
    for org, items in evaluation.never_answered().items():
        lines.append(f"{names.get(org, org)} never answered: {'; '.join(items)}. Check its contacts and on-call "
                     "arrangements for alerts.")
    for d in evaluation.decisions:
        if d.request.decided_at is None:
            lines.append(f"Reserve request {d.request.reference} was not decided during the exercise.")
    return lines
