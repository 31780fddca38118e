"""The live event stream, ``/ws/events/?after=<id>``.

Protocol: the server sends JSON text frames ``{"type": "event", "event": <as in GET
/api/v1/events/>}`` in id order, once each; ``{"type": "caught_up", "after": <id>}`` when the
replay from the log is done; ``{"type": "pong"}`` for a client's ``{"type": "ping"}`` (the
only client message); ``{"type": "error", "code", "message"}`` — ``bad_message`` keeps the
connection, the others are followed by a close: 4400 bad ``after``, 4401 no or no longer
valid credentials, 4403 token without the read scope, 4408 too slow a reader (reconnect
with ``after``), 1009 frame too big.

Notify, then pull: a channel-layer message only says "event N is new"; the log is then read
after the connection's own cursor (by the connection, or for it by the Fanout), through the
same settled-prefix rule as the API feed (``selectors.settled_prefix``). A dropped, late or
repeated notification therefore never loses, reorders or repeats an event, and a replay
after a reconnect reads as live delivery does.

Grants made while connected are followed without a reconnect: a change of the user's groups
(a new membership or role, a person share's personal group, a removal) reaches the
connection as a ``groups.changed`` message (``liaison.events.announce_group_changes``, and
a periodic re-read as the backstop); it joins or leaves the audiences and, after a gain,
reads again what it passed over since it last knew its groups, from no earlier than the last
event it sent. Grants to a group the user is already in (a share to their organisation)
need nothing: the subject is re-checked when each event is sent.

A Redis that restarts empty (or is flushed) forgets the process's group memberships: the
``Notifier`` sends itself a check through a group of its own every ``GROUP_CHECK`` seconds
and, when that does not come back within ``GROUP_CHECK_WAIT``, joins every group again and
has each connection read the log, which brings what was published meanwhile. Live delivery
is thus back within about three seconds of Redis coming back; until then connections still
pull every ``SAFETY_INTERVAL``.

Shared by all connections of a process, so 1,000 sockets do not each query per event:

- ``Notifier``: one channel-layer channel per process joins the groups of its connections
  (``audience.<group id>``) and hands each new event id, once, to the ``Fanout``;
- ``Fanout``: one pass per new event serves every connection idle at the tail: the
  filter by groups once per (position, groups), the re-check once per (user,
  credential), and each frame sent at once, without a task per connection (a client
  that does not keep up gets its own task, under the send timeout). Other connections
  (replaying, behind, reading already) are woken to pull for themselves;
- ``EventTail``: the settled head of the log, each event with its audience and its JSON
  frame, read once (single flight) when a notification names an event it does not hold;
  events stay cached for a short time. Connections further behind read the log directly,
  with identical reads shared.
- ``VisibilityChecks``: the re-check before sending (credential still good, active
  account, current groups, subject still visible) stays per user and fresh, but the
  requests of all connections made while one check runs go into the next single call to
  the database thread, each user checked once.

Per connection: a cursor, one pull at a time (a task, or the Fanout reading for it, plus a
dirty flag), and sends with a timeout: a client that stalls is closed with 4408 and catches
up from the log on reconnect.
"""

import asyncio
import bisect
import gc
import json
import logging
import random
import re
import time
import weakref
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from csoa_portal import input_rules
from csoa_portal.ws_auth import NO_CREDENTIALS, db_sync_to_async
from liaison import selectors
from liaison.api.serializers import EventSerializer
from liaison.events import channel_group_name, user_channel_group_name

logger = logging.getLogger(__name__)

# Close codes of the protocol.
BAD_REQUEST, UNAUTHENTICATED, FORBIDDEN, LAGGING, MESSAGE_TOO_BIG = 4400, 4401, 4403, 4408, 1009

REPULL_DELAY = 0.3  # seconds before another look when a young id hole held the cursor back
RETRY_DELAY = 2.0  # after a failed read (database unavailable)
SAFETY_INTERVAL = 15.0  # a pull even without a notification, in case hints were lost
GROUP_REFRESH = 3600.0  # re-join the channel groups (channels_redis expires memberships)
GROUP_CHECK = 2.0  # seconds between checks that the channel layer still holds the process's groups …
GROUP_CHECK_WAIT = 1.0  # … each waiting this long for its own message: a restarted Redis is noticed within both
GROUP_WATCH = SAFETY_INTERVAL  # re-read the connected users' groups, in case a change message was lost
TAIL_BATCH = 500  # events per refresh of the shared tail
READ_BATCH = 200  # events handed to one connection per pull
TAIL_KEEP = 5000  # events kept in the shared tail …
TAIL_TTL = 120.0  # … for at most this many seconds
RECENT_HINTS = 1000  # event ids remembered to wake connections once per event, not once per group
AFTER_RE = re.compile(r"\d{1,18}", re.ASCII)

# How a read ended: nothing more now, more to read at once, or a young hole to look at again soon.
DONE, MORE, YOUNG = "done", "more", "young"


