"""The deployment: work logged against the booking, updates from both sides, closing, the after-action report."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from csoa_portal import audit
from liaison.models import User
from reserve import workflow
from reserve.models import AfterActionReport, AssistanceRequest, DeploymentUpdate, Engagement, WorkLog
from reserve.policy import engagement_roles_for, roles_for
from reserve.services.common import (
    engagement_event,
    lock,
    lock_engagement,
    notify,
    request_event,
    snapshot,
    touch,
)
from reserve.services.deadlines import meet_clock, start_report_clock
from reserve.services.engagements import cancel_open_engagements
from reserve.vocabulary import Clock
from reserve.workflow import EngagementStatus, RequestStatus


def _running(engagement: Engagement, doing: str) -> None:
    if engagement.status != EngagementStatus.ACCEPTED or engagement.request.status != RequestStatus.DEPLOYED:
        raise workflow.TransitionRefused(
            f"This engagement is {engagement.get_status_display().lower()}: {doing} only while the provider is deployed.")


def _days(value) -> Decimal | None:
    try:
        days = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not days.is_finite() or days <= 0 or days != days.quantize(Decimal("0.1")):
        return None
    return days


@transaction.atomic
def log_work(*, actor: User, engagement: Engagement, day: date, person_days, activity: str) -> WorkLog:
    """The provider logs days worked; the total never exceeds the person-days booked for the engagement."""
    engagement = lock_engagement(engagement)
    if workflow.Role.PROVIDER not in engagement_roles_for(actor, engagement):
        raise PermissionDenied("Only the engaged provider's staff log work on this engagement.")
    _running(engagement, "work is logged")
    errors = {}
    days = _days(person_days)
    if days is None:
        errors["person_days"] = "Give the days worked as a positive number with at most one decimal (e.g. 1.5)."
    if not isinstance(day, date):
        errors["day"] = "Give the day worked (YYYY-MM-DD)."
    elif day > timezone.localdate():
        errors["day"] = "Work cannot be logged for a day in the future."
    if not (activity or "").strip():
        errors["activity"] = "Say what was done."
    if errors:
        raise ValidationError(errors)
    logged = engagement.work_logs.aggregate(n=Sum("person_days"))["n"] or Decimal("0")
    if logged + days > engagement.person_days:
        raise ValidationError({"person_days": (
            f"{logged} of the {engagement.person_days} booked person-days are already logged: {days} more would "
            "exceed the booking. Ask ENISA to book more capacity (a further engagement).")})
    entry = WorkLog.objects.create(engagement=engagement, day=day, person_days=days, activity=activity.strip(),
                                   logged_by=actor)
    audit.record(actor=actor, action="deployment.work_logged", obj=entry, organisation_code=engagement.provider.code,
                 after={"engagement": engagement.pk, "day": day, "person_days": str(days)})
    engagement_event("deployment.updated", engagement, actor=actor, payload={
        "update": "work", "work_log_id": entry.pk, "person_days": str(days), "logged": str(logged + days),
        "booked": engagement.person_days})
    return entry


@transaction.atomic
def post_update(*, actor: User, engagement: Engagement, text: str) -> DeploymentUpdate:
    """The requester or the engaged provider posts an update on the deployment."""
    engagement = lock_engagement(engagement)
    request = engagement.request
    is_requester = actor.memberships.filter(organisation_id=request.requester_organisation_id).exists()
    if not is_requester and workflow.Role.PROVIDER not in engagement_roles_for(actor, engagement):
        raise PermissionDenied("Only the requester and the engaged provider post updates on this deployment.")
    organisation = request.requester_organisation if is_requester else engagement.provider
    _running(engagement, "updates are posted")
    if not (text or "").strip():
        raise ValidationError({"text": "Write the update."})
    update = DeploymentUpdate.objects.create(engagement=engagement, author=actor, organisation=organisation,
                                             text=text.strip())
    audit.record(actor=actor, action="deployment.update_posted", obj=update, organisation_code=organisation.code,
                 after={"engagement": engagement.pk})
    engagement_event("deployment.updated", engagement, actor=actor,
                     payload={"update": "post", "update_id": update.pk, "by": organisation.code})
    return update


@transaction.atomic
def close_deployment(*, actor: User, request: AssistanceRequest) -> AssistanceRequest:
    """The support has ended: engagements complete, and the after-action report clock starts (CSoA Art. 16)."""
    request = lock(request)
    workflow.request_transition("close", status=request.status, roles=roles_for(actor, request))
    before = snapshot(request)
    now = timezone.now()
    completed = []
    for engagement in request.engagements.filter(status=EngagementStatus.ACCEPTED).select_related("provider__group"):
        workflow.engagement_transition("complete", status=engagement.status, roles={workflow.Role.SYSTEM})
        engagement.status, engagement.completed_at = EngagementStatus.COMPLETED, now
        engagement.save(update_fields=["status", "completed_at"])
        completed.append(engagement.provider.code)
    cancel_open_engagements(request, actor=actor, reason="The deployment was closed.")
    request.status, request.closed_at = RequestStatus.CLOSED, now
    touch(request, "status", "closed_at")
    deadline = start_report_clock(request)
    audit.record(actor=actor, action="deployment.closed", obj=request, before=before,
                 after={**snapshot(request), "completed": completed})
    requester = request.requester_organisation.group.name
    request_event("deployment.closed", request, actor=actor, providers=True, recipients=[requester],
                  payload={"report_due_at": deadline.due_at.isoformat()})
    notify(request.pk, [requester], "deployment.closed")
    return request


REPORT_FIELDS = {
    "service_provided": "Describe the service provided.",
    "results": "Describe the results.",
    "lessons_learned": "Give the lessons learned.",
}


@transaction.atomic
def submit_report(*, actor: User, request: AssistanceRequest, service_provided: str, results: str,
                  lessons_learned: str) -> AfterActionReport:
    """The user's summary report to the contracting authority and the Commission (CSoA Art. 16)."""
    request = lock(request)
    workflow.request_transition("report", status=request.status, roles=roles_for(actor, request))
    values = {"service_provided": service_provided, "results": results, "lessons_learned": lessons_learned}
    errors = {name: message for name, message in REPORT_FIELDS.items()
              if not isinstance(values[name], str) or not values[name].strip()}
    if errors:
        raise ValidationError(errors)
    before = snapshot(request)
    report = AfterActionReport.objects.create(request=request, submitted_by=actor,
                                              **{k: v.strip() for k, v in values.items()})
    request.status = RequestStatus.REPORTED
    touch(request, "status")
    meet_clock(request, Clock.AFTER_ACTION_REPORT)
    audit.record(actor=actor, action="report.submitted", obj=request, before=before,
                 after={**snapshot(request), "report_id": report.pk})
    # Not for providers: the report is the user's account to the contracting authority and the Commission.
    request_event("report.submitted", request, actor=actor, payload={"report_id": report.pk})
    return report
