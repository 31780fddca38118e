"""Reads of the network and the event log, with the permission rules applied."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.db.models import Exists, Q, Max, OuterRef, Prefetch, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from csoa_portal.db_router import reading_primary, reads_replica
from csoa_portal.models import ApiToken
from liaison.exercises import in_current, using_exercise
from liaison.events import subject_urls_for, visible_subject_ids, visible_subject_ids_for_users
from liaison.inbox import inbox_kinds, is_addressed, label_of
from liaison.models import CouncilPresidency, Event, EventAudience, Exercise, InboxCursor, MemberState, Membership, Organisation, User
from liaison.policy import acting_organisation_ids, is_network_admin
from liaison.roles import Role


def member_states() -> QuerySet[MemberState]:
    return MemberState.objects.order_by("code")


def organisations() -> QuerySet[Organisation]:
    return Organisation.objects.select_related("member_state").order_by("code")


def organisation_people(organisation: Organisation) -> QuerySet[User]:
    """The people of an organisation (service accounts excluded) with their roles prefetched."""
    return (
        User.objects.filter(memberships__organisation=organisation, is_service_account=False)
        .distinct()
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.filter(organisation=organisation),
                to_attr="roles_here",
            )
        )
        .order_by("full_name", "email")
    )


def memberships_of(user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organisation__member_state").order_by("id")


def administered_organisations(user) -> QuerySet[Organisation]:
    """Organisations whose tokens the user may manage: their own as org admin; all for network admins."""
    if is_network_admin(user):
        return organisations()
    return organisations().filter(pk__in=acting_organisation_ids(user, roles=[Role.ORG_ADMIN]))


def organisation_admins(organisations) -> list[User]:
    """The active people who administer these organisations (their people and API tokens), by name."""
    return list(User.objects.filter(memberships__organisation__in=organisations, memberships__role=Role.ORG_ADMIN,
                                    is_active=True, is_service_account=False)
                .distinct().order_by("full_name", "email"))


def tokens_of(organisation: Organisation) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(organisation=organisation).select_related("created_by", "revoked_by")


# --- The event log as a stream: only ever advance over its settled prefix -------------------
#
# Ids are allocated at insert, but PostgreSQL commits transactions out of id order: with
# event 10 still in flight and 11 committed, a reader that moved past 11 would never see 10.
# So readers advance only over a contiguous prefix of the ids and wait at a hole until it is
# settled: filled, or known to stay empty (its transaction rolled back). A hole is settled
# - once the event after it is older than EVENT_GAP_GRACE_SECONDS (no transaction runs that
#   long), or sooner, once no other transaction of the database has been open since before
#   the read that found it (checked in pg_stat_activity, then the ids are read again);
# - at once on SQLite, which serialises writers: ids there commit in order.


def _gap_grace() -> timedelta:
    return timedelta(seconds=settings.EVENT_GAP_GRACE_SECONDS)


def settled_prefix(
    rows: Iterable[tuple[int, datetime]], after: int, *, settled_below: int = 0, now: datetime | None = None
) -> tuple[int, bool]:
    """How far a reader at ``after`` may advance over ``(id, created_at)`` rows in id order.

    A hole is crossed when the event after it is older than the grace period or its id is
    at most ``settled_below``. Returns the last id of the prefix and whether a young hole
    stopped it (worth another look soon).
    """
    cutoff = (now or timezone.now()) - _gap_grace()
    horizon = after
    for event_id, created_at in rows:
        if event_id != horizon + 1 and created_at > cutoff and event_id > settled_below:
            return horizon, True
        horizon = event_id
    return horizon, False


def _other_transactions_open_since(moment: datetime) -> bool:
    """PostgreSQL: has another session of this database had a transaction open since before ``moment``?

    Sessions of other roles whose details are hidden from us count as open.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT EXISTS (
                SELECT 1 FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                  AND backend_type = 'client backend'
                  AND (state IS NULL OR state <> 'idle')
                  AND (xact_start IS NULL OR xact_start < %s)
            )
            """,
            [moment],
        )
        return cursor.fetchone()[0]


def _settle(read, after: int) -> tuple[list, int, bool]:
    """Apply the settled-prefix rule to ``read()``: rows in id order with ``id``, ``created_at``, ``read_at``."""
    rows = read()
    pairs = [(r.id, r.created_at) for r in rows]
    if connection.vendor != "postgresql":
        return rows, settled_prefix(pairs, after, settled_below=pairs[-1][0] if pairs else 0)[0], False
    horizon, young = settled_prefix(pairs, after)
    if young and not _other_transactions_open_since(rows[0].read_at):
        # Every transaction that could fill a hole among these ids has ended: read them again.
        bound = pairs[-1][0]
        rows = read()
        horizon, young = settled_prefix([(r.id, r.created_at) for r in rows], after, settled_below=bound)
    return rows, horizon, young


def _settled_ids(after: int, *, scan: int) -> tuple[list[int], int, bool]:
    """The ids of the settled prefix over the next ``scan`` ids, its last id, and whether a young hole stopped it.

    Always read on the primary, even inside ``reading_replica()``: a hole is judged by which
    transactions are open there (``pg_stat_activity`` on a replica shows none of them).
    """

    def read():
        return list(Event.objects.filter(id__gt=after).order_by("id").annotate(read_at=Now())
                    .only("id", "created_at")[:scan])

    with reading_primary():
        rows, horizon, young = _settle(read, after)
    return [r.id for r in rows if r.id <= horizon], horizon, young


def settled_horizon(after: int, *, scan: int) -> tuple[int, bool]:
    """The settled prefix over the next ``scan`` ids after ``after``: (last id, stopped by a young hole)."""
    _, horizon, young = _settled_ids(after, scan=scan)
    return horizon, young


def _replicated_prefix(after: int, ids: list[int]) -> int:
    """How far along ``ids`` (settled on the primary, in order) the replica read here already holds every event.

    A replica replays the primary's commits in order, so it may lag but never skips: the
    events it lacks are a tail of the settled prefix, and a reader stops before the first of
    them instead of moving past it (it would never come back for it).
    """
    if not ids or not reads_replica():
        return ids[-1] if ids else after
    present = set(Event.objects.filter(id__gt=after, id__lte=ids[-1]).values_list("id", flat=True))
    reached = after
    for event_id in ids:
        if event_id not in present:
            break
        reached = event_id
    return reached


def newest_event_id() -> int:
    return Event.objects.aggregate(newest=Max("id"))["newest"] or 0


def stream_start(*, scan: int = 1000) -> tuple[int, bool]:
    """Where a reader without a resume point starts: the settled head of the log now.

    Events older than the grace period are settled whatever holes lie before them, so the
    walk starts from the newest of those and crosses only the young tail. Returns the
    position and whether a young hole stopped the walk.
    """
    cutoff = timezone.now() - _gap_grace()
    horizon = Event.objects.filter(created_at__lt=cutoff).aggregate(base=Max("id"))["base"] or 0
    while True:
        reached, young = settled_horizon(horizon, scan=scan)
        if young or reached == horizon:
            return reached, young
        horizon = reached


def events_visible_to(user, *, after: int = 0, limit: int = 100) -> tuple[list[Event], int]:
    """Events after ``after`` whose audience includes one of the user's groups, in id order.

    At most ``limit`` ids of the log are scanned, and never past the settled prefix (see
    ``settled_prefix``), so a reader that resumes from the returned position never misses
    an event whose transaction committed late. Each subject is re-checked (access revoked
    since the event was written means it is not shown). Returns the visible events and the
    position to resume from, which may be past events the user was not shown.
    """
    ids, horizon, _ = _settled_ids(after, scan=limit)
    horizon = _replicated_prefix(after, ids) if ids else horizon
    if horizon == after:
        return [], after
    in_audience = EventAudience.objects.filter(event=OuterRef("pk"), group__in=user.groups.values("id"))
    scanned = list(
        in_current(Event.objects.filter(id__gt=after, id__lte=horizon)).filter(Exists(in_audience)).order_by("id")
    )
    by_type: dict[str, set[str]] = {}
    for event in scanned:
        by_type.setdefault(event.subject_type, set()).add(event.subject_id)
    allowed = {t: visible_subject_ids(user, t, ids) for t, ids in by_type.items()}
    visible = [e for e in scanned if e.subject_id in allowed[e.subject_type]]
    return visible, horizon


def settled_events_after(after: int, *, limit: int) -> tuple[list[Event], int, bool]:
    """The live stream's shared read: every event of the settled prefix after ``after``.

    For all users at once (at most ``limit``), each with its actor and ``audience_ids`` (the
    group ids it is addressed to), so one read serves every connection of a process; the
    per-user part is ``stream_visibility``. Returns the events, the new position and whether
    a young hole stopped the read.
    """

    def read():
        return list(Event.objects.filter(id__gt=after).select_related("actor", "exercise").annotate(read_at=Now())
                    .order_by("id")[:limit])

    events, horizon, young = _settle(read, after)
    events = [e for e in events if e.id <= horizon]
    audience: dict[int, set[int]] = {}
    if events:
        rows = EventAudience.objects.filter(event_id__gt=after, event_id__lte=horizon)
        for event_id, group_id in rows.values_list("event_id", "group_id"):
            audience.setdefault(event_id, set()).add(group_id)
    for event in events:
        event.audience_ids = frozenset(audience.get(event.id, ()))
    return events, horizon, young


@dataclass(frozen=True)
class StreamCredential:
    """What a live connection signed in with: an API token, or a browser session."""

    token_id: int | None = None
    session_key: str | None = None


def _live_credentials(credentials: set[StreamCredential]) -> set[StreamCredential]:
    """The credentials still good now: token neither revoked nor expired, session not ended."""
    token_ids = {c.token_id for c in credentials if c.token_id is not None}
    good_tokens = set(
        ApiToken.objects.filter(pk__in=token_ids, revoked_at__isnull=True, expires_at__gt=timezone.now())
        .values_list("pk", flat=True)
    ) if token_ids else set()
    store = import_module(settings.SESSION_ENGINE).SessionStore
    live = set()
    for credential in credentials:
        if credential.token_id is not None:
            if credential.token_id in good_tokens:
                live.add(credential)
        elif credential.session_key and store(session_key=credential.session_key).load().get(SESSION_KEY):
            live.add(credential)  # load() is empty once the session expired or its user signed out
    return live


def stream_visibility(requests: list[tuple[User, StreamCredential, list[Event]]]) -> list[set[int] | None]:
    """The fresh per-user re-check of the live stream, for many connections in one go.

    ``requests`` pairs a user and the credential of their connection with events that carry
    ``audience_ids``. For each, the result is ``None`` when the credential is no longer good
    (token revoked or expired, session ended), else the ids of the events the user may see
    now: an active account, a current group in the audience, the subject still visible to
    them. Each user is checked once however many connections they have in the batch.
    """
    live = _live_credentials({credential for _, credential, _ in requests})
    user_ids = {user.pk for user, _, _ in requests}
    active = set(User.objects.filter(pk__in=user_ids, is_active=True).values_list("pk", flat=True))
    groups: dict[int, set[int]] = {}
    memberships = User.groups.through.objects.filter(user_id__in=active).values_list("user_id", "group_id")
    for user_id, group_id in memberships:
        groups.setdefault(user_id, set()).add(group_id)
    wanted: dict[int, tuple[User, dict[int, Event]]] = {}
    for user, credential, events in requests:
        if user.pk in active and credential in live:
            mine = groups.get(user.pk, set())
            wanted.setdefault(user.pk, (user, {}))[1].update({e.id: e for e in events if e.audience_ids & mine})
    by_type: dict[tuple[str, int | None], set[str]] = {}
    for _, events in wanted.values():
        for event in events.values():
            by_type.setdefault((event.subject_type, event.exercise_id), set()).add(event.subject_id)
    users = {user_id: (user, groups.get(user_id, set())) for user_id, (user, _) in wanted.items()}
    # One check per subject type (and exercise: each subject is checked in its own) for all users; each keeps
    # only the answers for its own events.
    allowed = {}
    for (subject_type, exercise_id), ids in by_type.items():
        with using_exercise(exercise_id):
            allowed[subject_type, exercise_id] = visible_subject_ids_for_users(users, subject_type, ids)
    seen: dict[int, set[int]] = {
        user_id: {e.id for e in events.values()
                  if e.subject_id in allowed[e.subject_type, e.exercise_id][user_id]}
        for user_id, (_, events) in wanted.items()
    }
    return [
        {e.id for e in events} & seen.get(user.pk, set()) if credential in live else None
        for user, credential, events in requests
    ]


def group_ids_of_users(user_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    """Each user's current Django group ids, in one query: what the live stream's audiences follow."""
    groups: dict[int, set[int]] = {user_id: set() for user_id in user_ids}
    for user_id, group_id in User.groups.through.objects.filter(user_id__in=groups).values_list("user_id", "group_id"):
        groups[user_id].add(group_id)
    return {user_id: frozenset(ids) for user_id, ids in groups.items()}


# The Event kinds shown in the dashboard inbox are declared by each app (liaison.inbox).
INBOX_SCAN = 300


def inbox_for(user, *, limit: int = 20) -> tuple[list[Event], int]:
    """The newest items addressed to the user, and how many of them are unread.

    Which kinds count is declared by each app (``liaison.inbox.register_inbox_kinds``). An
    item is addressed to the user when its payload names one of their groups as a new
    recipient (``recipient_groups``, so the sharer's own people are not told), or as its app
    declared; either way only events in the user's audience whose subject they may still see.
    """
    cursor = InboxCursor.objects.filter(user=user).values_list("last_read_event_id", flat=True).first() or 0
    names = set(user.groups.values_list("name", flat=True))
    in_audience = EventAudience.objects.filter(event=OuterRef("pk"), group__in=user.groups.values("id"))
    candidates = list(
        in_current(Event.objects.filter(kind__in=inbox_kinds()))
        .filter(Exists(in_audience))
        .select_related("actor")
        .order_by("-id")[:INBOX_SCAN]
    )
    addressed = [e for e in candidates if is_addressed(e, user=user, names=names)]
    by_type: dict[str, set[str]] = {}
    for event in addressed:
        by_type.setdefault(event.subject_type, set()).add(event.subject_id)
    allowed = {t: visible_subject_ids(user, t, ids) for t, ids in by_type.items()}
    items = [e for e in addressed if e.subject_id in allowed[e.subject_type]]
    shown = items[:limit]
    links: dict[str, set[str]] = {}
    for item in shown:
        links.setdefault(item.subject_type, set()).add(item.subject_id)
    urls = {t: subject_urls_for(user, t, ids) for t, ids in links.items()}
    for item in shown:
        item.unread = item.id > cursor
        item.url = urls[item.subject_type].get(item.subject_id)
        item.label = label_of(item)
    return shown, sum(1 for item in items if item.id > cursor)


def organisations_in_groups(names) -> list[Organisation]:
    """The active organisations behind group names: org:, ms: (its authorities), role:, community:."""
    from liaison.roles import MEMBER_STATE_AUTHORITY_KINDS, communities_for

    names = set(names)
    found: dict[int, Organisation] = {}
    candidates = list(organisations().filter(is_active=True))
    for org in candidates:
        ms = org.member_state
        if f"org:{org.code}" in names:
            found[org.pk] = org
        elif ms is not None and f"ms:{ms.code}" in names and org.kind in MEMBER_STATE_AUTHORITY_KINDS:
            found[org.pk] = org
        elif names & communities_for(kind=org.kind, member_state_kind=ms.kind if ms else None):
            found[org.pk] = org
    roles = [n.removeprefix("role:") for n in names if n.startswith("role:")]
    if roles:
        for org in organisations().filter(is_active=True, memberships__role__in=roles).distinct():
            found[org.pk] = org
    return sorted(found.values(), key=lambda o: o.code)


def organisation_names(codes: Iterable[str | None]) -> dict[str, str]:
    """Organisation code -> name, for events and messages that carry codes (stable for SOC tooling) shown to people."""
    wanted = {code for code in codes if code}
    return dict(Organisation.objects.filter(code__in=wanted).values_list("code", "name")) if wanted else {}


def group_labels(names: Iterable[str]) -> dict[str, str]:
    """What each group name means to a reader: ``community:eu-cyclone`` → "EU-CyCLONe", ``org:de-csirt`` → its
    organisation's name, ``ms:DE`` → "Germany", ``role:analyst`` → "Analysts". A name nothing explains stays as it is."""
    from liaison.roles import Community

    names = list(names)
    orgs = dict(Organisation.objects.filter(code__in=[n.removeprefix("org:") for n in names if n.startswith("org:")])
                .values_list("code", "name"))
    states = dict(MemberState.objects.filter(code__in=[n.removeprefix("ms:") for n in names if n.startswith("ms:")])
                  .values_list("code", "name"))
    roles = dict(Role.choices)
    labels = {}
    for name in names:
        prefix, _, code = name.partition(":")
        labels[name] = (
            Community.LABELS.get(name)
            or {"org": orgs.get(code), "ms": f"{states.get(code)} (member state)" if code in states else None,
                "role": f"{roles[code]}s" if code in roles else None}.get(prefix)
            or ("Network administrators" if name == Community.NETWORK_ADMINS else name)
        )
    return labels


def time_zone_of(organisation) -> str:
    """The zone an organisation's legal periods are counted in: its member state's (data on the state).

    An organisation of no member state (ENISA, the Commission) counts in the EU institutions' zone.
    """
    if organisation.member_state_id:
        return organisation.member_state.time_zone
    return MemberState.objects.values_list("time_zone", flat=True).get(kind=MemberState.Kind.EUIBA)


def presidency_on(day) -> CouncilPresidency | None:
    """The Council Presidency on ``day`` (a date), or None when ENISA has not recorded one."""
    return (CouncilPresidency.objects.select_related("member_state")
            .filter(starts_on__lte=day, ends_on__gte=day).first())


# --- Exercises ------------------------------------------------------------------------------------


class ExerciseRefused(Exception):
    """The person may not work in that exercise (it does not exist, they do not take part, or it is archived)."""


def exercise_for(user, exercise_id) -> Exercise:
    """The exercise, if this person takes part in it; else ``ExerciseRefused``, the same for one that does not
    exist (the answer tells nothing of other organisations' exercises)."""
    from liaison.policy import takes_part

    try:
        exercise = Exercise.objects.get(pk=int(exercise_id))
    except (Exercise.DoesNotExist, ValueError, TypeError):
        exercise = None
    if exercise is None or not takes_part(user, exercise):
        raise ExerciseRefused(f"You do not take part in exercise {exercise_id}: it is not one of your "
                              "organisations' exercises, has been archived, or does not exist.")
    return exercise


def exercises_to_switch_to(user) -> list[Exercise]:
    """The planned and running exercises one of the person's organisations takes part in (the switch's choices)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(Exercise.objects.filter(
        participants__in=acting_organisation_ids(user),
        status__in=[Exercise.Status.PLANNED, Exercise.Status.RUNNING]).distinct().order_by("starts_at", "id"))


def exercises_taken_part_in(user):
    """Exercises one of the person's organisations takes part in, not archived (``policy.takes_part``): the ones
    the API's ``X-Exercise`` header accepts from them (an ended one can still be read back)."""
    if not getattr(user, "is_authenticated", False):
        return Exercise.objects.none()
    taking_part = Exercise.participants.through.objects.filter(
        exercise=OuterRef("pk"), organisation__in=acting_organisation_ids(user))
    return (Exercise.objects.filter(Exists(taking_part)).exclude(status=Exercise.Status.ARCHIVED)
            .select_related("organisation"))


def exercises_visible_to(user):
    """Exercises the person takes part in or runs (any status), for the exercises page."""
    if not getattr(user, "is_authenticated", False):
        return Exercise.objects.none()
    org_ids = list(acting_organisation_ids(user).values_list("organisation_id", flat=True))
    return (Exercise.objects.filter(Q(participants__in=org_ids) | Q(organisation__in=org_ids)).distinct()
            .select_related("organisation").order_by("-starts_at", "id"))
