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


# --- Which exercise an object belongs to -----------------------------------------------------------

_paths: dict[type, tuple[str, ...] | None] = {}


def _path_to_root(model, depth: int = 3) -> tuple[str, ...] | None:
    """The foreign keys from ``model`` to a model with an ``exercise`` key (``("incident",)`` for an alert)."""
    if depth == 3 and model in _paths:
        return _paths[model]
    found = None
    if any(f.name == "exercise" for f in model._meta.concrete_fields):
        found = ()
    elif depth:
        for field in model._meta.concrete_fields:
            if field.many_to_one and field.related_model not in (None, model):
                sub = _path_to_root(field.related_model, depth - 1)
                if sub is not None:
                    found = (field.name, *sub)
                    break
    if depth == 3:
        _paths[model] = found
    return found


def exercise_of(obj) -> object:
    """The exercise id of an object of work (a root, or a child through its root); ``...`` when it has none
    (a network object: an organisation, a person, the exercise itself)."""
    if obj is None:
        return ...
    path = _path_to_root(type(obj))
    if path is None:
        return ...
    for name in path:
        obj = getattr(obj, name)
        if obj is None:
            return ...
    return obj.exercise_id


# --- E-mail of an exercise ----------------------------------------------------------------------


def banner(exercise) -> str:
    return f"EXERCISE — {exercise.name}"


def taking_part(organisation_ids, exercise_id: int | None) -> set[int]:
    """Those of ``organisation_ids`` an exercise's work may reach: all in live work, its participants in an
    exercise (an organisation outside it cannot enter it to answer, so it is neither alerted nor shared with)."""
    ids = set(organisation_ids)
    if exercise_id is None or not ids:
        return ids
    from liaison.models import Exercise

    return set(Exercise.participants.through.objects.filter(exercise_id=exercise_id, organisation_id__in=ids)
               .values_list("organisation_id", flat=True))


def mark_mails(mails: list, exercise) -> list:
    """The outbox filter (``csoa_portal.outbox.register_mail_filter``): an exercise's e-mail says so in its subject
    and first line, and goes only to people of its participating organisations (others are not mailed)."""
    from dataclasses import replace
    from email.utils import parseaddr

    from liaison.models import Exercise, User

    exercise_id = current_exercise_id() if exercise is None else _id_of(exercise)
    if exercise_id is None or not mails:
        return mails
    found = Exercise.objects.filter(pk=exercise_id).first()
    if found is None:
        return []
    allowed = {email.lower() for email in User.objects.filter(
        is_active=True, memberships__organisation__in=found.participants.values("pk")).values_list("email", flat=True)}
    marked = banner(found)
    return [replace(mail, key=f"exercise:{found.pk}:{mail.key}", subject=f"{marked}: {mail.subject}",
                    body=f"{marked}\n\n{mail.body}",
                    html=f"<p><strong>{marked}</strong></p>{mail.html}" if mail.html else "")
            for mail in mails if parseaddr(mail.recipient)[1].lower() in allowed]


# --- Links from the exercises page to what other apps make of an exercise ---------------------------

_links: dict[str, tuple[str, object]] = {}


def register_exercise_link(name: str, label: str, links_for) -> None:
    """``links_for(user, exercises) -> {exercise id: url}``: an app's page of an exercise, for those it shows it to
    (scenarios registers the scenario, for the controllers). Liaison never imports the apps to its left."""
    _links[name] = (label, links_for)


def exercise_links(user, exercises) -> dict[int, list[tuple[str, str]]]:
    """Each exercise's links for this person, as (label, url)."""
    found: dict[int, list[tuple[str, str]]] = {}
    for label, links_for in _links.values():
        for pk, url in links_for(user, exercises).items():
            found.setdefault(pk, []).append((label, url))
    return found
