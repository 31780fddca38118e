"""Recording and publishing Events: the one call site for the live channel.

``record_event`` is called by services inside their transaction; the event is
published to the channel layer only after the commit (an event of a rolled-back
change never leaves the process). Publishing is at-least-once: ``publish_pending``
(run by the sweeper) re-sends events whose publication did not happen, and clients
de-duplicate by id.
"""

import logging
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from channels.layers import get_channel_layer
from django.contrib.auth.models import Group
from django.db import models, transaction
from django.utils import timezone

from csoa_portal import background, inserts, sweep
from liaison import layer_loop
from liaison.exercises import current_exercise_id, exercise_of
from liaison.models import Event, EventAudience, MemberState, Organisation
from liaison.roles import member_state_group_name, org_group_name, role_group_name

logger = logging.getLogger(__name__)


@dataclass
class Audience:
    """Who may see an event, as organisations, member states, roles or named groups."""

    organisations: Iterable[Organisation] = field(default_factory=list)
    member_states: Iterable[MemberState] = field(default_factory=list)
    roles: Iterable[str] = field(default_factory=list)
    groups: Iterable[str] = field(default_factory=list)
    # Groups the caller already holds by id (a new incident's organisation): no name to look up.
    group_ids: Iterable[int] = field(default_factory=list)

    def group_names(self) -> set[str]:
        names = {org_group_name(o.code) for o in self.organisations}
        names |= {member_state_group_name(m.code) for m in self.member_states}
        names |= {role_group_name(r) for r in self.roles}
        names |= set(self.groups)
        return names


def channel_group_name(group_id: int) -> str:
    """The channel-layer group a websocket joins for one Django group."""
    return f"audience.{group_id}"


def user_channel_group_name(user_id: int) -> str:
    """The channel-layer group a websocket joins for its own user: told when their groups change."""
    return f"user.{user_id}"


def announce_group_changes(user_ids: Iterable[int]) -> None:
    """Once the caller's transaction commits, tell these users' live connections to re-read their groups.

    A connection follows the audience groups its user was in when it connected; a grant by
    membership (joining an organisation or a role, the personal group of a person share)
    adds one, a removal takes one away. The connection re-reads the groups, joins or leaves
    their channel groups and replays what it passed over since the change: the message
    carries ``floor``, the newest event id when the change was written (in its transaction),
    so events written with or after it reach the client, and none before it.
    A lost message costs only time: connections re-read their groups every few seconds anyway.
    """
    user_ids = sorted(set(user_ids))
    if user_ids:
        floor = Event.objects.aggregate(newest=models.Max("id"))["newest"] or 0
        transaction.on_commit(lambda: _send_group_changes(user_ids, floor))


def _send_group_changes(user_ids: list[int], floor: int) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all():
        for user_id in user_ids:
            message = {"type": "groups.changed", "user": user_id, "floor": floor}
            await layer.group_send(user_channel_group_name(user_id), message)

    try:
        layer_loop.call(layer, send_all)
    except Exception:  # the channel layer is down: connections notice on their next periodic re-read
        logger.warning("announcing group changes of users %s failed", user_ids, exc_info=True)


# subject_type -> function(user, subject_ids) -> set of ids the user may still see.
SubjectCheck = Callable[[object, set[str]], set[str]]
# subject_type -> function({user id: group ids}, subject_ids) -> {user id: ids that user may still see}.
GroupsCheck = Callable[[dict[int, set[int]], set[str]], dict[int, set[str]]]
_subject_checks: dict[str, SubjectCheck] = {}
_groups_checks: dict[str, GroupsCheck] = {}


def register_subject_check(subject_type: str, check: SubjectCheck, *, by_groups: GroupsCheck | None = None) -> None:
    """Apps register how to re-check visibility of their subjects (incidents, requests…).

    ``by_groups``, for subjects whose visibility follows from group membership alone, answers
    for many users at once with a constant number of queries: the live stream re-checks a
    thousand connected officers per event with it instead of querying per user.
    Registered from AppConfig.ready so liaison never imports the apps to its left.
    """
    _subject_checks[subject_type] = check
    if by_groups is not None:
        _groups_checks[subject_type] = by_groups
    else:
        _groups_checks.pop(subject_type, None)


_subject_urls: dict[str, Callable[[str], str]] = {}
_person_urls: dict[str, Callable[[object, set[str]], dict[str, str]]] = {}


def register_subject_url(subject_type: str, url_for: Callable[[str], str], *,
                         for_person: Callable[[object, set[str]], dict[str, str]] | None = None) -> None:
    """Apps say where a subject's page is, so the inbox can link to it without importing them.

    ``for_person(user, ids) -> {id: url}`` gives links that depend on what the person may open
    (an alert: its incident's page for those who see the incident, else their board), for many
    ids at once; ids it leaves out fall back to ``url_for``.
    """
    _subject_urls[subject_type] = url_for
    if for_person is not None:
        _person_urls[subject_type] = for_person
    else:
        _person_urls.pop(subject_type, None)


