"""Incidents over the API: thin views over ``incidents.services`` and ``incidents.selectors``."""

from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from csoa_portal.api.idempotency import idempotent
from csoa_portal.api.pagination import CodeCursorPagination
from csoa_portal.api.schema import error_responses
from csoa_portal.input_rules import is_digits
from csoa_portal.models import ApiToken
from incidents import policy, selectors, services
from incidents.api import serializers as s
from incidents.api.filtersets import AlertFilterSet, IncidentFilterSet
from incidents.models import Deadline, Incident, LevelProposal, Observable, Share
from incidents.observables import search_forms
from incidents.stix import bundle_for, serialize

IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Send a unique key (e.g. a UUID) to make a retried POST safe: the same key returns the first response.",
)
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The ETag you read; a stale one is refused with 412 instead of overwriting a colleague's change.",
)


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"


def _list_queryset(user):
    return (
        selectors.incidents_visible_to(user)
        .select_related("reporting_organisation", "category")
        .prefetch_related("affected_member_states", "sectors", Prefetch("deadlines", queryset=Deadline.objects.order_by("due_at")))
    )


def _detail(request, pk) -> Incident:
    return selectors.incident_visible_to(request.user, pk)


def _etag(incident: Incident) -> str:
    return f'"v{incident.version}"'


def _expected_version(request) -> int | None:
    header = request.headers.get("If-Match")
    if not header or header.strip() == "*":
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    if not (tag.startswith("v") and is_digits(tag[1:])):
        raise ValidationError({"If-Match": [f"Not an ETag of this API: {header!r} (expected e.g. \"v3\")."]})
    return int(tag[1:])


def _detail_response(request, incident: Incident, status_code=200) -> Response:
    incident = _list_queryset(request.user).prefetch_related("reports", "shares").get(pk=incident.pk)
    context = {"see_recipients": policy.may_see_recipients(request.user, incident)}
    response = Response(s.IncidentDetailSerializer(incident, context=context).data, status=status_code)
    response["ETag"] = _etag(incident)
    return response


def _create(request, input_serializer, output_serializer, service, **targets) -> Response:
    """Validate, call the service, answer 201 with what it created; retries safe with Idempotency-Key."""

    def perform():
        data = input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = service(actor=request.user, **targets, **data.validated_data)
        return Response(output_serializer(created).data, status=status.HTTP_201_CREATED)

    return idempotent(request, perform)


def _reporting_organisation(request, requested):
    """The caller's organisation: the token's, or one the person belongs to."""
    if isinstance(request.auth, ApiToken):
        if requested and requested != request.auth.organisation:
            raise ValidationError({"organisation": ["A token reports for its own organisation only."]})
        return request.auth.organisation
    memberships = request.user.memberships.select_related("organisation")
    if requested:
        if not memberships.filter(organisation=requested).exists():
            raise ValidationError({"organisation": [f"You do not act for {requested.code}."]})
        return requested
    first = memberships.order_by("id").first()
    if first is None:
        raise ValidationError({"organisation": ["You belong to no organisation."]})
    return first.organisation


class IncidentListCreateApi(generics.ListAPIView):
    """Incidents the caller may see, newest first; POST reports a new one.

    Title, aware_at and tlp suffice to record it; send ``early_warning`` (its summary at least) and the
    create is the NIS2 early warning (Art. 23(4)(a)), recorded with the incident in one transaction.
    """

    serializer_class = s.IncidentListSerializer
    filterset_class = IncidentFilterSet
    ordering = "-id"

    def get_queryset(self):
        return _list_queryset(self.request.user)

    @extend_schema(request=s.IncidentInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.IncidentDetailSerializer, **error_responses(400, 401, 403)})
    def post(self, request):
        def perform():
            data = s.IncidentInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            fields = dict(data.validated_data)
            organisation = _reporting_organisation(request, fields.pop("organisation", None))
            incident = services.report_incident(actor=request.user, organisation=organisation, **fields)
            return _detail_response(request, incident, status.HTTP_201_CREATED)

        return idempotent(request, perform)


class IncidentDetailApi(APIView):
    """One incident with its deadlines; PATCH completes or corrects it (send If-Match)."""

    @extend_schema(responses={200: s.IncidentDetailSerializer, 304: None, **error_responses(401, 403, 404)})
    def get(self, request, pk):
        incident = _detail(request, pk)
        if request.headers.get("If-None-Match") == _etag(incident):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": _etag(incident)})
        return _detail_response(request, incident)

    @extend_schema(request=s.IncidentUpdateSerializer, parameters=[IF_MATCH],
                   responses={200: s.IncidentDetailSerializer, **error_responses(400, 401, 403, 404, 412)})
    def patch(self, request, pk):
        incident = _detail(request, pk)
        data = s.IncidentUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise ValidationError({"non_field_errors": ["Send at least one field to change."]})
        try:
            incident = services.update_incident(
                actor=request.user, incident=incident, expected_version=_expected_version(request), **data.validated_data
            )
        except services.StaleVersion as exc:
            raise PreconditionFailed(str(exc)) from None
        return _detail_response(request, incident)


