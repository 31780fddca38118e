"""Exercises and their separation from live work: the one place every read and write asks.

The exercise a request, task or connection works in is a context variable: ``None`` is
live work. It is set once per request by ``ExerciseMiddleware`` (pages: the session key the
switch writes; API: the ``X-Exercise`` header, checked by the API authentication), by the
websocket consumer from ``?exercise=<id>``, and by services and tasks that act on an object
from that object's own exercise (``using_exercise(obj.exercise_id)``).

Reads: every ``*_visible_to`` selector passes its queryset through ``in_current`` (the root
objects have an ``exercise`` key; children follow their root: ``field="incident__exercise"``).
Writes: a service creating a root object stamps ``exercise_id=current_exercise_id()``;
``record_event`` stamps the Event. See docs/exercises.md.
"""

import contextvars
from contextlib import contextmanager

from django.db import models

SESSION_KEY = "exercise_id"
HEADER = "X-Exercise"

_current: contextvars.ContextVar[int | None] = contextvars.ContextVar("csoa_exercise", default=None)


def current_exercise_id() -> int | None:
    """The exercise being worked in, or None for live work."""
    return _current.get()


def _id_of(exercise) -> int | None:
    if exercise is None:
        return None
    return int(getattr(exercise, "pk", exercise))


@contextmanager
def using_exercise(exercise):
    """Work inside ``exercise`` (an Exercise, its id, or None for live work) for the block."""
    token = _current.set(_id_of(exercise))
    try:
        yield
    finally:
        _current.reset(token)


def set_current(exercise) -> contextvars.Token:
    return _current.set(_id_of(exercise))


def reset_current(token: contextvars.Token) -> None:
    _current.reset(token)


def in_current(queryset, field: str = "exercise", *, exercise_id: int | None = ...):
    """``queryset`` limited to the current exercise (``field`` IS NULL in live work).

    ``field`` names the key on the queryset's model, or the path to its root's key
    (``"incident__exercise"`` for an alert). Every visible-to selector ends here.
    """
    wanted = current_exercise_id() if exercise_id is ... else exercise_id
    if wanted is None:
        return queryset.filter(**{f"{field}__isnull": True})
    return queryset.filter(**{f"{field}_id" if "__" not in field else field: wanted})


def exercise_key(**kwargs) -> models.ForeignKey:
    """The ``exercise`` key of a root object: null for live work; deleting the exercise deletes the object."""
    return models.ForeignKey("liaison.Exercise", on_delete=models.CASCADE, null=True, blank=True,
                             editable=False, related_name="+", db_index=True, **kwargs)