class Lagging(Exception):
    """A send did not complete in time: the client is not reading."""


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One event as every connection of the process sends it: rendered once."""

    id: int
    subject_type: str
    subject_id: str
    audience_ids: frozenset[int]
    frame: str
    exercise_id: int | None = None


def _load(after: int, limit: int) -> tuple[list[StreamEvent], int, bool]:
    events, horizon, young = selectors.settled_events_after(after, limit=limit)
    rendered = [
        StreamEvent(
            id=e.id,
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            audience_ids=e.audience_ids,
            exercise_id=e.exercise_id,
            frame=json.dumps({"type": "event", "event": EventSerializer(e).data}, cls=DjangoJSONEncoder),
        )
        for e in events
    ]
    return rendered, horizon, young


class _Resumed:
    """Awaiting this finishes a coroutine that was started by hand and is waiting on ``waiting``.

    The Fanout steps each send itself (``coroutine.send(None)``): nearly always the send
    completes at once, and a task per connection per event would be wasted. A send that has
    to wait is handed to a task through this: it yields what the coroutine waits on, and
    passes the wake-up (or an exception, such as a timeout's cancellation) back into it.
    What ``asyncio.eager_task_factory`` does from Python 3.12 on.
    """

    __slots__ = ("coroutine", "waiting")

    def __init__(self, coroutine, waiting):
        self.coroutine, self.waiting = coroutine, waiting

    def __await__(self):
        coroutine, value = self.coroutine, self.waiting
        while True:
            try:
                yield value
            except BaseException as exc:  # noqa: BLE001 (passed on to the coroutine, which decides)
                try:
                    value = coroutine.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coroutine.send(None)
                except StopIteration as stop:
                    return stop.value


class EventTail:
    """The settled head of the event log, shared by the connections of one event loop.

    Holds every event in ``(base, horizon]`` (``base`` rises as old entries expire).
    """

    def __init__(self):
        self.base: int | None = None
        self.horizon: int | None = None
        self.young = False
        self.more = False
        self._ids: list[int] = []
        self._events: list[StreamEvent] = []
        self._loaded_at: list[float] = []
        self._refresh: asyncio.Future | None = None
        self._refreshed_since = float("-inf")  # start time of the newest completed refresh
        self._reads: dict[int, asyncio.Future] = {}

    async def head(self) -> int:
        """The settled head now: where a connection without ``after`` starts."""
        await self._ensure(time.monotonic())
        while self.more:
            await self._ensure(time.monotonic())
        return self.horizon

    async def read(self, after: int, *, wanted: float, since: float) -> tuple[list[StreamEvent], int, str]:
        """Events after ``after`` (a batch), the position reached, and how the read ended.

        ``wanted`` is the newest id the caller was told about (``inf``: "anything new");
        if the tail does not reach it, a refresh begun at or after ``since`` is awaited.
        """
        await self.reach(wanted, since)
        if not self.holds(after):
            return await self._read_log(after)
        return self.slice(after)

    async def reach(self, wanted: float, since: float) -> None:
        """Unless the tail already reaches ``wanted``, wait for a refresh begun at or after ``since``."""
        if self.horizon is None or wanted > self.horizon:
            await self._ensure(since, wanted)

    def holds(self, after: int) -> bool:
        """Can a reader at ``after`` read on from the tail (rather than the log)?"""
        return self.horizon is not None and self.base <= after <= self.horizon

    def slice(self, after: int) -> tuple[list[StreamEvent], int, str]:
        """``read`` for a position the tail holds, without waiting."""
        start = bisect.bisect_right(self._ids, after)
        batch = self._events[start : start + READ_BATCH]
        if start + READ_BATCH < len(self._events):
            return batch, batch[-1].id, MORE
        return batch, self.horizon, MORE if self.more else YOUNG if self.young else DONE

    async def _read_log(self, after: int) -> tuple[list[StreamEvent], int, str]:
        """A connection behind the tail reads the log itself; identical reads are shared."""
        future = self._reads.get(after)
        if future is None:
            future = asyncio.ensure_future(db_sync_to_async(_load)(after, READ_BATCH))
            self._reads[after] = future
            future.add_done_callback(lambda _: self._reads.pop(after, None))
        events, horizon, young = await asyncio.shield(future)
        return events, horizon, MORE if len(events) == READ_BATCH else YOUNG if young else DONE

    async def _ensure(self, since: float, wanted: float = float("inf")) -> None:
        """Wait for a refresh begun at or after ``since`` unless the tail already reaches ``wanted``."""
        while self._refreshed_since < since and (self.horizon is None or wanted > self.horizon):
            if self._refresh is None:
                self._refresh = asyncio.ensure_future(self._do_refresh())
            await asyncio.shield(self._refresh)

    async def _do_refresh(self) -> None:
        started = time.monotonic()
        try:
            if self.horizon is None:
                head, young = await db_sync_to_async(selectors.stream_start)()
                self.base = self.horizon = head
                self.young, self.more = young, False
            else:
                events, horizon, young = await db_sync_to_async(_load)(self.horizon, TAIL_BATCH)
                now = time.monotonic()
                self._ids += [e.id for e in events]
                self._events += events
                self._loaded_at += [now] * len(events)
                self.horizon, self.young, self.more = horizon, young, len(events) == TAIL_BATCH
                self._expire(now)
            self._refreshed_since = started
        finally:
            self._refresh = None

    def _expire(self, now: float) -> None:
        drop = max(0, len(self._ids) - TAIL_KEEP)
        while drop < len(self._ids) and self._loaded_at[drop] < now - TAIL_TTL:
            drop += 1
        if drop:
            self.base = self._ids[drop - 1]
            del self._ids[:drop], self._events[:drop], self._loaded_at[:drop]


class VisibilityChecks:
    """Batches the fresh per-user re-checks of all connections into one database round trip."""

    def __init__(self):
        self._queue: list[tuple[object, selectors.StreamCredential, list[StreamEvent], asyncio.Future]] = []
        self._running: asyncio.Future | None = None

    async def visible(self, user, credential, events: list[StreamEvent]) -> set[int] | None:
        """The ids among ``events`` the user may see now; None once the credential is no longer good."""
        return (await self.visible_many([(user, credential, events)]))[0]

    async def visible_many(self, requests: list[tuple[object, selectors.StreamCredential, list[StreamEvent]]]):
        """``visible`` for several (user, credential, events) at once, in the same batch."""
        loop = asyncio.get_running_loop()
        futures = []
        for user, credential, events in requests:
            futures.append(loop.create_future())
            self._queue.append((user, credential, events, futures[-1]))
        if self._running is None:
            self._running = asyncio.ensure_future(self._drain())
        return await asyncio.gather(*futures)

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    results = await db_sync_to_async(selectors.stream_visibility)(
                        [(user, credential, events) for user, credential, events, _ in batch]
                    )
                except Exception as exc:  # every waiter learns of it and retries later
                    results = [exc] * len(batch)
                for (*_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue  # its connection went away
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._running = None


class Fanout:
    """Delivers a new event to every connection of the process that waits at the tail, in one pass.

    Waking each connection to pull for itself costs, per event and per connection, a task,
    a read of the tail, a filter by groups, a re-check request and Channels' send layers:
    most of a process's time at a thousand sockets. Connections idle at a position the tail
    holds (the steady state of a live stream) are instead served here: those at the same
    position with the same groups share one filtered list of events, each (user,
    credential) among them one fresh re-check (one database call for the whole pass), and
    each connection then gets its frames sent at once, without a task, unless the client
    is not reading fast enough (then its own task finishes the sends, under the timeout).

    Every other connection (replaying, reading, behind or ahead of the tail, having just
    gained a group) pulls for itself as before. A connection being served here counts as
    reading: a trigger meanwhile makes it pull once more afterwards, so it never reads
    twice at once and never sends an event twice or out of order.
    """

    def __init__(self, tail: EventTail, checks: VisibilityChecks, members: "set[EventStreamConsumer]"):
        self.tail, self.checks, self.members = tail, checks, members
        self.wanted = 0
        self.since = 0.0
        self._task: asyncio.Future | None = None

    def wake(self, event_id: float) -> None:
        """Event ``event_id`` is new (``inf``: anything may be): a pass, now or right after the one under way."""
        self.wanted = max(self.wanted, event_id)
        self.since = time.monotonic()
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            while self.wanted:
                wanted, since = self.wanted, self.since
                self.wanted, self.since = 0, 0.0
                await self._pass(wanted, since)
        finally:
            self._task = None

    async def _pass(self, wanted: int, since: float) -> None:
        try:
            await self.tail.reach(wanted, since)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database is unavailable: each connection reads (and retries) for itself
            logger.warning("event stream tail refresh failed; connections read on their own", exc_info=True)
            reached = False
        else:
            reached = True
        # Connections at the same position with the same groups read the same events.
        readers: dict[tuple, list[EventStreamConsumer]] = {}
        for consumer in list(self.members):
            if consumer.cursor is None or consumer.closing or wanted <= consumer.cursor:
                continue  # not started, going, or already past the news
            if reached and consumer.claim(self.tail):
                key = (consumer.cursor, consumer.exercise_id, consumer.group_ids,
                       tuple(sorted(consumer.gained_since.items())) if consumer.gained_since else ())
                readers.setdefault(key, []).append(consumer)
            else:
                consumer.trigger(wanted=wanted, staleness=time.monotonic() - since)
        if not readers:
            return
        served: set[EventStreamConsumer] = set()
        try:
            reads, checks = [], {}
            for (cursor, *_), consumers in readers.items():
                events, position, state = self.tail.slice(cursor)
                candidates = [e for e in events if consumers[0].addressed(e)]
                reads.append((consumers, candidates, position, state))
                if candidates:
                    for consumer in consumers:
                        checks.setdefault((id(candidates), consumer.user.pk, consumer.credential),
                                          (consumer.user, consumer.credential, candidates))
            keys = list(checks)
            try:
                results = dict(zip(keys, await self.checks.visible_many(list(checks.values())) if keys else [],
                                   strict=True))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("event stream re-check failed; connections read on their own", exc_info=True)
                return
            sendable = {key: None if visible is None else [e for e in checks[key][2] if e.id in visible]
                        for key, visible in results.items()}
            # A collection begun while the frames go out would hold every socket after it (a full
            # one walks each connection's objects: a quarter of a second at 1,000 sockets on a
            # busy host): it runs once they are out. Nothing here waits: nothing else on the loop runs meanwhile.
            collecting = gc.isenabled()
            gc.disable()
            try:
                for consumers, candidates, position, state in reads:
                    for consumer in consumers:
                        served.add(consumer)
                        consumer.deliver(sendable[(id(candidates), consumer.user.pk, consumer.credential)]
                                         if candidates else [], position, state)
            finally:
                if collecting:
                    gc.enable()
        finally:  # a failed re-check (or a cancelled pass): the rest read for themselves
            for consumers in readers.values():
                for consumer in consumers:
                    if consumer not in served:
                        consumer.release()


class Notifier:
    """One channel-layer subscription for all the connections of a process.

    A channel per connection would cost one channel-layer message per connection per event
    (one Redis round trip each with channels_redis: most of a process's work at a thousand
    sockets). Instead the process's one channel joins the union of its connections' groups
    (``audience.<group id>``, counted), and each new event id goes to the ``Fanout``, which
    serves the local connections from the shared tail, in memory.

    Grants follow live: the channel also joins ``user.<user id>`` for each connected user;
    a change of that user's groups (``liaison.events.announce_group_changes``) makes their
    connections re-read them (``regroup``). Every ``GROUP_WATCH`` seconds the groups of all
    connected users are re-read in one query, in case such a message was lost.

    ``group_counts`` is the membership the process wants; the channel layer is brought to it
    at each change and, after it lost it (a Redis restarted empty or flushed, noticed by the
    check message of ``_check_groups`` or a failed receive), by joining every group again.
    A channel-layer error while joining never fails a connection: the next check repairs it.
    """

    def __init__(self, tail: EventTail, checks: VisibilityChecks):
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.members: set[EventStreamConsumer] = set()
        self.group_counts: Counter[str] = Counter()  # channel-layer group name -> connections in it
        self._tasks: list[asyncio.Future] = []
        self._checks: set[asyncio.Future] = set()
        self._lock = asyncio.Lock()
        self._recent: deque[int] = deque(maxlen=RECENT_HINTS)
        self._recent_set: set[int] = set()
        self.fanout = Fanout(tail, checks, self.members)
        self.check_group: str | None = None  # a group of this channel alone, for ``_check_groups``
        self._check_seq = 0
        self._check_heard = asyncio.Event()
        self.rejoins = 0  # times every group was joined again after the layer lost them
        self._join_failed = False  # a join failed: the next check joins every group again

    @staticmethod
    def _names(consumer: "EventStreamConsumer", group_ids: Iterable[int]) -> set[str]:
        return {user_channel_group_name(consumer.user.pk)} | {channel_group_name(g) for g in group_ids}

    async def _add(self, names: Iterable[str]) -> None:
        for name in names:
            self.group_counts[name] += 1
            if self.group_counts[name] == 1:
                await self._layer_call(self.layer.group_add, name)

    async def _discard(self, names: Iterable[str]) -> None:
        for name in names:
            self.group_counts[name] -= 1
            if not self.group_counts[name]:
                del self.group_counts[name]
                await self._layer_call(self.layer.group_discard, name)

    async def _layer_call(self, call, name: str) -> None:
        """A join or leave; with the layer down, the next check joins again (a stale member only gets extra hints)."""
        try:
            await call(name, self.channel)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._join_failed = True
            logger.warning("channel layer unavailable for %s of %s (%r); the group check repairs it",
                           call.__name__, name, exc)

    async def join(self, consumer: "EventStreamConsumer", group_ids: Iterable[int] = ()) -> None:
        """Listen for the consumer's user (and the audience groups given, which become its own)."""
        async with self._lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self.check_group = f"notifier.{self.channel.rpartition('!')[2]}"
                await self._layer_call(self.layer.group_add, self.check_group)
                self._tasks = [asyncio.ensure_future(self._receive()), asyncio.ensure_future(self._rejoin()),
                               asyncio.ensure_future(self._watch_groups()),
                               asyncio.ensure_future(self._check_groups())]
            consumer.group_ids = frozenset(group_ids)
            await self._add(self._names(consumer, consumer.group_ids))
            self.members.add(consumer)

    async def regroup(self, consumer: "EventStreamConsumer", group_ids: frozenset[int]) -> frozenset[int]:
        """Make ``group_ids`` the consumer's audience groups; returns the groups it gained."""
        async with self._lock:
            if consumer not in self.members:
                return frozenset()
            old = consumer.group_ids
            await self._add(channel_group_name(g) for g in group_ids - old)
            consumer.group_ids = group_ids  # a lost group stops counting for this consumer at once
            await self._discard(channel_group_name(g) for g in old - group_ids)
            return group_ids - old

    async def leave(self, consumer: "EventStreamConsumer") -> None:
        async with self._lock:
            if consumer not in self.members:
                return
            self.members.discard(consumer)
            await self._discard(self._names(consumer, consumer.group_ids))
            if not self.members:  # the last one left: stop listening
                for task in self._tasks:
                    task.cancel()
                await self._layer_call(self.layer.group_discard, self.check_group)
                self._tasks, self.channel, self.check_group = [], None, None

    async def _receive(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # the layer is down: connections still pull on their own timers
                logger.warning("event hints unavailable; retrying in %ss", RETRY_DELAY, exc_info=True)
                await asyncio.sleep(RETRY_DELAY)
                # A restarted Redis has forgotten every group: join them again before listening.
                await self._join_all()
                continue
            if message.get("type") == "notifier.check":
                if message.get("seq") == self._check_seq:
                    self._check_heard.set()
                continue
            if message.get("type") == "groups.changed" and isinstance(message.get("user"), int):
                floor = message.get("floor")
                self._spawn_check({message["user"]}, floor=floor if isinstance(floor, int) else None)
                continue
            event_id = message.get("id")
            if message.get("type") != "event.new" or not isinstance(event_id, int) or event_id in self._recent_set:
                continue  # one hint per audience group: wake connections once per event
            if len(self._recent) == self._recent.maxlen:
                self._recent_set.discard(self._recent[0])
            self._recent.append(event_id)
            self._recent_set.add(event_id)
            self.fanout.wake(event_id)

    def _spawn_check(self, user_ids: set[int] | None, *, floor: int | None) -> None:
        task = asyncio.ensure_future(self.check_groups(user_ids, floor=floor))
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    async def check_groups(
        self, user_ids: set[int] | None = None, *, floor: int | None = None, consumers=None, quiet: bool = True
    ) -> None:
        """Re-read the groups of connected users (all, those of ``user_ids``, or ``consumers``) and regroup them.

        ``floor``: the newest event id when the change being announced was written.
        """
        if consumers is None:
            consumers = [c for c in list(self.members) if user_ids is None or c.user.pk in user_ids]
        if not consumers:
            return
        if floor is not None:
            for consumer in consumers:
                consumer.announced(floor)
        # Each connection's position before the read, and the read's place in its sequence of reads.
        started = {c: (c.next_groups_read(), c.cursor) for c in consumers}
        try:
            groups = await db_sync_to_async(selectors.group_ids_of_users)({c.user.pk for c in consumers})
        except asyncio.CancelledError:
            raise
        except Exception:  # the database is unavailable: the next watch tries again
            if not quiet:
                raise
            logger.warning("could not re-read the groups of connected users", exc_info=True)
            return
        for consumer, (seq, position) in started.items():
            await consumer.regroup(groups.get(consumer.user.pk, frozenset()), seq=seq, position=position)

    async def _join_all(self) -> bool:
        """Join every group again; then each connection reads the log, for what was published meanwhile."""
        try:
            async with self._lock:
                for name in [self.check_group, *self.group_counts]:
                    await self.layer.group_add(name, self.channel)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # still down: the next check, failed receive or refresh tries again
            self._join_failed = True  # some groups may be back and others not: the next check joins all
            logger.warning("could not rejoin the event groups (%r)", exc)
            return False
        self.rejoins += 1
        self._join_failed = False
        self.fanout.wake(float("inf"))  # hints sent while the groups were missing went nowhere
        return True

    async def groups_held(self) -> bool:
        """Does the channel layer still deliver to this process's groups? A message to its own group tells."""
        self._check_seq += 1
        self._check_heard.clear()
        try:
            await self.layer.group_send(self.check_group, {"type": "notifier.check", "seq": self._check_seq})
            async with asyncio.timeout(GROUP_CHECK_WAIT):
                await self._check_heard.wait()
        except asyncio.CancelledError:
            raise
        except Exception:  # not back in time (memberships lost), or the layer is down
            return False
        return True

    async def _check_groups(self) -> None:
        """A Redis restarted empty (or flushed) forgets the groups without this process noticing: check, rejoin."""
        while True:
            await asyncio.sleep(GROUP_CHECK)
            if self._join_failed or not await self.groups_held():
                if not self._join_failed:  # once per loss, not at every check while Redis is down
                    logger.warning("the channel layer lost this process's event groups; joining them again")
                await self._join_all()

    async def _rejoin(self) -> None:
        """channels_redis forgets group members after its group expiry: join again now and then."""
        while True:
            await asyncio.sleep(GROUP_REFRESH)
            await self._join_all()

    async def _watch_groups(self) -> None:
        """The backstop for lost ``groups.changed`` messages (and grants written past the signal)."""
        while True:
            await asyncio.sleep(GROUP_WATCH * random.uniform(0.8, 1.2))
            try:
                await self.check_groups()
            except asyncio.CancelledError:
                raise
            except Exception:  # one failed round must not end the backstop
                logger.warning("re-reading the connected users' groups failed", exc_info=True)


# One of each per event loop: asyncio objects belong to their loop (tests run one loop each).
_shared: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[EventTail, VisibilityChecks, Notifier]]" = (
    weakref.WeakKeyDictionary()
)