def subject_url(subject_type: str, subject_id: str) -> str | None:
    url_for = _subject_urls.get(subject_type)
    return url_for(subject_id) if url_for else None


def subject_urls_for(user, subject_type: str, subject_ids: set[str]) -> dict[str, str | None]:
    """Each subject's link for this person (``register_subject_url``'s ``for_person`` where the app gave one)."""
    personal = _person_urls.get(subject_type)
    found = personal(user, set(subject_ids)) if personal and subject_ids else {}
    return {pk: found.get(pk) or subject_url(subject_type, pk) for pk in subject_ids}


def has_subject_check(subject_type: str) -> bool:
    """Whether an app governs this subject's visibility (otherwise the event's audience alone does)."""
    return subject_type in _subject_checks


def visible_subject_ids(user, subject_type: str, subject_ids: set[str]) -> set[str]:
    check = _subject_checks.get(subject_type)
    if check is None:
        return subject_ids  # the audience alone governs subjects without a check
    return check(user, subject_ids)


def subjects_per_user(groups_by_user: dict[int, set[int]], grants: dict[str, set[int]]) -> dict[int, set[str]]:
    """For ``by_groups`` checks: each user's subjects, from the groups each subject is granted to."""
    subjects_of: dict[int, set[str]] = {}
    for subject_id, groups in grants.items():
        for group_id in groups:
            subjects_of.setdefault(group_id, set()).add(subject_id)
    return {
        user_id: set().union(*(subjects_of.get(group_id, ()) for group_id in groups))
        for user_id, groups in groups_by_user.items()
    }


def visible_subject_ids_for_users(
    users: dict[int, tuple[object, set[int]]], subject_type: str, subject_ids: set[str]
) -> dict[int, set[str]]:
    """``visible_subject_ids`` for many users (``{user id: (user, group ids)}``) at once."""
    if subject_type not in _subject_checks:
        return {user_id: set(subject_ids) for user_id in users}
    by_groups = _groups_checks.get(subject_type)
    if by_groups is not None:
        allowed = by_groups({user_id: groups for user_id, (_, groups) in users.items()}, subject_ids)
        return {user_id: allowed.get(user_id, set()) for user_id in users}
    check = _subject_checks[subject_type]
    return {user_id: check(user, subject_ids) for user_id, (user, _) in users.items()}


@dataclass
class NewEvent:
    """One event to record with ``record_events``; the fields of ``record_event``."""

    kind: str
    audience: Audience
    subject: models.Model | None = None
    subject_type: str = ""
    subject_id: str = ""
    actor: object = None
    payload: dict | None = None


# The events of a ``written_last`` block, queued until it ends (None outside one).
_queued: ContextVar[list | None] = ContextVar("csoa_queued_events", default=None)


@contextmanager
def written_last():
    """Inside, recorded events are queued and written together as the block ends: open it inside the transaction.

    Live readers never pass an event id whose transaction is still open (``liaison.selectors``,
    the settled prefix), so an event written early in a long transaction holds back every later
    event of everyone until that transaction commits. A sweep batch firing a hundred alarms is
    such a transaction: written at its end, its events hold others back for the insert and the
    commit only. Nested blocks leave the writing to the outermost; an error writes nothing.
    """
    if _queued.get() is not None:
        yield
        return
    token = _queued.set([])
    try:
        yield
        items = _queued.get()
    finally:
        _queued.reset(token)
    record_events(items)


def record_event(
    *,
    kind: str,
    subject: models.Model | None = None,
    subject_type: str = "",
    subject_id: str = "",
    actor=None,
    payload: dict | None = None,
    audience: Audience,
) -> Event | None:
    """Write an Event in the caller's transaction and publish it once that commits (None: queued, ``written_last``)."""
    written = record_events([NewEvent(kind=kind, subject=subject, subject_type=subject_type, subject_id=subject_id,
                                      actor=actor, payload=payload, audience=audience)])
    return written[0] if written else None


