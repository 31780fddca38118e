"""API of the sitreps product (views and its urlpatterns): thin over the services and selectors.

A report over the API is the reader's version (``selectors.report_for_reader``), as JSON with
ISO 8601 times, or as PDF.
"""

from django.urls import path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from awareness.downloads import pdf_response
from awareness.models import SituationReport
from awareness.policy import sitreps as policy
from awareness.selectors import sitreps as selectors
from awareness.services import sitreps as services
from csoa_portal.api.pagination import CodeCursorPagination
from csoa_portal.api.schema import error_responses
from incidents.vocabulary import TLP
from liaison.api.exercises import EXERCISE_HELP, ExerciseRefSerializer, exercise_ref



class SitrepInputSerializer(serializers.Serializer):
    incident = serializers.IntegerField(required=False, help_text="The primary incident (on creation only).")
    related_incidents = serializers.ListField(child=serializers.IntegerField(), required=False)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    tlp = serializers.ChoiceField(choices=TLP.choices, required=False)
    audience = serializers.ListField(child=serializers.CharField(), required=False,
                                     help_text="Group names: org:…, ms:…, community:…, person:…")
    summary = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False,
                                    help_text="ISAA summary (level 3): what, where, impact, outlook, options.")
    assessment = serializers.CharField(required=False, allow_blank=True)
    next_steps = serializers.CharField(required=False, allow_blank=True)


def _iso(value):
    return value.isoformat() if value else None


def _fields(data: dict) -> dict:
    """Input as the services take it (``summary`` → ``summary_<part>``); unknown fields and parts refused."""
    fields = dict(data)
    summary = fields.pop("summary", None) or {}
    parts = {key for key, _ in selectors.ISAA_FIELDS}
    unknown = set(summary) - parts
    if unknown:
        raise ValidationError({"summary": [f"Unknown part {sorted(unknown)[0]!r}; use {', '.join(sorted(parts))}."]})
    fields.update({f"summary_{key}": value for key, value in summary.items()})
    return fields


def _refuse_unknown(request):
    known = set(SitrepInputSerializer().fields)
    unknown = sorted(set(request.data) - known) if hasattr(request.data, "keys") else []
    if unknown:
        raise ValidationError({unknown[0]: ["Not a field of a situation report."]})


def report_json(reader, user) -> dict:
    report = reader.report
    caps = policy.capabilities(user, report)
    data = {
        "id": report.pk, "number": report.number, "version": report.version, "status": report.status,
        "level": report.level, "tlp": report.tlp, "title": reader.title,
        "incident": {"id": report.incident_id, "reference": report.incident.reference},
        "related_incidents": [{"id": i.pk, "reference": i.reference} for i in reader.incidents
                              if i.pk != report.incident_id],
        "author_organisation": report.author_organisation.code,
        "created_at": _iso(report.created_at), "submitted_at": _iso(report.submitted_at),
        "published_at": _iso(report.published_at), "superseded_at": _iso(report.superseded_at),
        "corrects": {"number": report.number, "version": report.corrects.version} if report.corrects_id else None,
        "facts_as_of": _iso(reader.gathered_at), "live": reader.live,
        "summary": {key: getattr(report, f"summary_{key}") for key, _ in selectors.ISAA_FIELDS} if reader.summary
        else None,
        "assessment": report.assessment, "next_steps": report.next_steps,
        "omitted_note": reader.omitted_note,
        "sections": [{
            "key": s.key, "heading": s.heading, "omitted_note": s.omitted_note,
            "items": [{"label": i.label, "text": i.text, "at": _iso(i.at), "tlp": i.tlp,
                       "fields": [{"label": k, "value": v} for k, v in i.fields],
                       "source": {"incident": i.source["incident"], "reference": i.source.get("reference"),
                                  "timeline_entry": i.source.get("entry"), "reserve_request": i.source.get("request"),
                                  "organisation": i.source.get("organisation"), "tlp": i.source.get("tlp")}}
                      for i in s.items],
        } for s in reader.sections],
        "map": reader.map_states,
        "capabilities": {"edit": caps.edit, "submit": caps.submit, "return_to_draft": caps.return_to_draft,
                         "publish": caps.publish, "correct": caps.correct},
        "links": {"html": reverse("awareness:sitrep-detail", args=[report.pk]),
                  "pdf": reverse("api:sitrep-pdf", args=[report.pk])},
        "exercise": exercise_ref(report),
    }
    if caps.work_on:
        data["audience"] = sorted(report.audience)
    return data


def _row(report) -> dict:
    return {"id": report.pk, "number": report.number, "version": report.version, "status": report.status,
            "level": report.level, "tlp": report.tlp, "title": report.title,
            "incident": {"id": report.incident_id, "reference": report.incident.reference},
            "author_organisation": report.author_organisation.code, "published_at": _iso(report.published_at),
            "superseded": report.superseded_at is not None, "exercise": exercise_ref(report)}


class IncidentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()