def _shared_for_loop() -> tuple[EventTail, VisibilityChecks, Notifier]:
    loop = asyncio.get_running_loop()
    if loop not in _shared:
        tail, checks = EventTail(), VisibilityChecks()
        _shared[loop] = (tail, checks, Notifier(tail, checks))
    return _shared[loop]


def parse_after(scope) -> tuple[int | None, str | None]:
    """The resume point from the query string: (value, None), (None, None) if absent, or (None, why)."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True).get("after", [])
    if len(values) > 1:
        return None, "Give 'after' once."
    if not values or values[0] == "":
        return None, None
    if not AFTER_RE.fullmatch(values[0]):
        return None, "'after' must be a non-negative integer: the id of the last event you received."
    return int(values[0]), None


def parse_exercise(scope) -> tuple[int | None, str | None]:
    """The exercise from the query string: (id, None), (None, None) for live work, or (None, why)."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True).get("exercise", [])
    if len(values) > 1:
        return None, "Give 'exercise' once."
    if not values or values[0] == "":
        return None, None
    if not AFTER_RE.fullmatch(values[0]):
        return None, "'exercise' must be the id of an exercise you take part in (absent: live work)."
    return int(values[0]), None


class EventStreamConsumer(AsyncWebsocketConsumer):
    """Sends each event the connection's user may see, in id order, once, from ``after`` on."""

    # No channel of its own: hints come from the process's Notifier.
    channel_layer_alias = "no channel per connection"

    async def dispatch(self, message):
        # Channels closes stale database connections before every message: a thread hop per
        # notification per socket, and with CONN_MAX_AGE=0 a new connection for the next read.
        # Reads here keep theirs (csoa_portal.ws_auth.db_sync_to_async); Channels still closes
        # it when a socket disconnects.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        self.tail, self.checks, self.notifier = _shared_for_loop()
        self.user = self.scope.get("user")
        self.cursor: int | None = None
        self.exercise_id: int | None = None  # the exercise followed (None: live work)
        self.closing = False
        self.group_ids: frozenset[int] = frozenset()  # set by the Notifier, under its lock
        self.groups_read = self.groups_applied = 0  # group reads begun / newest applied (older ones lose)
        self.delivered = 0  # id of the last event sent (or where the stream started): never sent again
        self.verified = 0  # the position when the user's groups were last read
        self.rewind_to: int | None = None  # a gained group: read again from here (not before ``delivered``)
        self.floor: int | None = None  # where announced changes of the user's groups were written
        self.gained_since: dict[int, int] = {}  # group gained while connected -> events after this id count
        self.send_lock = asyncio.Lock()
        self.puller: asyncio.Future | None = None
        self.claimed = False  # the Fanout is reading for this connection
        self.dirty = False
        self.wanted: float = 0
        self.since = 0.0
        self.replaying = True
        self.timers: dict[str, asyncio.TimerHandle] = {}
        await self.accept()

        error = self.scope.get("auth_error")
        if error or self.user is None or not self.user.is_authenticated:
            return await self.fail(UNAUTHENTICATED, "unauthenticated", error or NO_CREDENTIALS)
        token = self.scope.get("api_token")
        session = self.scope.get("session")
        self.credential = selectors.StreamCredential(
            token_id=token.pk if token is not None else None,
            session_key=session.session_key if token is None and session is not None else None,
        )
        if token is not None and not token.has_scope("read"):
            return await self.fail(FORBIDDEN, "forbidden", "This token lacks the 'read' scope needed to follow events.")
        after, error = parse_after(self.scope)
        if error:
            return await self.fail(BAD_REQUEST, "bad_request", error)
        # ``?exercise=<id>``: the exercise's stream (absent: live work); refused unless the user takes part.
        self.exercise_id, error = parse_exercise(self.scope)
        if error:
            return await self.fail(BAD_REQUEST, "bad_request", error)
        if self.exercise_id is not None:
            try:
                await db_sync_to_async(selectors.exercise_for)(self.user, self.exercise_id)
            except selectors.ExerciseRefused as refused:
                return await self.fail(FORBIDDEN, "forbidden", str(refused))
        if after is not None:
            newest = await db_sync_to_async(selectors.newest_event_id)()
            if after > newest:
                return await self.fail(
                    BAD_REQUEST, "bad_request", f"Unknown 'after': {after} is past the newest event ({newest})."
                )

        # Listen for changes of the user's groups before reading them, and join the groups before
        # fixing the start, so neither a grant nor a notification falls in between.
        await self.notifier.join(self)
        try:
            await self.notifier.check_groups(consumers=[self], quiet=False)
        except BaseException:
            await self.notifier.leave(self)
            raise
        joined = time.monotonic()
        self.cursor = after if after is not None else await self.tail.head()
        self.delivered = self.verified = self.cursor
        # Any read of the log begun after joining shows what committed before the join.
        self.trigger(wanted=float("inf"), staleness=time.monotonic() - joined)
        self._arm("safety", SAFETY_INTERVAL * random.uniform(0.8, 1.2), self._safety_tick)

    async def disconnect(self, code):
        self.closing = True
        for timer in self.timers.values():
            timer.cancel()
        if self.puller is not None:
            self.puller.cancel()
        await self.notifier.leave(self)

    # --- client → server ----------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        size = len(text_data.encode(errors="surrogatepass")) if text_data is not None else len(bytes_data or b"")
        if size > settings.WS_MAX_MESSAGE_BYTES:
            limit = settings.WS_MAX_MESSAGE_BYTES
            return await self.fail(MESSAGE_TOO_BIG, "message_too_big", f"Frames are limited to {limit} bytes.")
        if self.closing or self.cursor is None:
            return
        if text_data is None:
            return await self.send_error("bad_message", "Send text frames: JSON like {\"type\": \"ping\"}.")
        try:
            message = input_rules.loads(text_data)  # depth, text and number rules, as for API bodies
        except (input_rules.TooDeep, input_rules.InvalidInput) as exc:
            return await self.send_error("bad_message", f"Malformed message: {exc}")
        except ValueError:
            return await self.send_error("bad_message", "Malformed message: not JSON.")
        if not isinstance(message, dict) or message.get("type") != "ping":
            return await self.send_error("bad_message", "Unknown message: the only one is {\"type\": \"ping\"}.")
        await self.send_json({"type": "pong"})

    # --- following the user's groups --------------------------------------------------------

    def next_groups_read(self) -> int:
        self.groups_read += 1
        return self.groups_read

    def announced(self, floor: int) -> None:
        """A change of the user's groups was written when ``floor`` was the newest event id."""
        self.floor = floor if self.floor is None else min(self.floor, floor)

    async def regroup(self, group_ids: frozenset[int], *, seq: int, position: int | None) -> None:
        """Follow the user's groups as read from the database (read number ``seq``, begun at ``position``).

        A lost group stops counting at once (the send-time re-check reads groups afresh too).
        A gained group may be in the audience of events this connection passed over since the
        change (its announced ``floor``; without one, since the groups were last read,
        ``verified``): the next pull goes back there, never before the last event sent, so the
        client gets them now, in order and once, without reconnecting.
        """
        if self.closing or seq <= self.groups_applied:
            return  # a newer read already answered
        self.groups_applied = seq
        floor, self.floor = self.floor, None  # this read sees every change announced before it began
        gained = await self.notifier.regroup(self, group_ids)
        self.gained_since = {g: s for g, s in self.gained_since.items() if g in group_ids}
        if self.cursor is None:
            return  # still connecting: the first pull reads with these groups
        if gained:
            start = floor if floor is not None else self.verified
            self.gained_since.update(dict.fromkeys(gained, start))  # what was addressed to them before is not news
            self.rewind_to = start if self.rewind_to is None else min(self.rewind_to, start)
        if position is not None:
            self.verified = max(self.verified, position)
        if gained:
            self.trigger(wanted=float("inf"))

    # --- pulling from the log -----------------------------------------------------------

    def trigger(self, *, wanted: float, staleness: float = 0.0) -> None:
        """Something may be new: pull now, or once more after the pull (or Fanout delivery) under way.

        ``wanted`` is the newest id heard of (``inf``: anything new); the shared tail must
        have been read from the log at most ``staleness`` seconds before this call.
        """
        if self.closing:
            return
        self.wanted = max(self.wanted, wanted)
        self.since = max(self.since, time.monotonic() - staleness)
        if self.claimed or (self.puller is not None and not self.puller.done()):
            self.dirty = True
        else:
            self.puller = asyncio.ensure_future(self._pull_loop())

    async def _pull_loop(self, pending: tuple | None = None) -> None:
        """Pull until nothing new is left; first finish ``pending``, a delivery the Fanout began."""
        try:
            if pending is not None and not self._go_on(*await self._finish_delivery(*pending)):
                return
            while not self.closing:
                self.dirty = False
                if not self._go_on(*await self._pull_once()):
                    return
        except Lagging:
            await self._close_lagging()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database is unavailable: try again soon, keep the socket
            logger.warning("event stream read failed (%r); retrying in %ss", exc, RETRY_DELAY)
            self.cursor = max(self.cursor, self.delivered)  # what was sent is never sent again
            self._arm("repull", RETRY_DELAY, self._repull, replace=False)

    def _go_on(self, state: str, position: int) -> bool:
        """After a read that ended in ``state``: is there more to read at once?"""
        if state == MORE:  # read on at once, from the log if the tail holds no more
            self.wanted, self.since, self.dirty = max(self.wanted, position + 1), time.monotonic(), True
        elif state == YOUNG:
            self._arm("repull", REPULL_DELAY, self._repull, replace=False)
        return self.dirty and not self.closing

    async def _pull_once(self) -> tuple[str, int]:
        wanted, since = self.wanted, self.since
        self.wanted, self.since = 0, 0.0
        if self.rewind_to is not None:  # the user gained a group: look again at what was passed over
            self.cursor = max(self.delivered, min(self.cursor, self.rewind_to))
            self.rewind_to = None
        events, position, state = await self.tail.read(self.cursor, wanted=wanted, since=since)
        candidates = [e for e in events if self.addressed(e)]
        if candidates:
            visible = await self.checks.visible(self.user, self.credential, candidates)
            if visible is None:
                await self._signed_out()
                return DONE, self.cursor
            await self._send_events([e for e in candidates if e.id in visible])
        self._advance(position)
        if self.replaying and state != MORE:
            self.replaying = False
            await self.send_json({"type": "caught_up", "after": self.cursor})
        return state, self.cursor

    async def _send_events(self, events: list[StreamEvent]) -> None:
        for event in events:
            if self.closing:
                return
            await self.send_frame(event.frame)
            self.delivered = event.id

    def _advance(self, position: int) -> None:
        """The events up to ``position`` are dealt with (sent, or not for this user)."""
        if self.gained_since:  # no later read goes back to or before the last event sent
            self.gained_since = {g: s for g, s in self.gained_since.items() if s > self.delivered}
        self.cursor = max(self.cursor, position)

    async def _signed_out(self) -> None:
        await self.fail(UNAUTHENTICATED, "unauthenticated", "Your sign-in ended (token revoked or expired, "
                        "or signed out): connect again with valid credentials.")

    def addressed(self, event: StreamEvent) -> bool:
        """Is one of the user's groups in the event's audience (a group gained while connected: since then)?"""
        if event.exercise_id != self.exercise_id:  # live work and each exercise are separate streams
            return False
        groups = event.audience_ids & self.group_ids
        if not groups or not self.gained_since:
            return bool(groups)
        return any(event.id > self.gained_since.get(g, 0) for g in groups)

    # --- delivery by the Fanout ---------------------------------------------------------

    def claim(self, tail: EventTail) -> bool:
        """Let the Fanout read for this connection, if it waits idle at a position the tail holds."""
        if (self.claimed or self.replaying or self.rewind_to is not None or not tail.holds(self.cursor)
                or (self.puller is not None and not self.puller.done())):
            return False
        # Idle, so nothing is pending: the Fanout's read (begun after the news) answers everything.
        self.claimed, self.dirty, self.wanted, self.since = True, False, 0, 0.0
        return True

    def release(self) -> None:
        """The Fanout could not serve this connection after all: it reads for itself."""
        self.claimed = False
        self.trigger(wanted=float("inf"))

    def deliver(self, events: list[StreamEvent] | None, position: int, state: str) -> None:
        """The Fanout's read for this connection: send ``events`` (None: the credential is no longer good).

        The frames go out at once, without a task, as long as each send completes without
        waiting (the client keeps reading). The first that has to wait, and everything after
        it, is left to a task of this connection, under the send timeout (4408 when it runs
        out). Whatever it takes, the connection counts as reading until it is done.
        """
        self.claimed = False
        if self.closing:
            return
        if events is None:
            self.puller = asyncio.ensure_future(self._signed_out())
            return
        if events and not self._lock_now():  # another send of this connection is waiting for the client
            self.puller = asyncio.ensure_future(self._pull_loop((None, events, position, state)))
            return
        for i, event in enumerate(events):
            sending = self.base_send({"type": "websocket.send", "text": event.frame})
            try:
                waiting = sending.send(None)
            except StopIteration:
                self.delivered = event.id
                continue
            except Exception as exc:  # as in _pull_loop: the socket is going; keep nothing half-done
                self.send_lock.release()
                logger.warning("event stream send failed (%r); retrying in %ss", exc, RETRY_DELAY)
                self.cursor = max(self.cursor, self.delivered)
                self._arm("repull", RETRY_DELAY, self._repull, replace=False)
                return
            # The send lock stays taken: the task finishing this send releases it.
            self.puller = asyncio.ensure_future(self._pull_loop(((sending, waiting, event), events[i + 1 :],
                                                                 position, state)))
            return
        if events:
            self.send_lock.release()
        self._advance(position)
        if self._go_on(state, position):
            self.puller = asyncio.ensure_future(self._pull_loop())

    def _lock_now(self) -> bool:
        """Take the send lock if that needs no waiting."""
        if self.send_lock.locked():
            return False
        acquire = self.send_lock.acquire()
        try:
            acquire.send(None)
        except StopIteration:
            return True
        acquire.close()  # woken waiters are still to take it: wait in a task instead
        return False

    async def _finish_delivery(self, started, unsent: list[StreamEvent], position: int, state: str):
        """The rest of a Fanout delivery: the send that had to wait (``started``) and the frames after it."""
        if started is not None:
            sending, waiting, event = started
            try:
                async with asyncio.timeout(settings.WS_SEND_TIMEOUT_SECONDS):
                    await _Resumed(sending, waiting)
            except TimeoutError:
                raise Lagging from None
            finally:
                self.send_lock.release()
            self.delivered = event.id
        await self._send_events(unsent)
        self._advance(position)
        return state, self.cursor

    def _repull(self) -> None:
        self.trigger(wanted=float("inf"))

    def _arm(self, name: str, delay: float, callback, *, replace: bool = True) -> None:
        """Run ``callback`` after ``delay``; with ``replace=False`` a pending one is kept instead."""
        if self.closing or (not replace and name in self.timers):
            return
        if name in self.timers:
            self.timers.pop(name).cancel()

        def fire():
            self.timers.pop(name, None)
            callback()

        self.timers[name] = asyncio.get_running_loop().call_later(delay, fire)

    def _safety_tick(self) -> None:
        # A backstop for lost hints: any read of the log in the last few seconds will do, so
        # a thousand connections ticking cost the database one read every few seconds.
        self.trigger(wanted=float("inf"), staleness=SAFETY_INTERVAL / 3)
        self._arm("safety", SAFETY_INTERVAL * random.uniform(0.8, 1.2), self._safety_tick)

    # --- server → client ----------------------------------------------------------------

    async def send_frame(self, text: str) -> None:
        """Send one frame, or raise Lagging when the client does not take it in time."""
        async with self.send_lock:
            try:
                async with asyncio.timeout(settings.WS_SEND_TIMEOUT_SECONDS):  # no task per frame, unlike wait_for
                    await self.base_send({"type": "websocket.send", "text": text})  # Channels' send, minus two layers
            except TimeoutError:
                raise Lagging from None

    async def send_json(self, content: dict) -> None:
        try:
            await self.send_frame(json.dumps(content))
        except Lagging:
            await self._close_lagging()

    async def send_error(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})

    async def fail(self, close_code: int, code: str, message: str) -> None:
        """A fatal error: say why in an error frame, then close with the protocol's code."""
        if self.closing:
            return
        await self.send_error(code, message)
        await self._close(close_code, code)

    async def _close_lagging(self) -> None:
        logger.info("closing a lagging event stream of %s", getattr(self.user, "email", "?"))
        await self._close(LAGGING, "lagging")

    async def _close(self, close_code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        try:
            await asyncio.wait_for(self.close(code=close_code, reason=reason), settings.WS_SEND_TIMEOUT_SECONDS)
        except TimeoutError:
            pass  # the server drops the dead connection on its own
