"""Incidents over the API: thin views over ``incidents.services`` and ``incidents.selectors``."""

import json

from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from csoa_portal.api import reuse
from csoa_portal.api.exceptions import error_body
from csoa_portal.api.idempotency import idempotent
from csoa_portal.api.pagination import CodeCursorPagination
from csoa_portal.api.parsers import JSONParser
from csoa_portal.api.responses import created
from csoa_portal.api.schema import error_responses
from csoa_portal.db_router import reading_replica
from csoa_portal.input_rules import is_digits
from csoa_portal.models import ApiToken
from incidents import misp, policy, selectors, services
from incidents.api import listing, new_incident, serializers as s
from incidents.api.filtersets import AlertFilterSet, IncidentFilterSet
from incidents.imports import MAX_IMPORT_BYTES
from incidents.models import (
    Attachment, Deadline, Escalation, Incident, LevelProposal, Observable, Report, Share, TagVocabulary, Task,
    TimelineEntry,
)
from incidents.observables import search_forms
from incidents.stix import bundle_for, serialize
from liaison.policy import acting_memberships

IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="Send a unique key (e.g. a UUID) to make a retried POST safe: the same key returns the first response.",
)
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The ETag you read; a stale one is refused with 412 instead of overwriting a colleague's change.",
)


DRY_RUN = OpenApiParameter(
    "dry_run", OpenApiTypes.BOOL, OpenApiParameter.QUERY, required=False,
    description="true: validate the change and answer what it would do (the crisis level it escalates to and who "
                "is alerted) without saving anything.",
)


def _dry_run(request) -> bool:
    value = request.query_params.get("dry_run", "false").strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise ValidationError({"dry_run": [f"Use true or false, not {value!r}."]})
    return value in ("true", "1")


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"


def _list_queryset(user):
    return (
        selectors.incidents_visible_to(user)
        .select_related("reporting_organisation", "category", "exercise")
        .prefetch_related("affected_member_states", "sectors", "tags",
                          Prefetch("deadlines", queryset=Deadline.objects.order_by("due_at", "id")))
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


def _detail_response(request, incident: Incident) -> Response:
    incident = _list_queryset(request.user).prefetch_related("reports", "shares").get(pk=incident.pk)
    context = {"see_recipients": policy.may_see_recipients(request.user, incident)}
    response = Response(reuse.render(s.IncidentDetailSerializer, incident, context=context))
    response["ETag"] = _etag(incident)
    return response


def _created_response(incident: Incident) -> Response:
    """The new incident as GET answers it, from what ``report_incident(keep_related=True)`` wrote (reading it back
    cost 15 queries; rendering it through the detail serializer a tenth of the report: ``new_incident``).

    It has no shares yet, so there are no recipients to show or hide.
    """
    response = Response(new_incident.render(incident, facts=selectors.clock_facts_of_new(incident)))
    response["ETag"] = _etag(incident)
    return response


def _refuse_unknown_fields(request, serializer) -> None:
    """A field this endpoint does not change is refused by name, never silently dropped."""
    if isinstance(request.data, dict):
        unknown = sorted(set(request.data) - set(serializer.fields))
        if unknown:
            raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})


def _create(request, input_serializer, output_serializer, service, *, listed_at: str, **targets) -> Response:
    """Validate, call the service, answer 201 with what it created; retries safe with Idempotency-Key.

    ``listed_at``: the URL name of the incident's list that shows the created object (its ``Location``).
    """

    def perform():
        data = input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        new = service(actor=request.user, **targets, **data.validated_data)
        return created(request, Response(output_serializer(new).data), listed_at, pk=targets["incident"].pk)

    return idempotent(request, perform)