class SitrepRowSerializer(serializers.Serializer):
    """One report in the list (read the report itself for its content)."""

    id = serializers.IntegerField()
    number = serializers.IntegerField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=SituationReport.Status.choices)
    level = serializers.IntegerField()
    tlp = serializers.ChoiceField(choices=TLP.choices)
    title = serializers.CharField()
    incident = IncidentRefSerializer()
    author_organisation = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    superseded = serializers.BooleanField()
    exercise = ExerciseRefSerializer(allow_null=True, help_text=EXERCISE_HELP)

    def to_representation(self, instance):
        return _row(instance)


class SitrepPagination(CodeCursorPagination):
    ordering = "-id"


def _detail(request, report):
    reader = selectors.report_for_reader(report=report, user=request.user)
    return report_json(reader, request.user)


class ReportListApi(generics.ListAPIView):
    """Situation reports you may read (newest first, ``?incident=`` for one incident's); POST drafts one on an
    incident at level 2 or 3."""

    summaries = {"get": "List the situation reports you may read", "post": "Draft a situation report"}
    serializer_class = SitrepRowSerializer
    pagination_class = SitrepPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SituationReport.objects.none()
        reports = selectors.reports_visible_to(self.request.user)
        incident = self.request.query_params.get("incident")
        if incident is not None:
            if not incident.isdigit():
                raise ValidationError({"incident": ["Give an incident id."]})
            reports = reports.filter(incident_id=int(incident))
        return reports.select_related("exercise")

    @extend_schema(request=SitrepInputSerializer,
                   responses={201: OpenApiTypes.OBJECT, **error_responses(400, 401, 403, 404)})
    def post(self, request):
        _refuse_unknown(request)
        data = SitrepInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = _fields(data.validated_data)
        if "incident" not in fields:
            raise ValidationError({"incident": ["Name the incident the report is about."]})
        incident = selectors.draftable_incident(request.user, fields.pop("incident"))
        report = services.draft_report(actor=request.user, incident=incident, **fields)
        response = Response(_detail(request, report), status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(reverse("api:sitrep-detail", args=[report.pk]))
        return response


class ReportDetailApi(APIView):
    """Your version of a report; PATCH changes a draft."""

    summaries = {"get": "Read a situation report (your version)", "patch": "Change a draft situation report"}

    @extend_schema(responses={200: OpenApiTypes.OBJECT, **error_responses(401, 404)})
    def get(self, request, pk):
        return Response(_detail(request, selectors.report_visible_to(request.user, pk)))

    @extend_schema(request=SitrepInputSerializer, responses={200: OpenApiTypes.OBJECT,
                                                             **error_responses(400, 401, 403, 404)})
    def patch(self, request, pk):
        report = selectors.report_visible_to(request.user, pk)
        _refuse_unknown(request)
        data = SitrepInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = _fields(data.validated_data)
        if "incident" in fields:
            raise ValidationError({"incident": ["A report's incident does not change; draft a new report."]})
        report = services.edit_report(actor=request.user, report=report, **fields)
        return Response(_detail(request, report))


def _action_view(service, summary: str, *, creates: bool = False):
    class ActionApi(APIView):
        __doc__ = summary
        summaries = {"post": summary.rstrip(".")}

        @extend_schema(request=None, responses={(201 if creates else 200): OpenApiTypes.OBJECT,
                                                **error_responses(400, 401, 403, 404)})
        def post(self, request, pk):
            report = selectors.report_visible_to(request.user, pk)
            result = service(actor=request.user, report=report)
            response = Response(_detail(request, result))
            if result.pk != report.pk:  # a correction: a new version
                response.status_code = status.HTTP_201_CREATED
                response["Location"] = request.build_absolute_uri(reverse("api:sitrep-detail", args=[result.pk]))
            return response

    ActionApi.__name__ = ActionApi.__qualname__ = f"Report{service.__name__.title().replace('_', '')}Api"
    return ActionApi


class ReportPdfApi(APIView):
    """Your version of a report as PDF."""

    summaries = {"get": "A situation report as PDF (your version)"}

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY, **error_responses(401, 404)})
    def get(self, request, pk):
        report = selectors.report_visible_to(request.user, pk)
        document = selectors.print_document(selectors.report_for_reader(report=report, user=request.user))
        return pdf_response(document, filename=selectors.pdf_filename(report))


urlpatterns: list = [
    path("sitreps/", ReportListApi.as_view(), name="sitrep-list"),
    path("sitreps/<int:pk>/", ReportDetailApi.as_view(), name="sitrep-detail"),
    path("sitreps/<int:pk>/submit/", _action_view(services.submit_report, "Submit a draft for review.").as_view(),
         name="sitrep-submit"),
    path("sitreps/<int:pk>/return/", _action_view(services.return_to_draft, "Return a report in review to draft.")
         .as_view(), name="sitrep-return"),
    path("sitreps/<int:pk>/publish/", _action_view(services.publish_report, "Publish a reviewed report (four eyes).")
         .as_view(), name="sitrep-publish"),
    path("sitreps/<int:pk>/correct/", _action_view(services.correct_report,
                                                   "Draft a correction of a published report (a new version).", creates=True)
         .as_view(), name="sitrep-correct"),
    path("sitreps/<int:pk>/pdf/", ReportPdfApi.as_view(), name="sitrep-pdf"),
]
