"""Exercise time: an exercise may run its clocks faster than real time (1 exercise hour = 10 real minutes).

``time_scale`` is exercise minutes per real minute (``liaison.Exercise.time_scale``; 1 for live
work). Every clock of an exercise object — the NIS2 deadlines, alert acknowledgement, the
Reserve's clocks, situation updates and reports, review clocks, the sweep's reminder leads —
passes its duration through ``real_duration``: the deadline is still a real instant (stored,
swept and shown like any other), reached ``time_scale`` times sooner. A live object has scale 1,
for which every function here returns its input unchanged: live clocks are exactly what they were.

The functions at the top are pure (no ORM, no clock), so the pure engines (``incidents.clocks``)
take the scale as data. ``scale_of`` reads an object's exercise; ``lead_window`` builds the
sweeps' "due within the reminder lead" filter, each exercise on its own scale.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction

LIVE = 1
MAX_TIME_SCALE = Decimal(1440)  # one exercise day per real minute
_MICRO = timedelta(microseconds=1)


def real_duration(duration: timedelta, *, scale=LIVE) -> timedelta:
    """How long ``duration`` of exercise time takes in real time on a clock running ``scale`` times faster.

    Exact (rational arithmetic, rounded to the microsecond once): 24 h at ×6 is 4 h to the microsecond.
    """
    if scale == LIVE:
        return duration  # live work: today's arithmetic, untouched
    return timedelta(microseconds=round(Fraction(duration // _MICRO) / Fraction(scale)))


def exercise_duration(elapsed: timedelta, *, scale=LIVE) -> timedelta:
    """The inverse: how much exercise time passes in ``elapsed`` real time (for facts like "hours without update")."""
    if scale == LIVE:
        return elapsed
    return timedelta(microseconds=round(Fraction(elapsed // _MICRO) * Fraction(scale)))


def deadline(start: datetime, duration: timedelta, *, scale=LIVE) -> datetime:
    """The real instant a clock of ``duration`` (exercise time) started at ``start`` runs out."""
    return start + real_duration(duration, scale=scale)


def compress(start: datetime, due: datetime, *, scale=LIVE) -> datetime:
    """A due time computed on the calendar (one month, three months), moved onto the exercise's clock:
    the same span from ``start``, ``scale`` times shorter."""
    return deadline(start, due - start, scale=scale)


def exercise_clock(exercise, at: datetime) -> datetime:
    """What the exercise's clock reads at the real instant ``at``: its start + (at − start) × scale."""
    start = exercise.starts_at
    return start + exercise_duration(at - start, scale=exercise.time_scale)


def describe(scale) -> str:
    """In words, for pages: "×6 (1 exercise hour = 10 real minutes)"; "" at real time."""
    if scale == LIVE:
        return ""
    real = real_duration(timedelta(hours=1), scale=scale)
    minutes = real / timedelta(minutes=1)
    amount = f"{minutes:g} real minute{'s' if minutes != 1 else ''}" if minutes >= 1 else \
        f"{real / timedelta(seconds=1):g} real seconds"
    return f"×{scale_text(scale)} (1 exercise hour = {amount})"


def scale_text(scale) -> str:
    """6, 2.5 — the scale as people write it (a Decimal field reads back as 6.00)."""
    return format(Decimal(scale).normalize(), "f")


# --- Reading an object's scale (these touch the database) -----------------------------------------


def scale_of(obj) -> Decimal | int:
    """The time scale of the exercise ``obj`` (an object of work, a root or a child) belongs to; 1 for live work.

    A live object costs no query; an exercise object one, unless its root's ``exercise`` is loaded.
    """
    from liaison.exercises import _path_to_root
    from liaison.models import Exercise

    path = _path_to_root(type(obj)) if obj is not None else None
    if path is None:
        return LIVE
    root = obj
    for name in path:
        root = getattr(root, name)
        if root is None:
            return LIVE
    if root.exercise_id is None:
        return LIVE
    if "exercise" in root._state.fields_cache and root.exercise is not None:
        return root.exercise.time_scale
    found = Exercise.objects.filter(pk=root.exercise_id).values_list("time_scale", flat=True).first()
    return LIVE if found is None else found


def scales_of(exercise_ids) -> dict:
    """``{exercise id: its time scale}`` for these ids (``None``, live work: 1); no query when all are live."""
    from liaison.models import Exercise

    wanted = {i for i in exercise_ids if i is not None}
    found = dict(Exercise.objects.filter(pk__in=wanted).values_list("pk", "time_scale")) if wanted else {}
    return {None: LIVE, **{i: found.get(i, LIVE) for i in wanted}}


def lead_window(*, now: datetime, lead: timedelta, due_field: str = "due_at", exercise_field: str):
    """A ``Q``: rows due between now and ``lead`` from now, the lead on each row's own exercise time.

    ``exercise_field`` is the path to the row's exercise key (``"incident__exercise"``). Live rows (and
    exercises at real time) keep the plain window; one more clause per other scale in use.
    """
    from django.db.models import Q

    from liaison.models import Exercise

    plain = (Q(**{f"{exercise_field}__isnull": True}) | Q(**{f"{exercise_field}__time_scale": LIVE}))
    window = plain & Q(**{f"{due_field}__lte": now + lead})
    scales = set(Exercise.objects.exclude(time_scale=LIVE).values_list("time_scale", flat=True).distinct())
    for scale in sorted(scales):
        window |= Q(**{f"{exercise_field}__time_scale": scale,
                       f"{due_field}__lte": now + real_duration(lead, scale=scale)})
    return window
