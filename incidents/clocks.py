"""The NIS2 reporting clocks (Art. 23) as a pure function of an incident's facts.

Hour-based periods (24 h, 72 h) are elapsed time, computed in UTC so daylight-saving
changes never stretch or shrink them. "One month" is a calendar month, computed in the
reporting member state's own time zone (a notification at 10:00 in Berlin on 15 March
makes the final report due at 10:00 in Berlin on 15 April, across the DST change),
clamped to the month's last day (31 January → 28/29 February). The zone is data on the
member state (``liaison.MemberState.time_zone``), passed in with the facts.

That date is the strict reading: Regulation 1182/71 would end a period at the end of its
last day and move it past a weekend or public holiday, and national law may be more
lenient (``STRICT_READING`` is what pages say about it).

Only a significant incident (Art. 23(3)) carries these clocks; a voluntary notification or
a near miss (Art. 30) has none.

An incident of an exercise on a compressed clock (``Facts.time_scale``, its exercise's) runs
every period ``time_scale`` times faster (``liaison.exercise_time``): 24 h at ×6 is due 4 real
hours after awareness, the month its real span divided by 6. Live incidents have scale 1.
"""

import calendar
import functools
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from liaison.exercise_time import LIVE, compress
from liaison.exercise_time import deadline as after

EARLY_WARNING_HOURS = 24  # Art. 23(4)(a)
NOTIFICATION_HOURS = 72  # Art. 23(4)(b)
INITIAL_RESPONSE_HOURS = 24  # Art. 23(5): the CSIRT's initial feedback
# Art. 23(6) says "without undue delay"; the portal holds the CSIRT to this many hours.
CROSS_BORDER_INFORM_HOURS = 24
DUE_SOON = timedelta(hours=6)

STRICT_READING = (
    "The portal's date is the strict reading: Regulation (EEC, Euratom) No 1182/71 would end the period at the "
    "end of that day and move it to the next working day, and national law may be more lenient."
)

class Clock(StrEnum):
    EARLY_WARNING = "early_warning"
    NOTIFICATION = "notification"
    INTERMEDIATE = "intermediate"
    FINAL_REPORT = "final_report"
    INITIAL_RESPONSE = "initial_response"
    CROSS_BORDER_INFORM = "cross_border_inform"
    # Not NIS2: the Blueprint level's situation-update interval, kept by the sweep.
    SITUATION_UPDATE = "situation_update"


NIS2_CLOCKS = frozenset(c.value for c in Clock) - {Clock.SITUATION_UPDATE.value}


LABELS = {
    Clock.EARLY_WARNING: "Early warning (entity, 24 h after awareness)",
    Clock.NOTIFICATION: "Incident notification (entity, 72 h after awareness)",
    Clock.INTERMEDIATE: "Intermediate report (on request)",
    Clock.FINAL_REPORT: "Final report (entity, one month after the notification; if still ongoing, a progress "
                        "report then and the final report one month after handling)",
    Clock.INITIAL_RESPONSE: "Initial response to the entity (CSIRT, 24 h after the early warning)",
    Clock.CROSS_BORDER_INFORM: "Inform the other affected member states and ENISA (CSIRT)",
    Clock.SITUATION_UPDATE: "Situation update (Blueprint level's interval)",
}


class State(StrEnum):
    PENDING = "pending"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    MET = "met"
    MET_LATE = "met_late"


@dataclass(frozen=True)
class IntermediateRequest:
    """An authority's request for an intermediate report (Art. 23(4)(c)): its own clock."""

    sequence: int
    requested_at: datetime
    due_at: datetime


@dataclass(frozen=True)
class Facts:
    aware_at: datetime
    time_zone: str  # the reporting member state's (liaison.MemberState.time_zone)
    significant: bool = True  # Art. 23(3); False for a voluntary notification or a near miss (Art. 30)
    early_warning_at: datetime | None = None
    notification_at: datetime | None = None
    final_report_at: datetime | None = None
    intermediate_requests: tuple[IntermediateRequest, ...] = ()
    intermediate_reports: tuple[datetime, ...] = ()  # submission times of every intermediate report
    progress_report_at: datetime | None = None  # the first progress report submitted while ongoing
    handled_at: datetime | None = None  # when marked handled (resolved/closed); None while ongoing
    initial_response_at: datetime | None = None
    affected_member_states: int = 1
    multi_member_state_since: datetime | None = None
    others_informed_at: datetime | None = None  # when the last other affected state (and ENISA) was reached
    time_scale: object = LIVE  # the exercise's (liaison.Exercise.time_scale); 1 for live work


@dataclass(frozen=True)
class Deadline:
    clock: Clock
    due_at: datetime
    met_at: datetime | None
    state: State
    sequence: int = 0  # the intermediate request's number; 0 for every other clock

    @property
    def label(self) -> str:
        if self.clock == Clock.INTERMEDIATE and self.sequence:
            return f"{LABELS[self.clock]} — request {self.sequence}"
        return LABELS[self.clock]