def record_events(items: list[NewEvent]) -> list[Event]:
    """Write many Events with a constant number of queries (an escalation alerts dozens of organisations).

    Ids are allocated in list order; all are published together after the commit. Inside a
    ``written_last`` block they are queued instead (and nothing is returned).
    """
    queued = _queued.get()
    if queued is not None:
        queued.extend(items)
        return []
    if not items:
        return []
    events, names_per_event, ids_per_event = [], [], []
    for item in items:
        subject_type, subject_id = item.subject_type, item.subject_id
        if item.subject is not None:
            subject_type = subject_type or item.subject._meta.model_name
            subject_id = subject_id or str(item.subject.pk)
        exercise_id = exercise_of(item.subject)  # an object of work: its own exercise; otherwise the context's
        events.append(Event(
            exercise_id=current_exercise_id() if exercise_id is ... else exercise_id,
            kind=item.kind,
            subject_type=subject_type,
            subject_id=str(subject_id),
            actor=item.actor if getattr(item.actor, "is_authenticated", False) else None,
            payload=item.payload or {},
        ))
        names_per_event.append(item.audience.group_names())
        ids_per_event.append(set(item.audience.group_ids))
    all_names = set().union(*names_per_event)
    group_ids = dict(Group.objects.filter(name__in=all_names).values_list("name", "id")) if all_names else {}
    missing = all_names - group_ids.keys()
    if missing:
        raise ValueError(f"Event audience names unknown groups: {sorted(missing)}")
    groups_per_event = [sorted(ids | {group_ids[name] for name in names})
                        for names, ids in zip(names_per_event, ids_per_event, strict=True)]
    if len(events) == 1:  # most writes: the event and its audience in one statement where the database can
        inserts.insert_with_links(events[0], link=EventAudience, to="event", other="group", ids=groups_per_event[0])
    else:
        inserts.insert(*events)  # ids in list order
        inserts.insert(*[EventAudience(event_id=event.id, group_id=group_id)
                         for event, groups in zip(events, groups_per_event) for group_id in groups])
    audiences = {event.id: groups for event, groups in zip(events, groups_per_event)}
    transaction.on_commit(lambda: _background_publisher.submit([audiences]))
    return events


def _publish_audiences(audiences: dict[int, list[int]]) -> None:
    """Publish once committed; a failure here (Redis, or the database gone since the commit) fails nothing.

    ``audiences``: each new event's id (in the order written) to its group ids. The change and its Events are
    committed: turning this failure into an error would tell the caller that a saved change was not made.
    The sweeper publishes them instead. In production the process's publisher thread sends them, with
    those of the other commits of its delay.
    """
    event_ids = list(audiences)
    try:
        publish_events(event_ids, audiences=audiences)
    except Exception:
        logger.warning("publishing events %s after their commit failed; the sweeper will publish them",
                       event_ids, exc_info=True)


# 50 ms, as the audit sealer: live clients barely notice, and a burst of commits costs one hop and one update.
PUBLISH_DELAY_SECONDS = 0.05
_background_publisher = background.BatchWorker(
    "event-publisher", lambda batches: _publish_audiences({k: v for batch in batches for k, v in batch.items()}),
    delay=PUBLISH_DELAY_SECONDS, setting="AFTER_COMMIT_IN_BACKGROUND")


def publish_event(event_id: int) -> bool:
    """Send the event id to each audience group; consumers load and re-check it."""
    return publish_events([event_id]) == 1


def publish_events(event_ids: list[int], *, audiences: dict[int, list[int]] | None = None) -> int:
    """Send each event id to its audience groups in one event-loop hop; returns how many were sent.

    ``audiences``: each event's group ids, when the caller just wrote them (not read back then).
    """
    layer = get_channel_layer()
    if layer is None:
        return 0
    if audiences is not None:
        groups = {event_id: list(audiences.get(event_id, ())) for event_id in event_ids}
    else:
        groups: dict[int, list[int]] = {event_id: [] for event_id in event_ids}
        for event_id, group_id in (EventAudience.objects.filter(event_id__in=event_ids)
                                   .values_list("event_id", "group_id")):
            groups[event_id].append(group_id)

    async def send_all():  # one event-loop hop for every group of every event
        for event_id in sorted(groups):
            message = {"type": "event.new", "id": event_id}
            for gid in groups[event_id]:
                await layer.group_send(channel_group_name(gid), message)

    try:
        layer_loop.call(layer, send_all)
    except Exception:  # the channel layer is down: the sweeper publishes them later
        logger.warning("publishing events %s failed; the sweeper will retry", event_ids, exc_info=True)
        return 0
    Event.objects.filter(id__in=event_ids, published_at__isnull=True).update(published_at=timezone.now())
    return len(event_ids)


def publish_pending(*, grace_seconds: float = 2.0, batch: int = 100) -> int:
    """Publish events whose on-commit publication was lost (process died, Redis down).

    Events younger than the grace period are left to their own on-commit publication. The
    whole backlog is worked through in batches (``sweep.in_batches``, within its time budget);
    a batch that could not be published (Redis still down) is passed over, not retried in a loop.
    """
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    position, published = 0, 0

    def publish_batch(size: int) -> int:
        nonlocal position, published
        ids = list(Event.objects.filter(published_at__isnull=True, created_at__lt=cutoff, id__gt=position)
                   .order_by("id").values_list("id", flat=True)[:size])
        if ids:
            position = ids[-1]
            sent = publish_events(ids)
            published += sent
            if not sent:
                return 0  # the channel layer is down: the next sweep tries again
        return len(ids)

    sweep.in_batches(publish_batch, batch=batch)
    return published