def _reporting_organisation(request, requested):
    """The caller's organisation: the token's, or one the person belongs to."""
    if isinstance(request.auth, ApiToken):
        if requested and requested != request.auth.organisation:
            raise ValidationError({"organisation": ["A token reports for its own organisation only."]})
        return request.auth.organisation
    memberships = acting_memberships(request.user).select_related("organisation")
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

    summaries = {"get": "List incidents", "post": "Report an incident"}

    serializer_class = s.IncidentListSerializer  # the shape; incidents.api.listing renders it from plain rows
    filterset_class = IncidentFilterSet
    ordering = "-id"

    def get_queryset(self):
        return selectors.incidents_visible_to(self.request.user, paged=True)

    def counted_queryset(self):
        """``?count=true``: the same incidents, counted through the join; the page's per-incident check would probe
        the grants of every visible incident (a count of 20,000: 0.2 s instead of 0.02 s)."""
        return self.filter_queryset(selectors.incidents_visible_to(self.request.user))

    def filter_queryset(self, queryset):
        """No filter asked, none applied: django-filter's set (its form, each filter copied) is built only when
        a parameter names one of its filters; empty, each filter returns the queryset unchanged anyway."""
        if self.request.query_params.keys().isdisjoint(self.filterset_class.base_filters):
            return queryset
        return super().filter_queryset(queryset)

    def list(self, request, *args, **kwargs):
        with reading_replica(request.user):  # a read replica when one is configured (csoa_portal.db_router)
            page = self.paginate_queryset(listing.rows(self.filter_queryset(self.get_queryset())))
            return self.get_paginated_response(listing.render(page, now=timezone.now()))

    @extend_schema(request=s.IncidentInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.IncidentDetailSerializer, **error_responses(400, 401, 403)})
    def post(self, request):
        def perform():
            with reuse.serializer(s.IncidentInputSerializer, data=request.data) as data:
                data.is_valid(raise_exception=True)
                fields = dict(data.validated_data)
            organisation = _reporting_organisation(request, fields.pop("organisation", None))
            incident = services.report_incident(actor=request.user, organisation=organisation, keep_related=True,
                                                **fields)
            return created(request, _created_response(incident), "incident-detail", pk=incident.pk)

        return idempotent(request, perform)


class IncidentDetailApi(APIView):
    """One incident with its deadlines; PATCH completes or corrects it (send If-Match), relabels it (``tlp``, under
    the TLP rules) or replaces its tags (``tags``). A field PATCH does not change is a 400 naming it."""

    summaries = {"get": "Read an incident", "patch": "Complete or correct an incident (or preview it with dry_run)"}

    @extend_schema(responses={200: s.IncidentDetailSerializer, 304: None, **error_responses(401, 403, 404)})
    def get(self, request, pk):
        incident = _detail(request, pk)
        if request.headers.get("If-None-Match") == _etag(incident):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": _etag(incident)})
        return _detail_response(request, incident)

    @extend_schema(
        request=s.IncidentUpdateSerializer, parameters=[IF_MATCH, DRY_RUN],
        responses={200: PolymorphicProxySerializer(
            component_name="IncidentPatchResult", resource_type_field_name=None,
            serializers=[s.IncidentUpdatedSerializer, s.IncidentDryRunSerializer]),
            **error_responses(400, 401, 403, 404, 412)})
    def patch(self, request, pk):
        incident = _detail(request, pk)
        dry_run = _dry_run(request)
        data = s.IncidentUpdateSerializer(data=request.data)
        _refuse_unknown_fields(request, data)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise ValidationError({"non_field_errors": ["Send at least one field to change."]})
        preview = s.EscalationPreviewSerializer(selectors.escalation_preview(incident, data.validated_data)).data
        if dry_run:
            if not policy.can_edit(request.user, incident):
                raise PermissionDenied("Only the reporting organisation may change this incident.")
            expected = _expected_version(request)
            if expected is not None and expected != incident.version:
                raise PreconditionFailed(f"The incident is at version {incident.version}, not {expected}: "
                                         "read it again before changing it.")
            return Response({"dry_run": True, "version": incident.version, "changed": sorted(data.validated_data),
                             "escalation": preview})
        try:
            incident = services.update_incident(
                actor=request.user, incident=incident, expected_version=_expected_version(request), **data.validated_data
            )
        except services.StaleVersion as exc:
            raise PreconditionFailed(str(exc)) from None
        response = _detail_response(request, incident)
        response.data["escalation"] = preview
        return response


