"""The Reserve over the API: thin views over ``reserve.services`` and ``reserve.selectors``.

Every read goes through a selector (404 for what the caller may not see); every write
through a service (audited, with its Event). The views map the services' refusals:
``ValidationError`` → 400 naming the field, ``PermissionDenied`` → 403, a transition the
state does not allow → 409, a stale ``If-Match`` → 412.
"""

from decimal import Decimal

from django.db.models import F, Sum, prefetch_related_objects
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from csoa_portal.api.idempotency import idempotent
from csoa_portal.api.pagination import CodeCursorPagination
from csoa_portal.api.responses import created
from csoa_portal.api.schema import ErrorSerializer, error_responses
from csoa_portal.input_rules import is_digits
from csoa_portal.models import ApiToken
from incidents.selectors import incidents_visible_to
from liaison.policy import acting_memberships
from reserve import policy, selectors, services, workflow
from reserve.api import serializers as s
from reserve.api.filtersets import (
    AssistanceRequestFilterSet,
    EngagementFilterSet,
    ProviderFilterSet,
    member_state_or_400,
)
from reserve.models import AssistanceRequest, DeploymentUpdate, Engagement, ProviderProfile, WorkLog
from reserve.workflow import RequestStatus

IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Send a unique key (e.g. a UUID) to make a retried POST safe: the same key returns the first response.",
)
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The ETag you read; a stale one is refused with 412 instead of overwriting a colleague's change.",
)
CONFLICT = {409: OpenApiResponse(ErrorSerializer, description=(
    "The request or engagement is not in a state that allows this action; the message says when it is allowed."))}


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"


class TransitionConflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "invalid_transition"


def _call(service, **kwargs):
    """Run a service, turning a refused transition into 409 and a stale version into 412."""
    try:
        return service(**kwargs)
    except workflow.TransitionRefused as exc:
        raise TransitionConflict(exc.refusal) from None
    except services.StaleVersion as exc:
        raise PreconditionFailed(str(exc)) from None


def _expected_version(request) -> int | None:
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    if not (tag.startswith("v") and is_digits(tag[1:])):
        raise ValidationError({"If-Match": [f"Not an ETag of this API: {header!r} (expected e.g. \"v3\")."]})
    return int(tag[1:])


def _etag(obj: AssistanceRequest) -> str:
    return f'"v{obj.version}"'


# --- Requests ------------------------------------------------------------------------------------------

def _request(request, pk) -> AssistanceRequest:
    return selectors.request_visible_to(request.user, pk)


def _engagement_rows(queryset):
    return queryset.select_related("provider", "request", "offered_by").annotate(
        logged_days=Sum("work_logs__person_days", default=Decimal("0")))


def _detail_context(user, obj: AssistanceRequest) -> dict:
    """What this caller may see of the request around its content (a provider: its own engagement only)."""
    authority = policy.capabilities(user).assessments
    non_provider = authority or bool(policy.roles_for(user, obj))
    engagements = list(selectors.engagements_of(user, obj).select_related("request"))
    context = {
        "incidents": list(incidents_visible_to(user).filter(reserve_requests=obj).order_by("pk")),
        "missing": services.missing_content(obj) if obj.status == RequestStatus.DRAFT else {},
        "actions": policy.request_actions(user, obj),
        "engagements": engagements,
        "engagement_actions": {e.pk: policy.engagement_actions(user, e) for e in engagements},
        "report": selectors.report_visible_to(user, obj),
    }
    if non_provider:
        context |= {
            "deadlines": list(selectors.deadlines_of(obj)),
            "information_requests": list(obj.information_requests.select_related("asked_by", "answered_by")),
            "decision": getattr(obj, "decision", None),  # a missing one-to-one row raises an AttributeError
        }
    if authority:
        context["assessments"] = list(obj.assessments.select_related("assessed_by"))
    return context


def _detail_response(request, obj: AssistanceRequest) -> Response:
    obj = _request(request, obj.pk)
    body = s.RequestDetailSerializer(obj, context=_detail_context(request.user, obj)).data
    response = Response(body)
    response["ETag"] = _etag(obj)
    return response


