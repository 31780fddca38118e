"""The network and the event feed over the API: thin views over ``liaison.selectors``.

Authentication, token scopes, pagination and the error shape come from the project's
REST_FRAMEWORK settings; these views only choose the rows and the shape.
"""

from django.db.models import prefetch_related_objects
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from csoa_portal.api.schema import error_responses
from liaison import selectors
from liaison.api.filtersets import OrganisationFilterSet
from liaison.api.serializers import (
    EventFeedQuerySerializer,
    EventFeedSerializer,
    MemberStateSerializer,
    OrganisationSerializer,
)


@extend_schema(responses={200: MemberStateSerializer(many=True), **error_responses(400, 401, 403)})
class MemberStateListApi(generics.ListAPIView):
    """Every participant of the network: EU member states, DEP-associated countries, EU institutions."""

    serializer_class = MemberStateSerializer
    ordering = "code"

    def get_queryset(self):
        return selectors.member_states()


@extend_schema(responses={200: MemberStateSerializer, **error_responses(401, 403, 404)})
class MemberStateDetailApi(generics.RetrieveAPIView):
    """One member state by ISO 3166 alpha-2 code; the code is matched case-insensitively."""

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

    serializer_class = OrganisationSerializer
    filterset_class = OrganisationFilterSet
    ordering = "code"

    def get_queryset(self):
        return selectors.organisations()


@extend_schema(responses={200: OrganisationSerializer, **error_responses(401, 403, 404)})
class OrganisationDetailApi(generics.RetrieveAPIView):
    """One organisation by its code (codes are lower-case; any case is accepted)."""

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


class EventFeedApi(APIView):
    """The events the caller may see, in id order, for polling SOC tooling."""

    @extend_schema(
        parameters=[EventFeedQuerySerializer],
        operation_id="events_feed",
        responses={200: EventFeedSerializer, **error_responses(400, 401, 403)},
        description=(
            "Events after `after`, in id order. Keep the returned `next_after` and pass it as "
            "`after` on the next call: a client that was away misses nothing and sees each event once. "
            "`results` may be empty while `next_after` moves on (events you may not see are skipped)."
        ),
    )
    def get(self, request):
        query = EventFeedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        events, next_after = selectors.events_visible_to(request.user, **query.validated_data)
        prefetch_related_objects(events, "actor")  # one query for every event's actor e-mail
        return Response(EventFeedSerializer({"results": events, "next_after": next_after}).data)
