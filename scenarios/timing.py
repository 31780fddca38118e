"""Exercise time for injects: when one scheduled at an offset from the exercise's start falls due.

Offsets are exercise time; the exercise's clock runs ``Exercise.time_scale`` times faster than
real time (``liaison.exercise_time``, the same arithmetic every other clock of the exercise uses),
so the due times, the sweep and the form's checks all follow the scale. Pure: no ORM, no clock.
"""

from datetime import datetime, timedelta

from liaison.exercise_time import deadline, exercise_duration


def due_at(exercise, offset: timedelta) -> datetime:
    """The real moment at which ``offset`` of exercise time after the start has passed."""
    return deadline(exercise.starts_at, offset, scale=exercise.time_scale)


def exercise_elapsed(exercise, now: datetime) -> timedelta:
    """How much exercise time has passed since the start at the real moment ``now`` (negative before it)."""
    return exercise_duration(now - exercise.starts_at, scale=exercise.time_scale)


def parse_offset(text: str) -> timedelta | None:
    """``"2:30"`` (hours:minutes, hours may pass 24) or ``"1d 2:30"``; blank is None (released by hand).

    ValueError says what is expected.
    """
    text = (text or "").strip().lower()
    if not text:
        return None
    days = 0
    if "d" in text:
        head, _, text = text.partition("d")
        if not head.strip().isdigit():
            raise ValueError("Write the days as a number: 1d 02:30.")
        days = int(head.strip())
        text = text.strip() or "0:00"
    hours, colon, minutes = text.partition(":")
    if not colon or not hours.strip().isdigit() or not minutes.strip().isdigit() or int(minutes) > 59:
        raise ValueError("Write the exercise time after the start as hours:minutes (02:30, or 1d 02:30).")
    return timedelta(days=days, hours=int(hours), minutes=int(minutes))


def format_offset(offset: timedelta | None) -> str:
    """The inverse of ``parse_offset``: ``"T+02:30"`` style without the prefix (``"1d 02:30"``)."""
    if offset is None:
        return ""
    minutes = int(offset.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    text = f"{minutes // 60:02d}:{minutes % 60:02d}"
    return f"{days}d {text}" if days else text