def _requesting_organisation(request, requested):
    """The caller's organisation: the token's, or (for a person) the named one or the first that may request."""
    if isinstance(request.auth, ApiToken):
        if requested and requested != request.auth.organisation:
            raise ValidationError({"organisation": ["A token requests for its own organisation only."]})
        return request.auth.organisation
    if requested:
        return requested  # the service checks that the person acts for it
    memberships = [m.organisation for m in acting_memberships(request.user).select_related("organisation__member_state")
                   .order_by("id")]
    if not memberships:
        raise ValidationError({"organisation": ["You belong to no organisation."]})
    return next((o for o in memberships if selectors.request_refusal(o) is None), memberships[0])


class AssistanceRequestListCreateApi(generics.ListAPIView):
    """Requests for Reserve support the caller may see, newest first; POST starts a draft."""

    summaries = {"get": "List Reserve requests", "post": "Start a Reserve request (draft)"}

    serializer_class = s.RequestListSerializer
    filterset_class = AssistanceRequestFilterSet
    ordering = "-id"

    def get_queryset(self):
        return selectors.requests_visible_to(self.request.user).select_related("requester_organisation__member_state",
                                                                               "exercise")

    @extend_schema(request=s.RequestCreateSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.RequestDetailSerializer, **error_responses(400, 401, 403, 422)})
    def post(self, request):
        def perform():
            data = s.RequestCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            content = dict(data.validated_data)
            organisation = _requesting_organisation(request, content.pop("organisation", None))
            new = services.create_request(actor=request.user, organisation=organisation, **content)
            return created(request, _detail_response(request, new), "assistance-request-detail", pk=new.pk)

        return idempotent(request, perform)


class AssistanceRequestDetailApi(APIView):
    """One request with what the caller may see around it; PATCH completes a draft (send If-Match)."""

    summaries = {"get": "Read a Reserve request", "patch": "Complete a draft Reserve request"}

    @extend_schema(responses={200: s.RequestDetailSerializer, 304: None, **error_responses(401, 403, 404)})
    def get(self, request, pk):
        obj = _request(request, pk)
        if request.headers.get("If-None-Match") == _etag(obj):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": _etag(obj)})
        return _detail_response(request, obj)

    @extend_schema(request=s.RequestContentSerializer, parameters=[IF_MATCH],
                   responses={200: s.RequestDetailSerializer, **error_responses(400, 401, 403, 404, 412), **CONFLICT})
    def patch(self, request, pk):
        obj = _request(request, pk)
        data = s.RequestContentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise ValidationError({"non_field_errors": ["Send at least one field to change."]})
        obj = _call(services.update_request, actor=request.user, request=obj,
                    expected_version=_expected_version(request), **data.validated_data)
        return _detail_response(request, obj)


class _RequestActionApi(APIView):
    """A workflow step on a request: validate the body, call the service, answer with the request."""

    input_serializer = None

    def perform(self, request, obj, data: dict):
        raise NotImplementedError

    def post(self, request, pk):
        obj = _request(request, pk)

        def perform():
            data = {}
            if self.input_serializer is not None:
                body = self.input_serializer(data=request.data)
                body.is_valid(raise_exception=True)
                data = dict(body.validated_data)
            self.perform(request, obj, data)
            return _detail_response(request, obj)

        return idempotent(request, perform)


def _action_schema(input_serializer=None, *, if_match=False, summary: str = ""):
    parameters = [IDEMPOTENCY] + ([IF_MATCH] if if_match else [])
    statuses = (400, 401, 403, 404, 412) if if_match else (400, 401, 403, 404)
    return extend_schema(request=input_serializer, parameters=parameters, summary=summary or None,
                         responses={200: s.RequestDetailSerializer, **error_responses(*statuses), **CONFLICT})


class RequestSubmitApi(_RequestActionApi):
    """Submit a complete draft: to the requester's NIS2 SPOC, or straight to the contracting authority (Art. 15(3))."""

    summaries = {"post": "Submit a draft Reserve request"}

    @_action_schema(if_match=True)
    def post(self, request, pk):
        return super().post(request, pk)

    def perform(self, request, obj, data):
        _call(services.submit_request, actor=request.user, request=obj, expected_version=_expected_version(request))