class IncidentShareApi(APIView):
    """Share with organisations, member states, communities or named people, within the TLP."""

    summaries = {"post": "Share an incident"}

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
    """The originator revokes a share: its recipients lose access at once."""

    summaries = {"delete": "Revoke a share"}

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

    summaries = {"post": "Inform the other affected member states (NIS2 Art. 23(6))"}

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

    summaries = {"get": "Read the alerted networks waiting for consent",
                 "post": "Consent to share with the alerted networks"}

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
    """Move the incident to another status (contained, resolved, closed; reopening needs a reason); send If-Match."""

    summaries = {"post": "Change an incident's status"}

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


class IncidentReportsApi(generics.ListAPIView):
    """The NIS2 reports of the incident, oldest first; POST submits one (immutable once submitted)."""

    summaries = {"get": "List an incident's NIS2 reports", "post": "Submit a NIS2 report"}
    serializer_class = s.ReportOutputSerializer
    ordering = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no incident
            return Report.objects.none()
        return _detail(self.request, self.kwargs["pk"]).reports.select_related("submitted_by")

    @extend_schema(request=s.ReportInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.ReportOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        return _create(request, s.ReportInputSerializer, s.ReportOutputSerializer, services.submit_report,
                       listed_at="incident-reports", incident=_detail(request, pk))


class IncidentTimelineApi(generics.ListAPIView):
    """The append-only timeline, oldest first; POST adds an update, as JSON or as multipart/form-data with
    attachments (``files``)."""

    summaries = {"get": "List an incident's timeline", "post": "Post an update or situation update"}
    serializer_class = s.TimelineOutputSerializer
    ordering = "id"
    parser_classes = [JSONParser, MultiPartParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TimelineEntry.objects.none()
        incident = _detail(self.request, self.kwargs["pk"])
        return selectors.timeline_visible_to(self.request.user, incident).select_related(
            "author", "organisation").prefetch_related("attachments")

    @extend_schema(request={"application/json": s.TimelineInputSerializer,
                            "multipart/form-data": s.TimelineUploadSerializer},
                   parameters=[IDEMPOTENCY],
                   responses={201: s.TimelineOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        incident = _detail(request, pk)

        def perform():
            data = s.TimelineInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            files = request.FILES.getlist("files") if request.FILES else []
            entry = services.add_timeline_entry(actor=request.user, incident=incident, files=files,
                                                **data.validated_data)
            return created(request, Response(s.TimelineOutputSerializer(entry).data), "incident-timeline",
                           pk=incident.pk)

        return idempotent(request, perform)


class IncidentAttachmentApi(APIView):
    """Download an attachment of an update you may read; served as its recognised type, never inline."""

    summaries = {"get": "Download an attachment"}

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                              **error_responses(401, 403, 404)})
    def get(self, request, pk, attachment_id):
        incident = _detail(request, pk)
        entries = selectors.timeline_visible_to(request.user, incident)
        item = Attachment.objects.filter(entry__in=entries, pk=attachment_id).first()
        if item is None:
            raise NotFound("No such attachment.")
        response = FileResponse(item.file.open("rb"), as_attachment=True, filename=item.original_name,
                                content_type=item.content_type)
        response["X-Content-Type-Options"] = "nosniff"
        return response


class IncidentInitialResponseApi(APIView):
    """NIS2 Art. 23(5): the reporting member state's CSIRT or authority records its initial feedback to the entity;
    it stops the 24-hour clock and appears on the timeline."""

    summaries = {"post": "Record the initial response (NIS2 Art. 23(5))"}

    @extend_schema(request=s.InitialResponseInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.TimelineOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        return _create(request, s.InitialResponseInputSerializer, s.TimelineOutputSerializer,
                       services.record_initial_response, listed_at="incident-timeline", incident=_detail(request, pk))


class ObservablePagination(CodeCursorPagination):
    ordering = "id"


class IncidentObservablesApi(generics.ListAPIView):
    """Observables of the incident; POST adds up to 10,000 at once with a per-row error report."""

    summaries = {"get": "List an incident's observables", "post": "Add observables in bulk"}

    serializer_class = s.ObservableOutputSerializer
    pagination_class = ObservablePagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no incident
            return Observable.objects.none()
        return selectors.observables_visible_to(self.request.user, _detail(self.request, self.kwargs["pk"])) \
            .prefetch_related("tags")

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


def _observable(request, pk, observable_id) -> Observable:
    """An observable the caller may read on an incident the caller sees; else 404 (a missing one alike)."""
    incident = _detail(request, pk)
    observable = selectors.observables_visible_to(request.user, incident).filter(pk=observable_id).first()
    if observable is None:
        raise NotFound("No such observable.")
    return observable


class IncidentObservableApi(APIView):
    """One observable: PATCH changes its note, TLP or tags, DELETE removes it (the reporting organisation's
    editors; a recipient who sees it gets 403)."""

    summaries = {"get": "Read an observable", "patch": "Change an observable's note, TLP or tags", "delete": "Delete an observable"}

    @extend_schema(responses={200: s.ObservableOutputSerializer, **error_responses(401, 403, 404)})
    def get(self, request, pk, observable_id):
        return Response(s.ObservableOutputSerializer(_observable(request, pk, observable_id)).data)

    @extend_schema(request=s.ObservableInputSerializer,
                   responses={200: s.ObservableOutputSerializer, **error_responses(400, 401, 403, 404)})
    def patch(self, request, pk, observable_id):
        observable = _observable(request, pk, observable_id)
        data = s.ObservableInputSerializer(data=request.data)
        _refuse_unknown_fields(request, data)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise ValidationError({"non_field_errors": ["Send at least one of note, tlp, tags."]})
        observable = services.update_observable(actor=request.user, observable=observable, **data.validated_data)
        return Response(s.ObservableOutputSerializer(observable).data)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, pk, observable_id):
        services.delete_observable(actor=request.user, observable=_observable(request, pk, observable_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskPagination(CodeCursorPagination):
    ordering = "id"


def _task_assignee(organisation, data: dict) -> dict:
    """The assignee named by e-mail, as a member of the owning organisation (else 400 naming assignee)."""
    if "assignee" not in data or data["assignee"] is None:
        return data
    member = selectors.organisation_member(organisation, data["assignee"])
    if member is None:
        raise ValidationError({"assignee": [f"No member of {organisation.code} with this e-mail address."]})
    return {**data, "assignee": member}


class IncidentTasksApi(generics.ListAPIView):
    """Your organisation's tasks on the incident (another organisation's are never shown); POST adds one."""

    summaries = {"get": "List your organisation's tasks on an incident", "post": "Add a task"}

    serializer_class = s.TaskSerializer
    pagination_class = TaskPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no incident
            return Task.objects.none()
        incident = _detail(self.request, self.kwargs["pk"])
        return selectors.tasks_visible_to(self.request.user).filter(incident=incident).select_related(
            "incident", "organisation", "assignee", "created_by")

    @extend_schema(request=s.TaskInputSerializer, parameters=[IDEMPOTENCY],
                   responses={201: s.TaskSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        incident = _detail(request, pk)

        def perform():
            data = s.TaskInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            fields = dict(data.validated_data)
            organisation = _reporting_organisation(request, fields.pop("organisation", None))
            task = services.create_task(actor=request.user, incident=incident, organisation=organisation,
                                        **_task_assignee(organisation, fields))
            return created(request, Response(s.TaskSerializer(task).data), "task-detail", pk=task.pk)

        return idempotent(request, perform)


class TaskDetailApi(APIView):
    """One task of your organisation; PATCH changes, assigns, completes (``done``) or reopens it; DELETE removes it."""

    summaries = {"get": "Read a task", "patch": "Change, assign, complete or reopen a task", "delete": "Delete a task"}

    @extend_schema(responses={200: s.TaskSerializer, **error_responses(401, 403, 404)})
    def get(self, request, pk):
        return Response(s.TaskSerializer(selectors.task_visible_to(request.user, pk)).data)

    @extend_schema(request=s.TaskUpdateSerializer,
                   responses={200: s.TaskSerializer, **error_responses(400, 401, 403, 404)})
    def patch(self, request, pk):
        task = selectors.task_visible_to(request.user, pk)
        data = s.TaskUpdateSerializer(data=request.data)
        _refuse_unknown_fields(request, data)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            raise ValidationError({"non_field_errors": ["Send at least one field to change."]})
        task = services.update_task(actor=request.user, task=task,
                                    **_task_assignee(task.organisation, dict(data.validated_data)))
        return Response(s.TaskSerializer(task).data)

    @extend_schema(responses={204: None, **error_responses(401, 403, 404)})
    def delete(self, request, pk):
        services.delete_task(actor=request.user, task=selectors.task_visible_to(request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class TagVocabularyPagination(CodeCursorPagination):
    ordering = "namespace"


class TagVocabularyListApi(generics.ListAPIView):
    """The controlled vocabularies of tags (MISP taxonomies: tlp, rsit, nis) with their tags, and the free tags."""

    summaries = {"get": "List the tag vocabularies"}

    serializer_class = s.TagVocabularySerializer
    pagination_class = TagVocabularyPagination

    def get_queryset(self):
        return TagVocabulary.objects.prefetch_related("tags").order_by("namespace")


class IncidentImportApi(APIView):
    """Import a MISP event or STIX 2.1 bundle into the incident: all its observables or none, with a report per
    item (400 with the report when any item or the file fails; nothing is added then)."""

    summaries = {"post": "Import a MISP event or STIX 2.1 bundle"}
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(request={"multipart/form-data": s.ImportUploadSerializer, "application/json": s.ImportJsonSerializer},
                   parameters=[IDEMPOTENCY],
                   responses={200: s.ImportReportSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        incident = _detail(request, pk)

        def perform():
            content, format = _import_input(request)
            report = services.import_file(actor=request.user, incident=incident, content=content, format=format)
            body = s.ImportReportSerializer(report.as_dict()).data
            if report.imported:
                return Response(body)
            problem = report.errors[0] if report.errors else (
                f"{report.failed} item(s) cannot be imported; nothing was imported (see report.items).")
            return Response({**error_body(400, "import_refused", problem), "report": body},
                            status=status.HTTP_400_BAD_REQUEST)

        return idempotent(request, perform)


def _import_input(request) -> tuple[bytes, str | None]:
    """The file's bytes and the format asked for, from a multipart upload or a JSON body."""
    data = request.data
    if request.FILES or request.content_type.startswith("multipart/"):
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["Send the MISP event or STIX bundle as the file field."]})
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError({"file": [f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB."]})
        format = data.get("format") or None
        content = upload.read()
    elif isinstance(data, dict) and "content" in data and set(data) <= {"content", "format"}:
        format, content = data.get("format") or None, json.dumps(data["content"]).encode()
    else:
        format, content = None, json.dumps(data).encode()
    if format not in (None, "misp", "stix"):
        raise ValidationError({"format": [f"Use misp or stix, not {str(format)[:40]!r}."]})
    return content, format


def _export_download(request, pk, *, build, suffix: str, content_type: str) -> HttpResponse:
    """One visible incident as a JSON attachment, built from what the caller may see (404 otherwise).

    ``build(incident, observables, situation_updates)`` returns the document's text; both querysets are the
    caller's. The STIX and MISP exports differ only in ``build``, the file name and the media type.
    """
    incident = _detail(request, pk)  # its organisation read with it; the category, if any, when built
    body = build(incident, selectors.observables_visible_to(request.user, incident),
                 selectors.timeline_visible_to(request.user, incident))
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{incident.reference}.{suffix}.json"'
    return response


class IncidentStixApi(APIView):
    """The incident, its observables and situation updates as a STIX 2.1 bundle with TLP 2.0 markings."""

    summaries = {"get": "Export an incident as STIX 2.1"}

    @extend_schema(responses={(200, "application/stix+json;version=2.1"): OpenApiTypes.OBJECT,
                              **error_responses(401, 403, 404)})
    def get(self, request, pk):
        return _export_download(request, pk, suffix="stix", content_type="application/stix+json;version=2.1",
                                build=lambda incident, observables, updates: serialize(
                                    bundle_for(incident, observables, updates)))


class IncidentMispApi(APIView):
    """The incident as a MISP event (MISP's feed format): its observables as attributes, TLP and taxonomy tags."""

    summaries = {"get": "Export an incident as a MISP event"}

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **error_responses(401, 403, 404)})
    def get(self, request, pk):
        return _export_download(request, pk, suffix="misp", content_type="application/json",
                                build=lambda incident, observables, updates: misp.serialize(
                                    misp.as_feed(misp.event_for(incident, observables, updates))))


class AnyAccept(DefaultContentNegotiation):
    """A MISP instance pulling the feed sends the Accept header its admin configured: answer the file whatever it is."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class MispFeedManifestApi(APIView):
    """MISP feed: ``manifest.json``, one entry per incident the caller may see ({event uuid: info, date, analysis,
    threat_level_id, timestamp, Orgc, Tag}); MISP fetches the events whose timestamp changed."""

    summaries = {"get": "MISP feed: the manifest"}
    content_negotiation_class = AnyAccept

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **error_responses(401, 403)})
    def get(self, request):
        manifest = misp.manifest_for(selectors.incidents_visible_to(request.user),
                                     selectors.timeline_entries_visible_to(request.user))
        return HttpResponse(misp.serialize(manifest), content_type="application/json")


class MispFeedHashesApi(APIView):
    """MISP feed: ``hashes.csv``, a line ``<md5 of the value>,<event uuid>`` per attribute the caller may see."""

    summaries = {"get": "MISP feed: the attribute hashes"}
    content_negotiation_class = AnyAccept

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR, **error_responses(401, 403)})
    def get(self, request):
        lines = misp.hashes_csv(selectors.incidents_visible_to(request.user),
                                selectors.observable_entries_visible_to(request.user))
        return StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")


class MispFeedEventApi(APIView):
    """MISP feed: ``<event uuid>.json``, one incident the caller may see as a MISP event (``{"Event": …}``)."""

    summaries = {"get": "MISP feed: one event"}
    content_negotiation_class = AnyAccept

    @extend_schema(parameters=[OpenApiParameter("event_uuid", OpenApiTypes.STR, OpenApiParameter.PATH,
                                                description="The event's uuid, as the manifest lists it.")],
                   responses={200: OpenApiTypes.OBJECT, **error_responses(401, 403, 404)})
    def get(self, request, event_uuid):
        incident = misp.incident_by_event_uuid(selectors.incidents_visible_to(request.user), event_uuid)
        if incident is None:
            raise NotFound("No such event in this feed.")
        event = misp.event_for(incident, selectors.observables_visible_to(request.user, incident),
                               selectors.timeline_visible_to(request.user, incident))
        return HttpResponse(misp.serialize(misp.as_feed(event)), content_type="application/json")


@extend_schema(
    parameters=[OpenApiParameter("value", OpenApiTypes.STR, required=True, description="An IP, domain, hash, …")],
)
class ObservableSearchApi(generics.ListAPIView):
    """"Who else saw this?": observables matching a value, in incidents the caller may see, newest incidents first."""

    summaries = {"get": "Search observables (who else saw this?)"}
    serializer_class = s.ObservableSearchHitSerializer
    ordering = ("-incident_id", "-id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Observable.objects.none()
        request = self.request
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
        return hits.filter(incident__in=visible).select_related("incident")



class BlueprintApi(APIView):
    """The active version of the EU Cyber Crisis Management Blueprint: its levels and escalation rules."""

    summaries = {"get": "Read the active Blueprint"}

    @extend_schema(responses={200: s.BlueprintSerializer, **error_responses(401, 403)})
    def get(self, request):
        return Response(s.BlueprintSerializer(selectors.active_blueprint()).data)


class IncidentEscalationsApi(generics.ListAPIView):
    """The incident's escalation history, oldest first, each step with its rules and explanation."""

    summaries = {"get": "List an incident's escalations"}
    serializer_class = s.EscalationOutputSerializer
    ordering = "id"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Escalation.objects.none()
        return _detail(self.request, self.kwargs["pk"]).escalations.select_related("actor")


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
        return created(request, Response(s.EscalationOutputSerializer(record).data), "incident-escalations",
                       pk=incident.pk)


class IncidentDeclareApi(_LevelChangeApi):
    """Declare a higher level, for the body the Blueprint names: level 3 (cyber crisis) only the Council Presidency."""

    summaries = {"post": "Declare a higher crisis level"}

    service = staticmethod(services.declare_level)
    input_serializer = s.DeclareInputSerializer

    @extend_schema(request=s.DeclareInputSerializer,
                   responses={201: s.EscalationOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        return super().post(request, pk)


class IncidentDeescalateApi(_LevelChangeApi):
    """Lower the level: a decision of the body in charge of the current level, with a reason; it holds until new
    facts match a rule."""

    summaries = {"post": "Lower the crisis level"}

    service = staticmethod(services.deescalate)


class IncidentProposeApi(APIView):
    """Propose a level to the body that declares it (EU-CyCLONe proposes the political level to the Presidency)."""

    summaries = {"post": "Propose a crisis level"}

    @extend_schema(request=s.ProposeInputSerializer,
                   responses={201: s.LevelProposalSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        return _create(request, s.ProposeInputSerializer, s.LevelProposalSerializer, services.propose_level,
                       listed_at="incident-detail", incident=_detail(request, pk))  # its level_proposals


class IncidentIpcrModeApi(APIView):
    """At the political level, the Council Presidency sets the IPCR mode (monitoring, information sharing, full
    activation); the mode sets how often a situation update is due."""

    summaries = {"post": "Set the IPCR mode"}

    @extend_schema(request=s.IpcrModeInputSerializer,
                   responses={200: s.IncidentDetailSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        incident = _detail(request, pk)
        data = s.IpcrModeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident = services.set_ipcr_mode(actor=request.user, incident=incident, **data.validated_data)
        return _detail_response(request, incident)


class LevelProposalListApi(generics.ListAPIView):
    """Open level proposals waiting for the caller's decision, newest first (for the Presidency: proposals of the
    political level).

    Like an alert, a proposal names the incident's reference and the reasons, not its content."""

    summaries = {"get": "List level proposals waiting for your decision"}
    serializer_class = s.LevelProposalSerializer
    ordering = "-id"

    def get_queryset(self):
        to_decide = [proposal.pk for proposal in policy.proposals_to_decide(self.request.user)]
        return LevelProposal.objects.filter(pk__in=to_decide).select_related("incident")


def _proposal(request, pk) -> LevelProposal:
    """A proposal the caller decides, or one of an incident the caller sees; else 404 (its existence stays hidden)."""
    proposal = (LevelProposal.objects.select_related("incident__reporting_organisation").filter(pk=pk).first())
    if proposal is None or not (policy.may_decide_proposal(request.user, proposal)
                                or policy.may_see_incident(request.user, proposal.incident_id)):
        raise NotFound("No such level proposal.")
    return proposal


class LevelProposalAcceptApi(APIView):
    """Declare the proposed level (the body in charge only); the proposal closes with the declaration."""

    summaries = {"post": "Declare a proposed level"}

    @extend_schema(request=s.ProposalDecisionInputSerializer,
                   responses={201: s.EscalationOutputSerializer, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        proposal = _proposal(request, pk)
        data = s.ProposalDecisionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.accept_proposal(actor=request.user, proposal=proposal, **data.validated_data)
        return created(request, Response(s.EscalationOutputSerializer(record).data), "incident-escalations",
                       pk=proposal.incident_id)


class LevelProposalDeclineApi(APIView):
    """Decline the proposal, with a reason; the engine proposes again only on new facts."""

    summaries = {"post": "Decline a proposed level"}

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

    summaries = {"get": "List alerts"}

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

    summaries = {"post": "Acknowledge an alert"}

    affected = True


class AlertNotAffectedApi(_AlertAnswerApi):
    """Your organisation is not affected; a short note saying why is required."""

    summaries = {"post": "Answer an alert: not affected"}

    affected = False
