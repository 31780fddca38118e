"""ENISA triage and the contracting authority's decision, within the 48-hour response clock."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from csoa_portal import audit
from liaison.events import Audience, record_event
from liaison.models import User
from liaison.roles import role_group_name
from liaison.roles import Role as NetworkRole
from reserve import workflow
from reserve.models import AssistanceRequest, Assessment, Decision, InformationRequest
from reserve.policy import roles_for
from reserve.selectors import contracting_authority, priority_of
from reserve.services.common import authority_groups, lock, notify, request_event, request_payload, snapshot, touch
from reserve.services.deadlines import meet_clock
from reserve.services.requests import _incidents_changed
from reserve.vocabulary import Clock, DecisionOutcome, Recommendation
from reserve.workflow import RequestStatus


def _text(value, field: str, message: str) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if not text:
        raise ValidationError({field: message})
    return text


@transaction.atomic
def request_information(*, actor: User, request: AssistanceRequest, question: str) -> InformationRequest:
    """Triage asks the requester for more; the request leaves the queue until they answer."""
    request = lock(request)
    workflow.request_transition("request_info", status=request.status, roles=roles_for(actor, request))
    question = _text(question, "question", "Say what information is needed.")
    before = snapshot(request)
    asked = InformationRequest.objects.create(request=request, question=question, asked_by=actor)
    request.status = RequestStatus.INFO_REQUESTED
    touch(request, "status")
    audit.record(actor=actor, action="request.info_requested", obj=request, before=before,
                 after={**snapshot(request), "question": question})
    requester = request.requester_organisation.group.name
    request_event("request.info_requested", request, actor=actor, payload={"information_request_id": asked.pk},
                  recipients=[requester])
    notify(request.pk, [requester], "request.info_requested")
    return asked


@transaction.atomic
def answer_information(*, actor: User, request: AssistanceRequest, answer: str) -> InformationRequest:
    """The requester answers the open question; the request goes back into the triage queue."""
    request = lock(request)
    workflow.request_transition("answer_info", status=request.status, roles=roles_for(actor, request))
    answer = _text(answer, "answer", "Write the answer to the question.")
    asked = request.information_requests.filter(answered_at__isnull=True).order_by("-asked_at", "-id").first()
    if asked is None:  # the state says a question is open; a row must exist
        raise workflow.TransitionRefused("No question is open on this request.")
    before = snapshot(request)
    asked.answer, asked.answered_by, asked.answered_at = answer, actor, timezone.now()
    asked.save(update_fields=["answer", "answered_by", "answered_at"])
    request.status = RequestStatus.SUBMITTED
    request.priority_score = priority_of(request).score
    touch(request, "status", "priority_score")
    audit.record(actor=actor, action="request.info_answered", obj=request, before=before,
                 after={**snapshot(request), "information_request_id": asked.pk})
    request_event("request.info_answered", request, actor=actor, payload={"information_request_id": asked.pk},
                  recipients=[role_group_name(NetworkRole.ENISA_TRIAGE)])
    return asked


@transaction.atomic
def assess_request(*, actor: User, request: AssistanceRequest, complete: bool, recommendation: str, reasons: str,
                   missing=()) -> Assessment:
    """Triage's assessment: completeness, the priority now, and a recommendation with reasons.

    An incomplete request can only be recommended for rejection; to complete it, request more
    information instead.
    """
    request = lock(request)
    workflow.request_transition("assess", status=request.status, roles=roles_for(actor, request))
    errors = {}
    if not isinstance(complete, bool):
        errors["complete"] = "Say whether the request is complete (true or false)."
    if recommendation not in Recommendation.values:
        errors["recommendation"] = f"Recommend one of {', '.join(Recommendation.values)}."
    if not (reasons or "").strip():
        errors["reasons"] = "Give the reasons for the recommendation."
    missing = [str(m).strip() for m in (missing or ()) if str(m).strip()]
    if complete is False and recommendation == Recommendation.APPROVE:
        errors["recommendation"] = ("An incomplete request cannot be recommended for approval: "
                                    "request more information from the requester instead.")
    if complete is False and not missing:
        errors["missing"] = "Say what is missing."
    if errors:
        raise ValidationError(errors)
    before = snapshot(request)
    found = priority_of(request)
    assessment = Assessment.objects.create(
        request=request, complete=complete, missing=missing, recommendation=recommendation, reasons=reasons.strip(),
        priority_score=found.score, priority_explanation=found.explanation(), assessed_by=actor)
    request.status, request.priority_score = RequestStatus.ASSESSED, found.score
    touch(request, "status", "priority_score")
    audit.record(actor=actor, action="request.assessed", obj=request, before=before,
                 after={**snapshot(request), "assessment_id": assessment.pk, "recommendation": recommendation,
                        "complete": complete, "priority_score": found.score})
    # The recommendation is advice inside the contracting authority: not for the requester.
    record_event(kind="request.assessed", subject=request, subject_type="assistance_request", actor=actor,
                 payload=request_payload(request, priority_score=found.score, assessment_id=assessment.pk),
                 audience=Audience(groups=[g.name for g in authority_groups()]))
    return assessment


@transaction.atomic
def decide_request(*, actor: User, request: AssistanceRequest, outcome: str, reasons: str) -> Decision:
    """The contracting authority's decision-maker approves or rejects, with reasons (Art. 15(5)).

    The requester (and its SPOC) are told at once, by Event and e-mail; the Commission sees
    every decision (it is granted every request that reaches the contracting authority).
    """
    request = lock(request)
    if outcome not in DecisionOutcome.values:
        raise ValidationError({"outcome": f"Decide one of {', '.join(DecisionOutcome.values)}."})
    action = "approve" if outcome == DecisionOutcome.APPROVED else "reject"
    workflow.request_transition(action, status=request.status, roles=roles_for(actor, request))
    reasons = _text(reasons, "reasons", "Give the reasons for the decision.")
    authority = contracting_authority()
    before = snapshot(request)
    now = timezone.now()
    decision = Decision.objects.create(request=request, outcome=outcome, reasons=reasons, organisation=authority,
                                       decided_by=actor, decided_at=now)
    request.status = RequestStatus.APPROVED if action == "approve" else RequestStatus.REJECTED
    request.decided_at = now
    touch(request, "status", "decided_at")
    meet_clock(request, Clock.RESPONSE)
    audit.record(actor=actor, action="request.decided", obj=request, before=before,
                 after={**snapshot(request), "outcome": outcome, "reasons": reasons})
    told = [request.requester_organisation.group.name]
    if request.spoc_organisation_id:
        told.append(request.spoc_organisation.group.name)
    request_event("request.decided", request, actor=actor, recipients=told, payload={
        "outcome": outcome, "decided_by": authority.code if authority else "",
        "within_clock": request.deadlines.filter(clock=Clock.RESPONSE, engagement__isnull=True,
                                                 due_at__gte=now).exists(),
    })
    notify(request.pk, told, "request.decided")
    if action == "approve":
        _incidents_changed(request)
    return decision