class IncidentShareApi(APIView):
    """Share with organisations, member states, communities or named people, within the TLP."""

    @extend_schema(request=s.ShareInputSerializer, parameters=[IDEMPOTENCY],
                   responses={200: s.ShareOutputSerializer(many=True), **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        incident = _detail(request, pk)

        def perform():
            data = s.ShareInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.share_incident(actor=request.user, incident=incident, **data.validated_data)
            return Response(s.ShareOutputSerializer(incident.shares.all(), many=True).data)

        return idempotent(request, perform)


class IncidentUnshareApi(APIView):
    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, pk, share_id):
        incident = _detail(request, pk)
        share = Share.objects.filter(incident=incident, pk=share_id).first()
        if share is None or not policy.may_unshare(request.user, share):
            raise Http404("No such share.")
        services.unshare_incident(actor=request.user, share=share)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IncidentInformApi(APIView):
    """NIS2 Art. 23(6) in one call: inform the other affected member states' SPOCs and CSIRTs and ENISA.

    For the reporting member state's CSIRT, competent authority or SPOC. Within the TLP it is
    shared with them; a TLP:RED incident is not (they get its reference and the obligation).
    An affected state with nobody registered stays not informed (``cross_border`` on the incident).
    """

    @extend_schema(request=None, responses={200: s.ShareOutputSerializer(many=True), **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        incident = _detail(request, pk)
        services.inform_other_member_states(actor=request.user, incident=incident)
        return Response(s.ShareOutputSerializer(incident.shares.all(), many=True).data)


class IncidentNetworkConsentApi(APIView):
    """The alerted networks of a TLP:AMBER incident read it only once its originator agrees.

    GET lists who would receive it; POST agrees (send back the ``organisations`` you were
    shown: if the list changed meanwhile, nothing is shared and the answer is 400).
    """

    @extend_schema(responses={200: s.NetworkConsentSerializer, **error_responses(401, 403, 404)})
    def get(self, request, pk):
        incident = _detail(request, pk)
        if not policy.may_consent_to_network_sharing(request.user, incident):
            raise PermissionDenied("Only the originating organisation decides whether the alerted networks may read it.")
        recipients = selectors.network_consent_recipients(incident)
        return Response(s.NetworkConsentSerializer({"organisations": recipients}).data)

    @extend_schema(request=s.NetworkConsentInputSerializer, parameters=[IDEMPOTENCY],
                   responses={200: s.ShareOutputSerializer(many=True), **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        incident = _detail(request, pk)

        def perform():
            data = s.NetworkConsentInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            services.consent_to_network_sharing(actor=request.user, incident=incident, **data.validated_data)
            return Response(s.ShareOutputSerializer(incident.shares.all(), many=True).data)

        return idempotent(request, perform)


class IncidentStatusApi(APIView):
    @extend_schema(request=s.StatusInputSerializer, parameters=[IF_MATCH],
                   responses={200: s.IncidentDetailSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        incident = _detail(request, pk)
        data = s.StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            incident = services.change_status(actor=request.user, incident=incident,
                                              expected_version=_expected_version(request), **data.validated_data)
        except services.StaleVersion as exc:
            raise PreconditionFailed(str(exc)) from None
        return _detail_response(request, incident)


class IncidentReportsApi(APIView):
    """The NIS2 reports of the incident; POST submits one (immutable once submitted)."""

    @extend_schema(responses={200: s.ReportOutputSerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request, pk):
        incident = _detail(request, pk)
        return Response(s.ReportOutputSerializer(incident.reports.select_related("submitted_by"), many=True).data)

    @extend_schema(request=s.ReportInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.ReportOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        return _create(request, s.ReportInputSerializer, s.ReportOutputSerializer, services.submit_report, incident=_detail(request, pk))


class IncidentTimelineApi(APIView):
    """The append-only timeline; POST adds an update (attachments are added in the browser)."""

    @extend_schema(responses={200: s.TimelineOutputSerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request, pk):
        incident = _detail(request, pk)
        entries = selectors.timeline_visible_to(request.user, incident).select_related("author", "organisation")
        return Response(s.TimelineOutputSerializer(entries, many=True).data)

    @extend_schema(request=s.TimelineInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.TimelineOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        return _create(request, s.TimelineInputSerializer, s.TimelineOutputSerializer, services.add_timeline_entry, incident=_detail(request, pk))


class ObservablePagination(CodeCursorPagination):
    ordering = "id"


class IncidentObservablesApi(generics.ListAPIView):
    """Observables of the incident; POST adds up to 10,000 at once with a per-row error report."""

    serializer_class = s.ObservableOutputSerializer
    pagination_class = ObservablePagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no incident
            return Observable.objects.none()
        return selectors.observables_visible_to(self.request.user, _detail(self.request, self.kwargs["pk"]))

    @extend_schema(request=s.ObservableBulkInputSerializer, parameters=[IDEMPOTENCY],
                   responses={200: s.ObservableBulkResultSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        incident = _detail(request, pk)

        def perform():
            rows = request.data.get("observables") if isinstance(request.data, dict) else None
            if not isinstance(rows, list):
                raise ValidationError({"observables": ["Send {\"observables\": [{\"type\": …, \"value\": …}, …]}."]})
            result = services.add_observables(actor=request.user, incident=incident, rows=rows)
            body = {"created": result.created, "merged": result.merged, "rejected": len(result.errors),
                    "errors": result.errors}
            return Response(s.ObservableBulkResultSerializer(body).data)

        return idempotent(request, perform)


class IncidentStixApi(APIView):
    """The incident, its observables and situation updates as a STIX 2.1 bundle with TLP 2.0 markings."""

    @extend_schema(responses={(200, "application/stix+json;version=2.1"): OpenApiTypes.OBJECT,
                              **error_responses(401, 403, 404)})
    def get(self, request, pk):
        incident = _detail(request, pk)
        bundle = bundle_for(incident, selectors.observables_visible_to(request.user, incident),
                            selectors.timeline_visible_to(request.user, incident))
        response = HttpResponse(serialize(bundle), content_type="application/stix+json;version=2.1")
        response["Content-Disposition"] = f'attachment; filename="{incident.reference}.stix.json"'
        return response


class ObservableSearchApi(APIView):
    """"Who else saw this?": observables matching a value, in incidents the caller may see."""

    @extend_schema(
        parameters=[OpenApiParameter("value", OpenApiTypes.STR, required=True, description="An IP, domain, hash, …")],
        responses={200: s.ObservableSearchHitSerializer(many=True), **error_responses(400, 401, 403)},
    )
    def get(self, request):
        value = request.query_params.get("value", "").strip()
        if not value:
            raise ValidationError({"value": ["Give a value to search for."]})
        forms = search_forms(value)
        if not forms:
            raise ValidationError({"value": [f"{value!r} is not an IP, network, domain, URL, e-mail, hash, ASN or CVE."]})
        visible = selectors.incidents_visible_to(request.user).values("pk")
        hits = Observable.objects.none()
        for kind, normalised in forms:
            hits = hits | Observable.objects.filter(type=kind, value=normalised)
        # An observable labelled more strictly than its incident is found only by its own organisation.
        hits = hits.filter(pk__in=selectors.observable_entries_visible_to(request.user).values("pk"))
        hits = hits.filter(incident__in=visible).select_related("incident").order_by("-incident_id")[:200]
        return Response(s.ObservableSearchHitSerializer(hits, many=True).data)



class BlueprintApi(APIView):
    """The active version of the EU Cyber Crisis Management Blueprint: its levels and escalation rules."""

    @extend_schema(responses={200: s.BlueprintSerializer, **error_responses(401, 403)})
    def get(self, request):
        return Response(s.BlueprintSerializer(selectors.active_blueprint()).data)


class IncidentEscalationsApi(APIView):
    """The incident's escalation history, each step with its rules and explanation."""

    @extend_schema(responses={200: s.EscalationOutputSerializer(many=True), **error_responses(401, 403, 404)})
    def get(self, request, pk):
        incident = _detail(request, pk)
        return Response(s.EscalationOutputSerializer(incident.escalations.select_related("actor"), many=True).data)


class _LevelChangeApi(APIView):
    service = None
    input_serializer = s.LevelChangeInputSerializer

    @extend_schema(request=s.LevelChangeInputSerializer,
                   responses={201: s.EscalationOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        incident = _detail(request, pk)
        data = type(self).input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = type(self).service(actor=request.user, incident=incident, **data.validated_data)
        return Response(s.EscalationOutputSerializer(record).data, status=status.HTTP_201_CREATED)


class IncidentDeclareApi(_LevelChangeApi):
    """Declare a higher level, for the body the Blueprint names: level 3 (cyber crisis) only the Council Presidency."""

    service = staticmethod(services.declare_level)
    input_serializer = s.DeclareInputSerializer

    @extend_schema(request=s.DeclareInputSerializer,
                   responses={201: s.EscalationOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        return super().post(request, pk)


class IncidentDeescalateApi(_LevelChangeApi):
    """Lower the level: a decision of the body in charge of the current level, with a reason; it holds until new
    facts match a rule."""

    service = staticmethod(services.deescalate)


class IncidentProposeApi(APIView):
    """Propose a level to the body that declares it (EU-CyCLONe proposes the political level to the Presidency)."""

    @extend_schema(request=s.ProposeInputSerializer,
                   responses={201: s.LevelProposalSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        return _create(request, s.ProposeInputSerializer, s.LevelProposalSerializer, services.propose_level,
                       incident=_detail(request, pk))


class IncidentIpcrModeApi(APIView):
    """At the political level, the Council Presidency sets the IPCR mode (monitoring, information sharing, full
    activation); the mode sets how often a situation update is due."""

    @extend_schema(request=s.IpcrModeInputSerializer,
                   responses={200: s.IncidentDetailSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        incident = _detail(request, pk)
        data = s.IpcrModeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = services.set_ipcr_mode(actor=request.user, incident=incident, **data.validated_data)
        return _detail_response(request, incident)


class LevelProposalListApi(APIView):
    """Open level proposals waiting for the caller's decision (for the Presidency: proposals of the political level).

    Like an alert, a proposal names the incident's reference and the reasons, not its content."""

    @extend_schema(responses={200: s.LevelProposalSerializer(many=True), **error_responses(401, 403)})
    def get(self, request):
        return Response(s.LevelProposalSerializer(policy.proposals_to_decide(request.user), many=True).data)


def _proposal(request, pk) -> LevelProposal:
    """A proposal the caller decides, or one of an incident the caller sees; else 404 (its existence stays hidden)."""
    proposal = (LevelProposal.objects.select_related("incident__reporting_organisation").filter(pk=pk).first())
    if proposal is None or not (policy.may_decide_proposal(request.user, proposal)
                                or policy.may_see_incident(request.user, proposal.incident_id)):
        raise NotFound("No such level proposal.")
    return proposal


class LevelProposalAcceptApi(APIView):
    """Declare the proposed level (the body in charge only); the proposal closes with the declaration."""

    @extend_schema(request=s.ProposalDecisionInputSerializer,
                   responses={201: s.EscalationOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        proposal = _proposal(request, pk)
        data = s.ProposalDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.accept_proposal(actor=request.user, proposal=proposal, **data.validated_data)
        return Response(s.EscalationOutputSerializer(record).data, status=status.HTTP_201_CREATED)


class LevelProposalDeclineApi(APIView):
    """Decline the proposal, with a reason; the engine proposes again only on new facts."""

    @extend_schema(request=s.ProposalDecisionInputSerializer,
                   responses={200: s.LevelProposalSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        proposal = _proposal(request, pk)
        data = s.ProposalDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        declined = services.decline_proposal(actor=request.user, proposal=proposal,
                                             reason=data.validated_data["reason"])
        return Response(s.LevelProposalSerializer(declined).data)


class AlertPagination(CodeCursorPagination):
    ordering = "-id"


class AlertListApi(generics.ListAPIView):
    """Alerts addressed to the caller's organisation and those of incidents the caller may see."""

    serializer_class = s.AlertSerializer
    pagination_class = AlertPagination
    filterset_class = AlertFilterSet

    def get_queryset(self):
        return selectors.alerts_visible_to(self.request.user).select_related(
            "incident__reporting_organisation", "incident__reported_by", "escalation", "organisation", "answered_by")


def _alert(request, pk):
    alert = selectors.alerts_visible_to(request.user).select_related("incident", "organisation").filter(pk=pk).first()
    if alert is None:
        raise Http404("No such alert.")
    return alert


class _AlertAnswerApi(APIView):
    affected = True

    @extend_schema(request=s.AlertAnswerSerializer, responses={200: s.AlertSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        alert = _alert(request, pk)
        data = s.AlertAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        alert = services.answer_alert(actor=request.user, alert=alert, affected=self.affected, **data.validated_data)
        return Response(s.AlertSerializer(alert).data)


class AlertAcknowledgeApi(_AlertAnswerApi):
    """Your organisation acknowledges the alert (it is handling its part)."""

    affected = True


class AlertNotAffectedApi(_AlertAnswerApi):
    """Your organisation is not affected; a short note saying why is required."""

    affected = False
