"""API of the warnings product (views and its urlpatterns): thin over ``awareness.services.warnings``.

Reads go through ``awareness.selectors.warnings`` (404 for a warning the caller may not see);
writes through the services, whose refusals the API's exception handler maps: ``ValidationError``
→ 400 naming the field, ``PermissionDenied`` → 403. Times are ISO 8601.
"""

from datetime import timezone as dt_timezone

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from awareness.policy import warnings as policy
from awareness.selectors import warnings as selectors
from awareness.services import warnings as services
from csoa_portal.api import fields
from csoa_portal.api.responses import created
from csoa_portal.api.schema import error_responses
from incidents.selectors import incident_visible_to
from liaison.api.exercises import ExerciseField

UTC = dt_timezone.utc


class ParticipationSerializer(serializers.Serializer):
    member_state = serializers.CharField(source="member_state.code")
    response = serializers.CharField()
    proposed_text = serializers.CharField()
    comment = serializers.CharField()
    responded_at = serializers.DateTimeField(allow_null=True, default_timezone=UTC)
    responding_organisation = serializers.CharField(source="responding_organisation.code", allow_null=True,
                                                    default=None)
    own_language = serializers.CharField()
    own_title = serializers.CharField()
    own_text = serializers.CharField()
    released_at = serializers.DateTimeField(allow_null=True, default_timezone=UTC)
    published_at = serializers.DateTimeField(allow_null=True, default_timezone=UTC)


class FactSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    label = serializers.CharField()
    text = serializers.CharField()


class WarningSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    reference = serializers.CharField()
    incident_id = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    recommendations = serializers.CharField()
    language = serializers.CharField()
    drafter_organisation = serializers.CharField(source="drafter_organisation.code")
    status = serializers.CharField()
    revision = serializers.IntegerField()
    response_deadline = serializers.DateTimeField(allow_null=True, default_timezone=UTC)
    publish_at = serializers.DateTimeField(allow_null=True, default_timezone=UTC)
    released_at = serializers.DateTimeField(allow_null=True, default_timezone=UTC)
    release_problem = serializers.CharField()
    facts = FactSerializer(many=True, source="facts.all")
    participations = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()
    exercise = ExerciseField()

    def get_participations(self, obj) -> list:
        return ParticipationSerializer(self.context["participations"], many=True).data

    def get_actions(self, obj) -> list[str]:
        return self.context["capabilities"].as_list()


class DraftInput(serializers.Serializer):
    incident = serializers.IntegerField()
    title = serializers.CharField(max_length=200)
    body = serializers.CharField(required=False, allow_blank=True, default="")
    recommendations = serializers.CharField(required=False, allow_blank=True, default="")
    facts = serializers.ListField(child=serializers.CharField(max_length=80), required=False, default=list)


class ReviseInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField(required=False, allow_blank=True)
    recommendations = serializers.CharField(required=False, allow_blank=True)
    facts = serializers.ListField(child=serializers.CharField(max_length=80), required=False)
    response_deadline = fields.DateTimeField(required=False)


class CirculateInput(serializers.Serializer):
    response_deadline = fields.DateTimeField()


class RespondInput(serializers.Serializer):
    response = serializers.ChoiceField(choices=["agreed", "changes_proposed", "declined"])
    member_state = serializers.CharField(required=False, max_length=2)
    proposed_text = serializers.CharField(required=False, allow_blank=True, default="")
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    own_language = serializers.CharField(required=False, allow_blank=True, default="", max_length=8)
    own_title = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    own_text = serializers.CharField(required=False, allow_blank=True, default="")


class ScheduleInput(serializers.Serializer):
    publish_at = fields.DateTimeField()


class WithdrawInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class FactPanelSerializer(serializers.Serializer):
    key = serializers.CharField()
    group = serializers.CharField()
    label = serializers.CharField()
    text = serializers.CharField()
    tlp = serializers.CharField()
    clear = serializers.BooleanField()
    why_not = serializers.CharField()


def _data(request, warning) -> dict:
    participations = selectors.participations_of(warning)
    caps = policy.warning_capabilities(request.user, warning, participations=participations, now=timezone.now())
    return WarningSerializer(warning, context={"participations": participations, "capabilities": caps}).data


def _valid(serializer_class, request) -> dict:
    s = serializer_class(data=request.data)
    s.is_valid(raise_exception=True)
    return s.validated_data


class WarningRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    reference = serializers.CharField()
    incident_id = serializers.IntegerField()
    title = serializers.CharField()
    drafter_organisation = serializers.CharField(source="drafter_organisation.code")
    status = serializers.CharField()
    response_deadline = serializers.DateTimeField(allow_null=True, default_timezone=UTC)
    publish_at = serializers.DateTimeField(allow_null=True, default_timezone=UTC)
    released_at = serializers.DateTimeField(allow_null=True, default_timezone=UTC)
    exercise = ExerciseField()


class WarningList(generics.ListAPIView):
    serializer_class = WarningRowSerializer
    ordering = "-id"

    def get_queryset(self):
        return selectors.warnings_visible_to(self.request.user).select_related("drafter_organisation", "exercise")

    @extend_schema(summary="Public warnings you may see, newest first")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(request=DraftInput, responses={201: WarningSerializer, **error_responses(400, 403, 404)},
                   summary="Draft a public warning about a cross-border incident")
    def post(self, request):
        data = _valid(DraftInput, request)
        incident = incident_visible_to(request.user, data.pop("incident"))
        warning = services.draft_warning(actor=request.user, incident=incident, **data)
        return created(request, Response(_data(request, warning)), "warning-detail", pk=warning.pk)


class WarningDetail(APIView):
    @extend_schema(responses={200: WarningSerializer, **error_responses(404)},
                   summary="One public warning: its text, cited facts, who agreed, your actions")
    def get(self, request, pk):
        return Response(_data(request, selectors.warning_visible_to(request.user, pk)))

    @extend_schema(request=ReviseInput, responses={200: WarningSerializer, **error_responses(400, 403, 404)},
                   summary="Revise the text or cited facts (a circulated warning's answers reset)")
    def patch(self, request, pk):
        warning = selectors.warning_visible_to(request.user, pk)
        warning = services.revise_warning(actor=request.user, warning=warning, **_valid(ReviseInput, request))
        return Response(_data(request, warning))


class FactsPanelSerializer(serializers.Serializer):
    incident = serializers.IntegerField()
    facts = FactPanelSerializer(many=True)


class WarningFacts(APIView):
    @extend_schema(responses={200: FactsPanelSerializer, **error_responses(404)},
                   summary="The public-warning facts panel: every fact of the incident you see, CLEAR or not")
    def get(self, request, pk):
        incident = incident_visible_to(request.user, pk)
        facts = selectors.citable_facts(request.user, incident)
        return Response(FactsPanelSerializer({"incident": incident.pk, "facts": facts}).data)


def _action(input_class, call, summary):
    class Action(APIView):
        @extend_schema(request=input_class, responses={200: WarningSerializer, **error_responses(400, 403, 404)},
                       summary=summary)
        def post(self, request, pk):
            warning = selectors.warning_visible_to(request.user, pk)
            data = _valid(input_class, request)
            result = call(request, warning, data)
            return Response(_data(request, selectors.warning_visible_to(request.user, getattr(
                result, "warning_id", None) or result.pk)))

    Action.__name__ = Action.__qualname__ = f"Warning{input_class.__name__.removesuffix('Input')}"
    return Action.as_view()


def _respond(request, warning, data):
    code = data.pop("member_state", None)
    state = None
    if code:
        state = selectors.member_state_by_code(code)
        if state is None:
            raise serializers.ValidationError({"member_state": [f"No member state {code!r}."]})
    return services.respond_to_warning(actor=request.user, warning=warning, member_state=state, **data)


urlpatterns: list = [
    path("warnings/", WarningList.as_view(), name="warning-list"),
    path("warnings/<int:pk>/", WarningDetail.as_view(), name="warning-detail"),
    path("incidents/<int:pk>/warning-facts/", WarningFacts.as_view(), name="warning-facts"),
    path("warnings/<int:pk>/circulate/", _action(CirculateInput, lambda r, w, d: services.circulate_warning(
        actor=r.user, warning=w, **d), "Circulate to the concerned member states"), name="warning-circulate"),
    path("warnings/<int:pk>/respond/", _action(RespondInput, _respond,
                                               "Agree, propose changes or decline, for your member state"),
         name="warning-respond"),
    path("warnings/<int:pk>/schedule/", _action(ScheduleInput, lambda r, w, d: services.schedule_release(
        actor=r.user, warning=w, **d), "Set the embargo (publish_at)"), name="warning-schedule"),
    path("warnings/<int:pk>/withdraw/", _action(WithdrawInput, lambda r, w, d: services.withdraw_warning(
        actor=r.user, warning=w, **d), "Withdraw the warning"), name="warning-withdraw"),
]
