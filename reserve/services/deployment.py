"""The deployment: the specific agreement, work logged against the booking, updates, closing, the summary report."""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from csoa_portal import audit
from liaison.models import User
from liaison.policy import acting_memberships
from reserve import workflow
from reserve.models import AfterActionReport, AssistanceRequest, DeploymentUpdate, Engagement, WorkLog
from reserve import policy
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


AGREEMENT_TEMPLATE_MAX = 100


@transaction.atomic
def confirm_agreement(*, actor: User, engagement: Engagement, template_reference: str, agreement_date,
                      liability_accepted: bool) -> Engagement:
    """The provider or the user confirms the specific agreement of the support (CSoA Art. 16).

    After the provider accepted and before any work, each side confirms once that the specific
    agreement on ENISA's template is concluded, with its liability terms accepted and its date;
    the second confirmation must name the same template and date as the first. Work can be
    logged only once both confirmed (``reserve.policy.may_log_work``).
    """
    engagement = lock_engagement(engagement)
    request = engagement.request
    roles = engagement_roles_for(actor, engagement)
    workflow.engagement_transition("confirm_agreement", status=engagement.status, roles=roles)
    if request.status != RequestStatus.DEPLOYED:
        raise workflow.TransitionRefused(
            f"This request is {request.get_status_display().lower()}: the specific agreement is confirmed only while "
            "the provider is deployed, before the work starts (CSoA Art. 16).")
    pending = policy.agreement_sides_pending(roles, engagement)
    if not pending:
        raise workflow.TransitionRefused(
            "Your side already confirmed the specific agreement of this engagement (CSoA Art. 16).")
    errors = {}
    reference = (template_reference or "").strip() if isinstance(template_reference, str) else ""
    if not reference:
        errors["template_reference"] = "Give the reference of ENISA's specific-agreement template used (CSoA Art. 16)."
    elif len(reference) > AGREEMENT_TEMPLATE_MAX:
        errors["template_reference"] = f"The template reference has at most {AGREEMENT_TEMPLATE_MAX} characters."
    if not isinstance(agreement_date, date):
        errors["agreement_date"] = "Give the date of the specific agreement (YYYY-MM-DD)."
    elif agreement_date > timezone.localdate():
        errors["agreement_date"] = "The specific agreement cannot be dated in the future: confirm it once concluded."
    elif request.decided_at and agreement_date < timezone.localdate(request.decided_at):
        errors["agreement_date"] = "The specific agreement follows the approval of the request (CSoA Art. 16): it " \
                                   f"cannot be dated before {timezone.localdate(request.decided_at)}."
    if liability_accepted is not True:
        errors["liability_accepted"] = "Accept the liability terms of the specific agreement to confirm it (CSoA Art. 16)."
    if not errors and engagement.agreement_template and (
            engagement.agreement_template, engagement.agreement_date) != (reference, agreement_date):
        first = "the provider" if engagement.provider_agreed_at else "the user (requester)"
        errors["template_reference"] = (
            f"{first.capitalize()} confirmed the agreement on template {engagement.agreement_template} dated "
            f"{engagement.agreement_date}: confirm the same agreement (CSoA Art. 16).")
    if errors:
        raise ValidationError(errors)
    before = _agreement_snapshot(engagement)
    now = timezone.now()
    engagement.agreement_template, engagement.agreement_date = reference, agreement_date
    for role in pending:  # a person holds one side (a provider is never the requester); each side confirms once
        side = policy.AGREEMENT_SIDES[role]
        setattr(engagement, side, now)
        setattr(engagement, side.replace("_at", "_by"), actor)
    engagement.save(update_fields=["agreement_template", "agreement_date", "provider_agreed_at", "provider_agreed_by",
                                   "user_agreed_at", "user_agreed_by"])
    sides = [policy.AGREEMENT_SIDE_LABELS[r] for r in pending]
    organisation = engagement.provider if workflow.Role.PROVIDER in pending else request.requester_organisation
    audit.record(actor=actor, action="engagement.agreement_confirmed", obj=engagement,
                 organisation_code=organisation.code, before=before,
                 after={**_agreement_snapshot(engagement), "liability_accepted": True, "by": sides})
    engagement_event("engagement.agreement_confirmed", engagement, actor=actor, payload={
        "by": [r.value for r in pending], "template_reference": reference, "agreement_date": agreement_date.isoformat(),
        "in_force": engagement.agreement_in_force,
    }, recipients=[engagement.provider.group.name, request.requester_organisation.group.name])
    return engagement


def _agreement_snapshot(engagement: Engagement) -> dict:
    return audit.snapshot(engagement, fields=["agreement_template", "agreement_date", "provider_agreed_at",
                                              "user_agreed_at"])


@transaction.atomic
def log_work(*, actor: User, engagement: Engagement, day: date, person_days, activity: str) -> WorkLog:
    """The provider logs days worked; the total never exceeds the person-days booked for the engagement."""
    engagement = lock_engagement(engagement)
    if workflow.Role.PROVIDER not in engagement_roles_for(actor, engagement):
        raise PermissionDenied("Only the engaged provider's staff log work on this engagement.")
    _running(engagement, "work is logged")
    if not policy.may_log_work(actor, engagement):
        waiting = " and ".join(label for role, label in policy.AGREEMENT_SIDE_LABELS.items()
                               if getattr(engagement, policy.AGREEMENT_SIDES[role]) is None)
        raise workflow.TransitionRefused(
            "Work cannot be logged before the provider and the user have both confirmed the specific agreement "
            f"(CSoA Art. 16): waiting for {waiting}.")
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
    is_requester = acting_memberships(actor).filter(organisation_id=request.requester_organisation_id).exists()
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
