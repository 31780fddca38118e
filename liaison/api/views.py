"""The network and the event feed over the API: thin views over ``liaison.selectors``.

Authentication, token scopes, pagination and the error shape come from the project's
REST_FRAMEWORK settings; these views only choose the rows and the shape.
"""

import asyncio

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import connection, connections
from django.db.models import prefetch_related_objects
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from csoa_portal.api.schema import error_responses
from csoa_portal.db_router import REPLICA, reading_replica, reads_replica
from liaison import selectors
from liaison.api.exercises import ExerciseSerializer
from liaison.api.filtersets import OrganisationFilterSet
from liaison.events import channel_group_name
from liaison.api.serializers import (
    EventFeedQuerySerializer,
    EventFeedSerializer,
    MemberStateSerializer,
    OrganisationSerializer,
)


@extend_schema(responses={200: MemberStateSerializer(many=True), **error_responses(400, 401, 403)})
class MemberStateListApi(generics.ListAPIView):
    """Every participant of the network: EU member states, DEP-associated countries, EU institutions."""

    summaries = {"get": "List member states and other participants"}

    serializer_class = MemberStateSerializer
    ordering = "code"

    def get_queryset(self):
        return selectors.member_states()


@extend_schema(responses={200: MemberStateSerializer, **error_responses(401, 403, 404)})
class MemberStateDetailApi(generics.RetrieveAPIView):
    """One member state by ISO 3166 alpha-2 code; the code is matched case-insensitively."""

    summaries = {"get": "Read a member state"}

    serializer_class = MemberStateSerializer
    lookup_field = "code"

    def get_queryset(self):
        return selectors.member_states()

    def get_object(self):
        code = self.kwargs["code"].upper()
        member_state = self.get_queryset().filter(code=code).first()
        if member_state is None:
            raise NotFound(f"No member state with code '{code}'.")
        return member_state


@extend_schema(responses={200: OrganisationSerializer(many=True), **error_responses(400, 401, 403)})
class OrganisationListApi(generics.ListAPIView):
    """Organisations of the network with their stable code, kind and member state."""

    summaries = {"get": "List the network's organisations"}

    serializer_class = OrganisationSerializer
    filterset_class = OrganisationFilterSet
    ordering = "code"

    def get_queryset(self):
        return selectors.organisations()


@extend_schema(responses={200: OrganisationSerializer, **error_responses(401, 403, 404)})
class OrganisationDetailApi(generics.RetrieveAPIView):
    """One organisation by its code (codes are lower-case; any case is accepted)."""

    summaries = {"get": "Read an organisation"}

    serializer_class = OrganisationSerializer
    lookup_field = "code"

    def get_queryset(self):
        return selectors.organisations()

    def get_object(self):
        code = self.kwargs["code"].lower()
        organisation = self.get_queryset().filter(code=code).first()
        if organisation is None:
            raise NotFound(f"No organisation with code '{code}'.")
        return organisation


@extend_schema(responses={200: ExerciseSerializer(many=True), **error_responses(400, 401, 403)})
class ExerciseListApi(generics.ListAPIView):
    """Exercises the caller's organisation takes part in (not archived), newest first: the ids the ``X-Exercise``
    header accepts. Live work is the default; send ``X-Exercise: <id>`` to read and write inside one."""

    summaries = {"get": "List the exercises you take part in"}

    serializer_class = ExerciseSerializer
    ordering = "-id"

    def get_queryset(self):
        return selectors.exercises_taken_part_in(self.request.user)


class EventFeedApi(APIView):
    """The events the caller may see, in id order, for polling SOC tooling."""

    summaries = {"get": "Read the event feed (long poll)"}

    @extend_schema(
        parameters=[EventFeedQuerySerializer],
        operation_id="events_feed",
        responses={200: EventFeedSerializer, **error_responses(400, 401, 403)},
        description=(
            "Events after `after`, in id order. Keep the returned `next_after` and pass it as "
            "`after` on the next call: a client that was away misses nothing and sees each event once. "
            "`results` may be empty while `next_after` moves on (events you may not see are skipped). "
            "With `wait`, an empty answer is held back until an event for you arrives or `wait` seconds pass."
        ),
    )
    def get(self, request):
        query = EventFeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        after, limit, wait = (query.validated_data[name] for name in ("after", "limit", "wait"))
        # A read replica when one is configured; the settled prefix is still the primary's (docs/scaling.md).
        with reading_replica(request.user):
            events, next_after = selectors.events_visible_to(request.user, after=after, limit=limit)
            if not events and wait:
                events, next_after = _long_poll(request.user, after=next_after, limit=limit, wait=wait)
            prefetch_related_objects(events, "actor", "exercise")  # one query each for the actors and exercise
            return Response(EventFeedSerializer({"results": events, "next_after": next_after}).data)


LONG_POLL_RECHECK = 1.0  # seconds between reads of the log while waiting, notified or not


def _release_connection() -> None:
    """Give the database connections back while a long-poll waits (not inside a transaction)."""
    if not connection.in_atomic_block:
        connection.close()
        if reads_replica():
            connections[REPLICA].close()


def _long_poll(user, *, after: int, limit: int, wait: int) -> tuple[list, int]:
    """Read the feed again until there is something for ``user`` or ``wait`` seconds pass.

    Woken at once by the channel-layer notifications of the user's groups (the websocket's
    ``event.new``), and reading at least every ``LONG_POLL_RECHECK`` seconds anyway: a hint
    may be lost, or the settled prefix may be held back by a young id hole. Reads run in
    this request's thread; the wait itself holds no database connection.
    """
    group_names = [channel_group_name(gid) for gid in user.groups.values_list("id", flat=True)]
    read = sync_to_async(selectors.events_visible_to, thread_sensitive=True)
    release = sync_to_async(_release_connection, thread_sensitive=True)

    async def poll():
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        layer = get_channel_layer()
        channel = await layer.new_channel()
        for name in group_names:
            await layer.group_add(name, channel)
        position = after
        try:
            while True:
                events, reached = await read(user, after=position, limit=limit)
                moved, position = reached != position, reached
                remaining = deadline - loop.time()
                if events or remaining <= 0:
                    return events, position
                if moved:
                    continue  # only events for others so far: scan on before waiting
                await release()
                try:
                    async with asyncio.timeout(min(LONG_POLL_RECHECK, remaining)):
                        await layer.receive(channel)
                except TimeoutError:
                    pass
        finally:
            for name in group_names:
                await layer.group_discard(name, channel)

    return async_to_sync(poll)()