@functools.lru_cache(maxsize=64)
def _zone(tz_name: str) -> zoneinfo.ZoneInfo:
    """The zone, kept: ``ZoneInfo`` keeps only the last eight strongly, and the 27 member states' zones in turn
    were read from disk and parsed again for most reports (issue 16)."""
    return zoneinfo.ZoneInfo(tz_name)


def add_calendar_month(moment: datetime, tz_name: str) -> datetime:
    """The same wall-clock time one calendar month later in ``tz_name``, returned in UTC."""
    zone = _zone(tz_name)
    local = moment.astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    later = local.replace(tzinfo=None).replace(year=year, month=month, day=day).replace(tzinfo=zone)
    return later.astimezone(_zone("UTC"))


def state_of(due_at: datetime, met_at: datetime | None, now: datetime) -> State:
    if met_at is not None:
        return State.MET if met_at <= due_at else State.MET_LATE
    if now > due_at:
        return State.OVERDUE
    if due_at - now <= DUE_SOON:
        return State.DUE_SOON
    return State.PENDING


def answered_by(request: IntermediateRequest, reports: tuple[datetime, ...]) -> datetime | None:
    """Art. 23(4)(c): a request is answered only by an intermediate report submitted after it was made."""
    return min((at for at in reports if at >= request.requested_at), default=None)


def final_report_due(facts: Facts) -> datetime | None:
    """When the final report is due, or None while it waits for the incident to be handled.

    Art. 23(4)(d): one month after the incident notification (as submitted; until then, after it
    is due). Art. 23(4)(e): if the incident is still being handled then and a progress report is
    given, the final report is due one month after the incident is marked handled.
    """
    scale = facts.time_scale
    basis = facts.notification_at or after(facts.aware_at, timedelta(hours=NOTIFICATION_HOURS), scale=scale)
    due = compress(basis, add_calendar_month(basis, facts.time_zone), scale=scale)
    ongoing_at_due = facts.handled_at is None or facts.handled_at > due
    if facts.progress_report_at is None or not ongoing_at_due:
        return due
    handled = facts.handled_at or facts.final_report_at  # a final report says the handling is over
    return compress(handled, add_calendar_month(handled, facts.time_zone), scale=scale) if handled else None


def final_report_awaits_handling(facts: Facts) -> bool:
    """Art. 23(4)(e): a progress report was given and the incident is still being handled."""
    return facts.significant and facts.final_report_at is None and final_report_due(facts) is None


def deadlines(facts: Facts, *, now: datetime) -> list[Deadline]:
    """Every clock running for the incident, in due order; none for an incident that is not significant."""
    if not facts.significant:
        return []  # Art. 23(3) / Art. 30: recorded and shared, no mandatory clock
    scale = facts.time_scale
    due: list[tuple[Clock, datetime, datetime | None, int]] = [
        (Clock.EARLY_WARNING, after(facts.aware_at, timedelta(hours=EARLY_WARNING_HOURS), scale=scale),
         facts.early_warning_at, 0),
        (Clock.NOTIFICATION, after(facts.aware_at, timedelta(hours=NOTIFICATION_HOURS), scale=scale),
         facts.notification_at, 0),
    ]
    final_due = final_report_due(facts)
    if final_due is not None:
        due.append((Clock.FINAL_REPORT, final_due, facts.final_report_at, 0))
    for request in facts.intermediate_requests:
        due.append((Clock.INTERMEDIATE, request.due_at, answered_by(request, facts.intermediate_reports),
                    request.sequence))
    if facts.early_warning_at is not None:
        due.append(
            (Clock.INITIAL_RESPONSE, after(facts.early_warning_at, timedelta(hours=INITIAL_RESPONSE_HOURS), scale=scale),
             facts.initial_response_at, 0)
        )
    if facts.affected_member_states >= 2:
        since = facts.multi_member_state_since or facts.aware_at
        due.append(
            (Clock.CROSS_BORDER_INFORM, after(since, timedelta(hours=CROSS_BORDER_INFORM_HOURS), scale=scale),
             facts.others_informed_at, 0)
        )
    result = [Deadline(clock, at, met, state_of(at, met, now), seq) for clock, at, met, seq in due]
    return sorted(result, key=lambda d: (d.due_at, d.sequence))


def next_due(items: list[Deadline]) -> Deadline | None:
    """The earliest deadline not yet met; of clocks due at once, the first by name, as the list API orders them
    (``incidents.api.listing``), so a list and a detail name the same one whatever order ``items`` come in."""
    return min((d for d in items if d.met_at is None), default=None,
               key=lambda d: (d.due_at, getattr(d.clock, "value", d.clock), d.sequence))


def overdue(items: list[Deadline]) -> list[Deadline]:
    return [d for d in items if d.state == State.OVERDUE]
