"""The NIS2 reporting clocks (Art. 23) as a pure function of an incident's facts.

Hour-based periods (24 h, 72 h) are elapsed time, computed in UTC so daylight-saving
changes never stretch or shrink them. "One month" is a calendar month, computed in the
reporting member state's own time zone (a notification at 10:00 in Brussels on 15 March
makes the final report due at 10:00 in Brussels on 15 April, across the DST change),
clamped to the month's last day (31 January → 28/29 February).
"""

import calendar
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

EARLY_WARNING_HOURS = 24  # Art. 23(4)(a)
NOTIFICATION_HOURS = 72  # Art. 23(4)(b)
INITIAL_RESPONSE_HOURS = 24  # Art. 23(5): the CSIRT's initial feedback
# Art. 23(6) says "without undue delay"; the portal holds the CSIRT to this many hours.
CROSS_BORDER_INFORM_HOURS = 24
DUE_SOON = timedelta(hours=6)

# IANA zone of each participant (capital); DEP-associated countries included.
MEMBER_STATE_TIMEZONES = {
    "AT": "Europe/Vienna", "BE": "Europe/Brussels", "BG": "Europe/Sofia", "HR": "Europe/Zagreb",
    "CY": "Asia/Nicosia", "CZ": "Europe/Prague", "DK": "Europe/Copenhagen", "EE": "Europe/Tallinn",
    "FI": "Europe/Helsinki", "FR": "Europe/Paris", "DE": "Europe/Berlin", "GR": "Europe/Athens",
    "HU": "Europe/Budapest", "IE": "Europe/Dublin", "IT": "Europe/Rome", "LV": "Europe/Riga",
    "LT": "Europe/Vilnius", "LU": "Europe/Luxembourg", "MT": "Europe/Malta", "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw", "PT": "Europe/Lisbon", "RO": "Europe/Bucharest", "SK": "Europe/Bratislava",
    "SI": "Europe/Ljubljana", "ES": "Europe/Madrid", "SE": "Europe/Stockholm",
    "IS": "Atlantic/Reykjavik", "LI": "Europe/Vaduz", "NO": "Europe/Oslo", "UA": "Europe/Kyiv",
    "MD": "Europe/Chisinau", "ME": "Europe/Podgorica", "MK": "Europe/Skopje", "AL": "Europe/Tirane",
    "RS": "Europe/Belgrade", "EU": "Europe/Brussels",
}


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
    Clock.FINAL_REPORT: "Final report (entity, one month after the notification)",
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
class Facts:
    aware_at: datetime
    member_state_code: str
    early_warning_at: datetime | None = None
    notification_at: datetime | None = None
    final_report_at: datetime | None = None
    intermediate_requested_due: datetime | None = None
    intermediate_at: datetime | None = None
    initial_response_at: datetime | None = None
    affected_member_states: int = 1
    multi_member_state_since: datetime | None = None
    others_informed_at: datetime | None = None


@dataclass(frozen=True)
class Deadline:
    clock: Clock
    due_at: datetime
    met_at: datetime | None
    state: State

    @property
    def label(self) -> str:
        return LABELS[self.clock]


def add_calendar_month(moment: datetime, tz_name: str) -> datetime:
    """The same wall-clock time one calendar month later in ``tz_name``, returned in UTC."""
    zone = zoneinfo.ZoneInfo(tz_name)
    local = moment.astimezone(zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    later = local.replace(tzinfo=None).replace(year=year, month=month, day=day).replace(tzinfo=zone)
    return later.astimezone(zoneinfo.ZoneInfo("UTC"))


def state_of(due_at: datetime, met_at: datetime | None, now: datetime) -> State:
    if met_at is not None:
        return State.MET if met_at <= due_at else State.MET_LATE
    if now > due_at:
        return State.OVERDUE
    if due_at - now <= DUE_SOON:
        return State.DUE_SOON
    return State.PENDING


def deadlines(facts: Facts, *, now: datetime) -> list[Deadline]:
    """Every clock running for the incident, in due order."""
    tz_name = MEMBER_STATE_TIMEZONES.get(facts.member_state_code, "Europe/Brussels")
    due: list[tuple[Clock, datetime, datetime | None]] = [
        (Clock.EARLY_WARNING, facts.aware_at + timedelta(hours=EARLY_WARNING_HOURS), facts.early_warning_at),
        (Clock.NOTIFICATION, facts.aware_at + timedelta(hours=NOTIFICATION_HOURS), facts.notification_at),
    ]
    # The final report counts from the notification as submitted; until then, from when it is due.
    notification_basis = facts.notification_at or facts.aware_at + timedelta(hours=NOTIFICATION_HOURS)
    due.append((Clock.FINAL_REPORT, add_calendar_month(notification_basis, tz_name), facts.final_report_at))
    if facts.intermediate_requested_due is not None:
        due.append((Clock.INTERMEDIATE, facts.intermediate_requested_due, facts.intermediate_at))
    if facts.early_warning_at is not None:
        due.append(
            (Clock.INITIAL_RESPONSE, facts.early_warning_at + timedelta(hours=INITIAL_RESPONSE_HOURS),
             facts.initial_response_at)
        )
    if facts.affected_member_states >= 2:
        since = facts.multi_member_state_since or facts.aware_at
        due.append(
            (Clock.CROSS_BORDER_INFORM, since + timedelta(hours=CROSS_BORDER_INFORM_HOURS), facts.others_informed_at)
        )
    result = [Deadline(clock, at, met, state_of(at, met, now)) for clock, at, met in due]
    return sorted(result, key=lambda d: d.due_at)


def next_due(items: list[Deadline]) -> Deadline | None:
    """The earliest deadline not yet met."""
    return next((d for d in items if d.met_at is None), None)


def overdue(items: list[Deadline]) -> list[Deadline]:
    return [d for d in items if d.state == State.OVERDUE]
