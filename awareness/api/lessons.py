"""API of the lessons product (views and its urlpatterns): thin over the services and selectors.

A source or lesson the caller may not read is 404; an unknown source kind, an unknown level,
rule or field, a value out of range or a second decision is 400 naming the field.
"""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from awareness.models import LessonProposal
from awareness.selectors import lessons as selectors
from awareness.services import lessons as services
from csoa_portal.api.idempotency import idempotent
from csoa_portal.api.responses import created
from csoa_portal.api.schema import error_responses
from liaison.api.exercises import exercise_ref


class LessonProposeInput(serializers.Serializer):
    source_kind = serializers.CharField()
    source_id = serializers.CharField()
    target = serializers.CharField()
    change = serializers.JSONField(required=False, default=dict)
    rationale = serializers.CharField()


class LessonDecisionInput(serializers.Serializer):
    accept = serializers.BooleanField()
    reason = serializers.CharField()


class BlueprintDraftInput(serializers.Serializer):
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


def lesson_data(row) -> dict:
    lesson = row.lesson
    return {"id": lesson.pk, "source": row.source, "target": lesson.target, "change": lesson.change,
            "rationale": lesson.rationale, "organisation": lesson.organisation.code, "state": lesson.state,
            "created_at": lesson.created_at, "decided_at": lesson.decided_at, "decision_reason": lesson.decision_reason,
            "answered_in": lesson.answered_in.version if lesson.answered_in_id else None,
            "exercise": exercise_ref(lesson)}


def _detail(request, pk, code=status.HTTP_200_OK):
    lesson = selectors.lesson_visible_to(request.user, pk)
    return Response(lesson_data(selectors.rows_for(request.user, [lesson])[0]), status=code)


class LessonListApi(APIView):
    @extend_schema(summary="Lessons learned you see", operation_id="lessons_list", responses={200: None, **error_responses(400, 401, 403, 404)})
    def get(self, request):
        state = request.query_params.get("state")
        rows = selectors.lesson_queue(request.user, state=state if state in LessonProposal.State.values else None)
        return Response({"results": [lesson_data(row) for row in rows]})

    @extend_schema(summary="Propose a lesson for the Blueprint", request=LessonProposeInput, responses={201: None, **error_responses(400, 401, 403, 404)})
    def post(self, request):
        def perform():
            body = LessonProposeInput(data=request.data)
            body.is_valid(raise_exception=True)
            lesson = services.propose_lesson(actor=request.user, **body.validated_data)
            return created(request, _detail(request, lesson.pk), "lesson-detail", pk=lesson.pk)

        return idempotent(request, perform)


class LessonDetailApi(APIView):
    @extend_schema(summary="Read a lesson", responses={200: None, **error_responses(400, 401, 403, 404)})
    def get(self, request, pk):
        return _detail(request, pk)


class LessonDecisionApi(APIView):
    @extend_schema(summary="Accept or reject a lesson (ENISA)", request=LessonDecisionInput, responses={200: None, **error_responses(400, 401, 403, 404)})
    def post(self, request, pk):
        lesson = selectors.lesson_visible_to(request.user, pk)
        def perform():
            body = LessonDecisionInput(data=request.data)
            body.is_valid(raise_exception=True)
            services.decide_lesson(actor=request.user, lesson=lesson, **body.validated_data)
            return _detail(request, pk)

        return idempotent(request, perform)


class BlueprintDraftApi(APIView):
    @extend_schema(summary="Build the next Blueprint draft from the accepted lessons", request=BlueprintDraftInput,
                   responses={201: None, **error_responses(400, 401, 403, 404)})
    def post(self, request):
        def perform():
            body = BlueprintDraftInput(data=request.data)
            body.is_valid(raise_exception=True)
            draft = services.build_blueprint_draft(actor=request.user, title=body.validated_data["title"])
            return created(request, Response({
                "id": draft.pk, "version": draft.version, "title": draft.title, "is_active": draft.is_active,
                "lessons": list(draft.answered_lessons.values_list("pk", flat=True))}), "lesson-blueprint-versions")

        return idempotent(request, perform)


class BlueprintVersionsApi(APIView):
    @extend_schema(summary="Blueprint versions and the lessons they answer", responses={200: None, **error_responses(400, 401, 403, 404)})
    def get(self, request):
        return Response({"results": [
            {"id": v.blueprint.pk, "version": v.blueprint.version, "title": v.blueprint.title, "is_active": v.blueprint.is_active,
             "lessons": [lesson_data(row) for row in v.lessons], "other_lessons": v.others}
            for v in selectors.blueprint_versions(request.user)]})


urlpatterns: list = [
    path("lessons/", LessonListApi.as_view(), name="lesson-list"),
    path("lessons/<int:pk>/", LessonDetailApi.as_view(), name="lesson-detail"),
    path("lessons/<int:pk>/decision/", LessonDecisionApi.as_view(), name="lesson-decision"),
    path("lessons/blueprint-draft/", BlueprintDraftApi.as_view(), name="lesson-blueprint-draft"),
    path("lessons/blueprint-versions/", BlueprintVersionsApi.as_view(), name="lesson-blueprint-versions"),
]
