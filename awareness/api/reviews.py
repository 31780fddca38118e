"""API of the reviews product (views and its urlpatterns): thin over the services and selectors.

``ValidationError`` → 400 naming the field, ``PermissionDenied`` → 403, a review the caller may not
see → 404 (csoa_portal.api.exceptions). The report is the caller's reading of it: confidential
parts of other sources are left out and ``omitted`` says so.
"""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from awareness.policy import reviews as policy
from awareness.selectors import reviews as selectors
from awareness.services import reviews as services
from csoa_portal.api.idempotency import idempotent
from csoa_portal.api.responses import created
from csoa_portal.api.schema import error_responses
from incidents.selectors import incident_visible_to
from liaison.api.exercises import exercise_ref
from liaison.models import MemberState


class ReviewRequestInput(serializers.Serializer):
    incident = serializers.IntegerField()
    reason = serializers.CharField()


class ReviewAgreementInput(serializers.Serializer):
    member_state = serializers.SlugRelatedField(slug_field="code", queryset=MemberState.objects.all(), required=False)
    agree = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReviewSectionInput(serializers.Serializer):
    kind = serializers.CharField()
    text = serializers.CharField()
    confidential = serializers.BooleanField(default=False)
    source_state = serializers.SlugRelatedField(slug_field="code", queryset=MemberState.objects.all(), required=False,
                                                allow_null=True, default=None)


class ReviewCommentInput(serializers.Serializer):
    member_state = serializers.SlugRelatedField(slug_field="code", queryset=MemberState.objects.all(), required=False)
    text = serializers.CharField()


def review_data(user, review) -> dict:
    report = selectors.report_for(user, review)
    data = {
        "id": review.pk, "reference": review.reference, "incident": review.incident.reference,
        "requester": review.requester_organisation.code, "requester_body": review.requester_body,
        "state": review.state, "reason": review.reason, "created_at": review.created_at,
        "delivered_at": review.delivered_at,
        "states": [{"member_state": a.member_state.code, "answer": a.answer, "answered_at": a.answered_at}
                   for a in review.agreements.all()],
        "clocks": [{"clock": c.clock, "due_at": c.due_at, "met_at": c.met_at} for c in selectors.clocks_of(review)],
        "actions": policy.actions_for(user, review).as_list(),
        "report": None,
        "exercise": exercise_ref(review),
    }
    if report.readable:
        data["report"] = {
            "omitted": report.omitted,
            "omitted_note": report.omitted_note,
            "parts": [{"kind": part.kind, "omitted": part.omitted, "sections": [
                {"id": s.pk, "text": s.text, "confidential": s.confidential,
                 "source_state": s.source_state.code if s.source_state_id else None} for s in part.sections]}
                for part in report.parts],
            "comments": [{"member_state": c.member_state.code, "organisation": c.organisation.code, "text": c.text,
                          "created_at": c.created_at} for c in report.comments],
        }
    return data


def _detail(request, pk, code=status.HTTP_200_OK):
    return Response(review_data(request.user, selectors.review_visible_to(request.user, pk)), status=code)


class ReviewListApi(APIView):
    @extend_schema(summary="Incident reviews you see", operation_id="reviews_list", responses={200: None, **error_responses(400, 401, 403, 404)})
    def get(self, request):
        reviews = selectors.reviews_visible_to(request.user).select_related("incident", "requester_organisation",
                                                                                   "exercise")
        return Response({"results": [{"id": r.pk, "reference": r.reference, "incident": r.incident.reference,
                                      "requester": r.requester_organisation.code, "state": r.state,
                                      "created_at": r.created_at, "exercise": exercise_ref(r)}
                                     for r in reviews[:200]]})

    @extend_schema(summary="Request an incident review (CSoA Art. 21)", request=ReviewRequestInput, responses={201: None, **error_responses(400, 401, 403, 404)})
    def post(self, request):
        def perform():
            body = ReviewRequestInput(data=request.data)
            body.is_valid(raise_exception=True)
            incident = incident_visible_to(request.user, body.validated_data["incident"])
            review = services.request_review(actor=request.user, incident=incident,
                                             reason=body.validated_data["reason"])
            return created(request, _detail(request, review.pk), "review-detail", pk=review.pk)

        return idempotent(request, perform)


class ReviewDetailApi(APIView):
    @extend_schema(summary="Read an incident review as you may read it", responses={200: None, **error_responses(400, 401, 403, 404)})
    def get(self, request, pk):
        return _detail(request, pk)


def _action(input_class, perform, summary: str):
    class ReviewActionApi(APIView):
        @extend_schema(summary=summary, request=input_class, responses={200: None, **error_responses(400, 401, 403, 404)})
        def post(self, request, pk):
            review = selectors.review_visible_to(request.user, pk)

            def run():
                data = {}
                if input_class is not None:
                    body = input_class(data=request.data)
                    body.is_valid(raise_exception=True)
                    data = dict(body.validated_data)
                perform(request.user, review, data)
                return _detail(request, pk)

            return idempotent(request, run)

    ReviewActionApi.__name__ = ReviewActionApi.__qualname__ = f"Review{summary.title().replace(' ', '')[:40]}Api"
    return ReviewActionApi.as_view()


urlpatterns: list = [
    path("reviews/", ReviewListApi.as_view(), name="review-list"),
    path("reviews/<int:pk>/", ReviewDetailApi.as_view(), name="review-detail"),
    path("reviews/<int:pk>/agreement/", _action(ReviewAgreementInput, lambda user, review, d: services.answer_agreement(
        actor=user, review=review, agree=d["agree"], member_state=d.get("member_state"), note=d["note"]),
        "Agree to or refuse a review"), name="review-agreement"),
    path("reviews/<int:pk>/sections/", _action(ReviewSectionInput, lambda user, review, d: services.add_section(
        actor=user, review=review, **d), "Add a section to the draft"), name="review-sections"),
    path("reviews/<int:pk>/circulate/", _action(None, lambda user, review, d: services.circulate_draft(
        actor=user, review=review), "Send the draft for comments"), name="review-circulate"),
    path("reviews/<int:pk>/comments/", _action(ReviewCommentInput, lambda user, review, d: services.add_comment(
        actor=user, review=review, text=d["text"], member_state=d.get("member_state")), "Comment on the draft"),
        name="review-comments"),
    path("reviews/<int:pk>/deliver/", _action(None, lambda user, review, d: services.deliver_review(
        actor=user, review=review), "Deliver the report"), name="review-deliver"),
]
