"""Exercise time: when an inject scheduled at an offset from the exercise's start falls due, in real time.

The one place that converts between exercise time and real time for injects. Today an
exercise's clock runs at real speed; when exercises get a compressed clock (issue 18,
"exercise time"), ``speed`` is where it plugs in and every due time, the sweep and the
form's checks follow. Pure: no ORM, no clock of its own.
"""

from datetime import datetime, timedelta


def speed(exercise) -> float:
    """Exercise seconds per real second (1: the exercise runs in real time). Plug the exercise clock in here."""
    return 1.0


def due_at(exercise, offset: timedelta) -> datetime:
    """The real moment at which ``offset`` of exercise time after the start has passed."""
    return exercise.starts_at + offset / speed(exercise)


def exercise_elapsed(exercise, now: datetime) -> timedelta:
    """How much exercise time has passed since the start at the real moment ``now`` (negative before it)."""
    return (now - exercise.starts_at) * speed(exercise)


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