class RequestForwardApi(_RequestActionApi):
    """The SPOC forwards (endorses) the request to the contracting authority, with an optional note."""

    summaries = {"post": "Forward a request to the contracting authority (SPOC)"}

    input_serializer = s.NoteSerializer

    @_action_schema(s.NoteSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def perform(self, request, obj, data):
        _call(services.forward_request, actor=request.user, request=obj, note=data["note"])


class RequestReturnApi(_RequestActionApi):
    """The SPOC returns the request to the requester as a draft, saying why."""

    summaries = {"post": "Return a request to the requester (SPOC)"}

    input_serializer = s.ReasonSerializer

    @_action_schema(s.ReasonSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def perform(self, request, obj, data):
        _call(services.return_request, actor=request.user, request=obj, reason=data["reason"])


class RequestWithdrawApi(_RequestActionApi):
    """The requester withdraws the request (until deployment); open offers are cancelled."""

    summaries = {"post": "Withdraw a Reserve request"}

    input_serializer = s.ReasonSerializer

    @_action_schema(s.ReasonSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def perform(self, request, obj, data):
        _call(services.withdraw_request, actor=request.user, request=obj, reason=data["reason"])


class RequestInformationApi(_RequestActionApi):
    """ENISA triage asks the requester for more information; the request leaves the queue until answered."""

    summaries = {"post": "Ask the requester for more information"}

    input_serializer = s.QuestionSerializer

    @_action_schema(s.QuestionSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def perform(self, request, obj, data):
        _call(services.request_information, actor=request.user, request=obj, question=data["question"])


class RequestAnswerApi(_RequestActionApi):
    """The requester answers the open question; the request goes back into the triage queue."""

    summaries = {"post": "Answer ENISA's question"}

    input_serializer = s.AnswerSerializer

    @_action_schema(s.AnswerSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def perform(self, request, obj, data):
        _call(services.answer_information, actor=request.user, request=obj, answer=data["answer"])


class RequestAssessApi(_RequestActionApi):
    """ENISA triage assesses: completeness, and a recommendation with reasons (the priority is recorded)."""

    summaries = {"post": "Assess a Reserve request (ENISA triage)"}

    input_serializer = s.AssessInputSerializer

    @_action_schema(s.AssessInputSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def perform(self, request, obj, data):
        _call(services.assess_request, actor=request.user, request=obj, **data)


class RequestDecideApi(_RequestActionApi):
    """A decision-maker of the contracting authority approves or rejects, with reasons (Art. 15(5))."""

    summaries = {"post": "Approve or reject a Reserve request"}

    input_serializer = s.DecideInputSerializer

    @_action_schema(s.DecideInputSerializer)
    def post(self, request, pk):
        return super().post(request, pk)

    def perform(self, request, obj, data):
        _call(services.decide_request, actor=request.user, request=obj, **data)


class RequestCloseApi(_RequestActionApi):
    """Close the deployment: engagements complete and the after-action report clock starts (CSoA Art. 16)."""

    summaries = {"post": "Close a deployment"}

    @_action_schema()
    def post(self, request, pk):
        return super().post(request, pk)

    def perform(self, request, obj, data):
        _call(services.close_deployment, actor=request.user, request=obj)


class RequestReportApi(APIView):
    """The after-action report (CSoA Art. 16): for the requester, ENISA and the Commission, not providers."""

    summaries = {"get": "Read the after-action report", "post": "Submit the after-action report"}

    @extend_schema(responses={200: s.AfterActionReportSerializer, **error_responses(401, 403, 404)})
    def get(self, request, pk):
        report = selectors.report_visible_to(request.user, _request(request, pk))
        if report is None:
            raise Http404("No after-action report on this request yet.")
        return Response(s.AfterActionReportSerializer(report).data)

    @extend_schema(request=s.AfterActionReportInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.AfterActionReportSerializer, **error_responses(400, 401, 403, 404), **CONFLICT})
    def post(self, request, pk):
        obj = _request(request, pk)

        def perform():
            data = s.AfterActionReportInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            report = _call(services.submit_report, actor=request.user, request=obj, **data.validated_data)
            return created(request, Response(s.AfterActionReportSerializer(report).data), "assistance-request-report",
                           pk=obj.pk)

        return idempotent(request, perform)


class RequestRankingApi(APIView):
    """Providers ranked for the request, with the reasons for each rank and for each exclusion (reserve.matching)."""

    summaries = {"get": "Rank providers for a request"}

    @extend_schema(responses={200: s.RankingSerializer, **error_responses(401, 403, 404)})
    def get(self, request, pk):
        obj = _request(request, pk)
        if not policy.capabilities(request.user).ranking:
            raise PermissionDenied("Only ENISA triage staff see the provider ranking: ENISA matches providers.")
        ranking = selectors.ranking_for(obj)
        need = selectors.need_for(obj)
        body = {
            "request": obj.pk, "reference": obj.reference,
            "need": {"services": sorted(need.services), "sector": need.sector, "languages": sorted(need.languages),
                     "member_state": need.member_state, "window_start": need.window_start,
                     "window_end": need.window_end, "person_days": need.person_days},
            "ranked": ranking.ranked, "excluded": ranking.excluded,
        }
        return Response(s.RankingSerializer(body).data)


class RequestEngagementsApi(generics.ListAPIView):
    """The request's engagements you may see (a provider: its own), in offer order; POST engages a provider (ENISA
    triage)."""

    summaries = {"get": "List a request's engagements", "post": "Engage a provider"}
    serializer_class = s.EngagementSerializer
    ordering = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request
            return Engagement.objects.none()
        return selectors.engagements_of(self.request.user, _request(self.request, self.kwargs["pk"])).select_related(
            "request")

    def list(self, request, *args, **kwargs):
        rows = self.paginate_queryset(self.get_queryset())
        context = {"engagement_actions": {e.pk: policy.engagement_actions(request.user, e) for e in rows}}
        return self.get_paginated_response(s.EngagementSerializer(rows, many=True, context=context).data)

    @extend_schema(request=s.EngageInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.EngagementSerializer, **error_responses(400, 401, 403, 404), **CONFLICT})
    def post(self, request, pk):
        obj = _request(request, pk)

        def perform():
            data = s.EngageInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            engagement = _call(services.engage_provider, actor=request.user, request=obj, **data.validated_data)
            return created(request, _engagement_response(request, engagement.pk), "engagement-detail",
                           pk=engagement.pk)

        return idempotent(request, perform)


# --- The triage queue ---------------------------------------------------------------------------------

class TriageQueueApi(APIView):
    """ENISA's triage queue: open requests by priority (the five criteria of CSoA Art. 16), each explained.

    Equal scores are ordered by the crisis level, then the declared urgency (both shown beside
    the score, with no points), then oldest first; each row carries its response clock.

    Not paginated: it holds only the requests awaiting the contracting authority's answer,
    which the 48-hour clock keeps short, and its order is computed from live incident data.
    """

    summaries = {"get": "Read ENISA's triage queue"}

    @extend_schema(parameters=[s.QueueQuerySerializer], responses={200: s.QueueSerializer, **error_responses(400, 401, 403)})
    def get(self, request):
        if not policy.capabilities(request.user).triage_queue:
            raise PermissionDenied("The triage queue is for ENISA triage, the contracting authority and the Commission.")
        query = s.QueueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = dict(query.validated_data)
        if "member_state" in filters:
            filters["member_state"] = member_state_or_400("member_state", filters["member_state"]).code
        rows = selectors.triage_queue(request.user, **filters)
        prefetch_related_objects(rows, "exercise")  # each row's exercise name: one query (none in live work)
        for position, row in enumerate(rows, start=1):
            row.position = position
        return Response(s.QueueSerializer({"count": len(rows), "results": rows}).data)


# --- Engagements --------------------------------------------------------------------------------------

def _engagement(request, pk) -> Engagement:
    found = _engagement_rows(selectors.engagements_visible_to(request.user)).filter(pk=pk).first()
    if found is None:
        raise Http404("No such engagement.")
    return found


def _engagement_response(request, pk) -> Response:
    engagement = _engagement(request, pk)
    context = {"engagement_actions": {engagement.pk: policy.engagement_actions(request.user, engagement)}}
    return Response(s.EngagementSerializer(engagement, context=context).data)


class EngagementPagination(CodeCursorPagination):
    ordering = "-id"


class EngagementListApi(generics.ListAPIView):
    """Engagements you may see: a provider's staff see their own organisation's only."""

    summaries = {"get": "List engagements"}

    serializer_class = s.EngagementSerializer
    filterset_class = EngagementFilterSet
    pagination_class = EngagementPagination

    def get_queryset(self):
        return _engagement_rows(selectors.engagements_visible_to(self.request.user))


class EngagementDetailApi(APIView):
    """One engagement: the provider's share of the work, its clock and agreement, and the actions you may take."""

    summaries = {"get": "Read an engagement"}

    @extend_schema(responses={200: s.EngagementSerializer, **error_responses(401, 403, 404)})
    def get(self, request, pk):
        return _engagement_response(request, pk)


class _EngagementActionApi(APIView):
    input_serializer = None
    service = None

    def post(self, request, pk):
        engagement = _engagement(request, pk)

        def perform():
            data = {}
            if self.input_serializer is not None:
                body = self.input_serializer(data=request.data)
                body.is_valid(raise_exception=True)
                data = dict(body.validated_data)
            _call(type(self).service, actor=request.user, engagement=engagement, **data)
            return _engagement_response(request, engagement.pk)

        return idempotent(request, perform)


def _engagement_action_schema(input_serializer=None):
    return extend_schema(request=input_serializer, parameters=[IDEMPOTENCY],
                         responses={200: s.EngagementSerializer, **error_responses(400, 401, 403, 404), **CONFLICT})


class EngagementAcceptApi(_EngagementActionApi):
    """The provider accepts within its committed response time: it is deployed."""

    summaries = {"post": "Accept an engagement offer"}

    service = staticmethod(services.accept_engagement)

    @_engagement_action_schema()
    def post(self, request, pk):
        return super().post(request, pk)


class EngagementDeclineApi(_EngagementActionApi):
    """The provider declines, saying why; the next ranked provider is proposed at once."""

    summaries = {"post": "Decline an engagement offer"}

    input_serializer = s.ReasonSerializer
    service = staticmethod(services.decline_engagement)

    @_engagement_action_schema(s.ReasonSerializer)
    def post(self, request, pk):
        return super().post(request, pk)


class EngagementCancelApi(_EngagementActionApi):
    """ENISA withdraws an offer the provider has not answered yet."""

    summaries = {"post": "Cancel an engagement offer"}

    input_serializer = s.ReasonSerializer
    service = staticmethod(services.cancel_engagement)

    @_engagement_action_schema(s.ReasonSerializer)
    def post(self, request, pk):
        return super().post(request, pk)


class EngagementAgreementApi(_EngagementActionApi):
    """The provider or the user (requester) confirms the specific agreement (CSoA Art. 16), once per side.

    After acceptance and before any work: ENISA's template reference, the date, and the
    liability terms accepted. Work can be logged once both sides confirmed.
    """

    summaries = {"post": "Confirm the specific agreement (CSoA Art. 16)"}

    input_serializer = s.AgreementInputSerializer
    service = staticmethod(services.confirm_agreement)

    @_engagement_action_schema(s.AgreementInputSerializer)
    def post(self, request, pk):
        return super().post(request, pk)


class EngagementWorkApi(generics.ListAPIView):
    """Work logged on the engagement, by day; POST logs days (provider staff), never beyond the booked person-days."""

    summaries = {"get": "List the work logged", "post": "Log work on an engagement"}
    serializer_class = s.WorkLogSerializer
    ordering = ("day", "id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WorkLog.objects.none()
        return _engagement(self.request, self.kwargs["pk"]).work_logs.select_related("logged_by")

    @extend_schema(request=s.WorkLogInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.WorkLogSerializer, **error_responses(400, 401, 403, 404), **CONFLICT})
    def post(self, request, pk):
        engagement = _engagement(request, pk)

        def perform():
            data = s.WorkLogInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            entry = _call(services.log_work, actor=request.user, engagement=engagement, **data.validated_data)
            return created(request, Response(s.WorkLogSerializer(entry).data), "engagement-work", pk=engagement.pk)

        return idempotent(request, perform)


class EngagementUpdatesApi(generics.ListAPIView):
    """Updates on the deployment, oldest first; POST posts one (the requester or the engaged provider)."""

    summaries = {"get": "List deployment updates", "post": "Post a deployment update"}
    serializer_class = s.DeploymentUpdateSerializer
    ordering = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DeploymentUpdate.objects.none()
        return _engagement(self.request, self.kwargs["pk"]).updates.select_related("author", "organisation")

    @extend_schema(request=s.UpdateInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.DeploymentUpdateSerializer, **error_responses(400, 401, 403, 404), **CONFLICT})
    def post(self, request, pk):
        engagement = _engagement(request, pk)

        def perform():
            data = s.UpdateInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            update = _call(services.post_update, actor=request.user, engagement=engagement, **data.validated_data)
            return created(request, Response(s.DeploymentUpdateSerializer(update).data), "engagement-updates",
                           pk=engagement.pk)

        return idempotent(request, perform)


# --- Providers ----------------------------------------------------------------------------------------

class ProviderPagination(CodeCursorPagination):
    ordering = "code"


def _providers(user):
    return selectors.provider_profiles_visible_to(user).annotate(code=F("organisation__code"))


def _provider(request, code) -> ProviderProfile:
    found = _providers(request.user).filter(organisation__code=code).first()
    if found is None:
        raise Http404("No such Reserve provider.")
    return found


def _provider_response(request, code) -> Response:
    profile = _provider(request, code)
    booked = {c.pk: selectors.booked_person_days(profile.organisation_id, c) for c in profile.capacities.all()}
    return Response(s.ProviderSerializer(profile, context={"booked": booked}).data)


class ProviderListCreateApi(generics.ListAPIView):
    """The Reserve's providers: ENISA, the contracting authority and the Commission see all; a provider itself."""

    summaries = {"get": "List Reserve providers", "post": "Register a Reserve provider"}

    serializer_class = s.ProviderSerializer
    filterset_class = ProviderFilterSet
    pagination_class = ProviderPagination

    def get_queryset(self):
        return _providers(self.request.user)

    @extend_schema(request=s.ProviderRegisterSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.ProviderSerializer, **error_responses(400, 401, 403, 422)})
    def post(self, request):
        def perform():
            data = s.ProviderRegisterSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            profile = services.register_provider(actor=request.user, **data.validated_data)
            code = profile.organisation.code
            return created(request, _provider_response(request, code), "reserve-provider-detail", code=code)

        return idempotent(request, perform)


class ProviderDetailApi(APIView):
    """One provider with its committed capacity and what is booked; PATCH changes its profile (ENISA)."""

    summaries = {"get": "Read a Reserve provider", "patch": "Change a provider's profile"}

    @extend_schema(responses={200: s.ProviderSerializer, **error_responses(401, 403, 404)})
    def get(self, request, code):
        return _provider_response(request, code)

    @extend_schema(request=s.ProviderUpdateSerializer,
                   responses={200: s.ProviderSerializer, **error_responses(400, 401, 403, 404)})
    def patch(self, request, code):
        profile = _provider(request, code)
        data = s.ProviderUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise ValidationError({"non_field_errors": ["Send at least one field to change."]})
        services.update_provider(actor=request.user, profile=profile, **data.validated_data)
        return _provider_response(request, code)


class ProviderCapacityApi(APIView):
    """Record the person-days a provider committed for a period (upsert by period start; ENISA)."""

    summaries = {"post": "Record a provider's committed capacity"}

    @extend_schema(request=s.CapacityInputSerializer, parameters=[IDEMPOTENCY],
                   responses={200: s.ProviderSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, code):
        profile = _provider(request, code)

        def perform():
            data = s.CapacityInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.set_capacity(actor=request.user, profile=profile, **data.validated_data)
            return _provider_response(request, code)

        return idempotent(request, perform)
