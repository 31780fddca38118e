"""NIS2 Art. 23 clocks: elapsed hours in UTC, calendar months in the member state's zone."""

from datetime import UTC, datetime, timedelta

import pytest

from incidents.clocks import Clock, Facts, State, add_calendar_month, deadlines, next_due, overdue


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def by_clock(items):
    return {d.clock: d for d in items}


def test_early_warning_and_notification_are_24_and_72_hours_after_awareness():
    aware = utc(2026, 6, 1, 8, 30)
    items = by_clock(deadlines(Facts(aware_at=aware, time_zone="Europe/Berlin"), now=aware))
    assert items[Clock.EARLY_WARNING].due_at == utc(2026, 6, 2, 8, 30)
    assert items[Clock.NOTIFICATION].due_at == utc(2026, 6, 4, 8, 30)


def test_24_hours_stay_24_hours_across_the_spring_dst_change():
    """Awareness at 12:00 Berlin on 28 March 2026 (CET); DST starts 29 March: due 13:00 Berlin = 11:00 UTC."""
    aware = utc(2026, 3, 28, 11, 0)
    items = by_clock(deadlines(Facts(aware_at=aware, time_zone="Europe/Berlin"), now=aware))
    assert items[Clock.EARLY_WARNING].due_at == utc(2026, 3, 29, 11, 0)
    assert items[Clock.EARLY_WARNING].due_at - aware == timedelta(hours=24)


def test_final_report_is_one_calendar_month_after_notification_in_local_time_across_dst():
    """Notified 10:00 Brussels on 15 March (09:00 UTC, CET) → due 10:00 Brussels on 15 April (08:00 UTC, CEST)."""
    notified = utc(2026, 3, 15, 9, 0)
    facts = Facts(aware_at=notified - timedelta(hours=30), time_zone="Europe/Brussels", notification_at=notified)
    items = by_clock(deadlines(facts, now=notified))
    assert items[Clock.FINAL_REPORT].due_at == utc(2026, 4, 15, 8, 0)


def test_one_month_after_31_january_is_the_last_day_of_february():
    assert add_calendar_month(utc(2026, 1, 31, 12, 0), "Europe/Lisbon") == utc(2026, 2, 28, 12, 0)
    assert add_calendar_month(utc(2028, 1, 31, 12, 0), "Europe/Lisbon") == utc(2028, 2, 29, 12, 0)


def test_one_month_across_a_year_end_in_a_far_east_zone():
    """23:30 UTC on 31 Dec is already 1 January in Helsinki: the month is counted there."""
    assert add_calendar_month(utc(2026, 12, 31, 23, 30), "Europe/Helsinki") == utc(2027, 1, 31, 23, 30)


def test_states_pending_due_soon_overdue_met_and_met_late():
    aware = utc(2026, 6, 1, 0, 0)
    facts = Facts(aware_at=aware, time_zone="Europe/Paris", early_warning_at=utc(2026, 6, 2, 1, 0))
    items = by_clock(deadlines(facts, now=utc(2026, 6, 3, 20, 0)))
    assert items[Clock.EARLY_WARNING].state == State.MET_LATE
    assert items[Clock.NOTIFICATION].state == State.DUE_SOON
    assert items[Clock.INITIAL_RESPONSE].state == State.OVERDUE
    later = by_clock(deadlines(facts, now=utc(2026, 6, 4, 0, 1)))
    assert later[Clock.NOTIFICATION].state == State.OVERDUE
    assert {d.clock for d in overdue(list(later.values()))} == {Clock.NOTIFICATION, Clock.INITIAL_RESPONSE}


def test_authority_clocks_start_with_the_early_warning_and_the_second_member_state():
    aware = utc(2026, 6, 1, 0, 0)
    single = by_clock(deadlines(Facts(aware_at=aware, time_zone="Europe/Paris"), now=aware))
    assert Clock.INITIAL_RESPONSE not in single and Clock.CROSS_BORDER_INFORM not in single
    facts = Facts(aware_at=aware, time_zone="Europe/Paris", early_warning_at=utc(2026, 6, 1, 6, 0),
                  affected_member_states=2, multi_member_state_since=utc(2026, 6, 1, 10, 0))
    items = by_clock(deadlines(facts, now=aware))
    assert items[Clock.INITIAL_RESPONSE].due_at == utc(2026, 6, 2, 6, 0)
    assert items[Clock.CROSS_BORDER_INFORM].due_at == utc(2026, 6, 2, 10, 0)


@pytest.mark.parametrize("zone", ["Europe/Lisbon", "Europe/Berlin", "Europe/Helsinki", "Asia/Nicosia", "Europe/Dublin"])
def test_next_due_is_the_earliest_unmet_deadline(zone):
    aware = utc(2026, 10, 24, 22, 0)  # the weekend DST ends
    facts = Facts(aware_at=aware, time_zone=zone, early_warning_at=aware + timedelta(hours=3))
    items = deadlines(facts, now=aware)
    assert [d.due_at for d in items] == sorted(d.due_at for d in items)
    assert next_due(items).clock == Clock.INITIAL_RESPONSE
