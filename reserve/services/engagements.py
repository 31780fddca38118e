"""Engaging providers on approved requests; their answers; the next provider on a decline or time-out."""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from csoa_portal import audit
from liaison.events import Audience, record_event
from liaison.exercise_time import deadline, scale_of
from liaison.models import Organisation, User
from liaison.roles import role_group_name
from liaison.roles import Role as NetworkRole
from reserve import matching, workflow
from reserve.models import AssistanceRequest, Engagement, ProviderProfile
from reserve.policy import engagement_roles_for, offer_roles
from reserve.selectors import candidates_for, need_for, tried_providers
from reserve.services.common import (
    authority_groups,
    engagement_event,
    grant,
    lock,
    lock_engagement,
    notify,
    request_payload,
    revoke,
    touch,
)
from reserve.services.deadlines import meet_clock, start_provider_clock
from reserve.vocabulary import Clock, normalise_services
from reserve.workflow import EngagementStatus, RequestStatus

TRIAGE_GROUP = role_group_name(NetworkRole.ENISA_TRIAGE)


def _engagement_snapshot(engagement: Engagement) -> dict:
    return audit.snapshot(engagement, fields=["request", "provider", "status", "services", "person_days",
                                              "window_start", "window_end", "rank", "respond_by", "decline_reason"])


def _share(request: AssistanceRequest, *, services, person_days, window_start, window_end) -> dict:
    """This engagement's part of the request: by default all of it."""
    errors = {}
    try:
        services = normalise_services(services) if services is not None else list(request.services)
    except ValueError as exc:
        errors["services"] = str(exc)
        services = []
    if services and not set(services) <= set(request.services):
        errors["services"] = "Engage a provider only for services the request asks for."
    person_days = request.person_days if person_days is None else person_days
    if isinstance(person_days, bool) or not isinstance(person_days, int) or person_days < 1:
        errors["person_days"] = "Book a whole number of person-days (at least 1)."
    window_start = window_start or request.window_start
    window_end = window_end or request.window_end
    if not isinstance(window_start, date) or not isinstance(window_end, date):
        errors["window_start"] = "The engagement needs a window (the request's by default)."
    elif window_end < window_start:
        errors["window_end"] = "The window ends before it starts."
    if errors:
        raise ValidationError(errors)
    return {"services": services, "person_days": person_days, "window_start": window_start, "window_end": window_end}


def _offer(request: AssistanceRequest, provider: Organisation, *, actor: User | None, share: dict) -> Engagement:
    """Check the provider against the matching rules for this share, book it, and ask it."""
    profile = (
        ProviderProfile.objects.select_for_update(of=("self",)).filter(organisation=provider).first()
    )  # locking the profile serialises bookings of one provider: no two offers overbook it
    if profile is None:
        raise ValidationError({"provider": f"{provider.name} is not a registered Reserve provider."})
    existing = request.engagements.filter(provider=provider).first()
    if existing is not None:
        raise ValidationError({"provider": f"{provider.name} was already engaged on this request "
                                           f"({existing.get_status_display().lower()}); it is not asked twice."})
    need = need_for(request, services=share["services"], person_days=share["person_days"],
                    window_start=share["window_start"], window_end=share["window_end"])
    ranking = matching.rank(need, candidates_for(share["window_start"]))
    excluded = next((e for e in ranking.excluded if e.provider == provider.code), None)
    if excluded is not None:
        raise ValidationError({"provider": f"{provider.name} cannot be engaged ({excluded.code}): {excluded.reason}"})
    ranked = next(r for r in ranking.ranked if r.provider == provider.code)
    now = timezone.now()
    engagement = Engagement.objects.create(
        request=request, provider=provider, status=EngagementStatus.OFFERED, services=share["services"],
        person_days=share["person_days"], window_start=share["window_start"], window_end=share["window_end"],
        rank=ranked.rank, reasons=list(ranked.reasons), offered_by=actor, offered_at=now,
        respond_by=deadline(now, timedelta(hours=profile.response_hours), scale=scale_of(request)),
    )
    grant(request, [provider.group])  # from now on (not before) the provider sees the request
    start_provider_clock(engagement)
    audit.record(actor=actor, action="provider.engaged", obj=engagement, organisation_code=provider.code,
                 after=_engagement_snapshot(engagement))
    engagement_event("provider.engaged", engagement, actor=actor, recipients=[provider.group.name], payload={
        "rank": ranked.rank, "respond_by": engagement.respond_by.isoformat(), "proposed_by_portal": actor is None})
    notify(request.pk, [provider.group.name], "provider.engaged", engagement_id=engagement.pk)
    return engagement


@transaction.atomic
def engage_provider(*, actor: User, request: AssistanceRequest, provider: Organisation, services=None,
                    person_days: int | None = None, window_start: date | None = None,
                    window_end: date | None = None) -> Engagement:
    """ENISA engages a provider (one of several, if need be) on an approved request.

    Refused, with nothing changed, when the provider is excluded for this share of the need:
    not certified for the whole window, not enough free capacity, a declared conflict of
    interest, no requested service, member state or language not covered, inactive.
    """
    request = lock(request)
    workflow.engagement_transition("offer", status="", roles=offer_roles(actor))
    if request.status not in workflow.REQUEST_STATES_FOR_OFFER:
        raise workflow.TransitionRefused(
            f"This request is {request.get_status_display().lower()}: providers are engaged only on approved requests.")
    share = _share(request, services=services, person_days=person_days, window_start=window_start,
                   window_end=window_end)
    return _offer(request, provider, actor=actor, share=share)


def _respond(actor: User | None, engagement: Engagement, action: str, roles) -> tuple[Engagement, AssistanceRequest]:
    engagement = lock_engagement(engagement)
    request = lock(engagement.request)
    engagement.request = request
    workflow.engagement_transition(action, status=engagement.status, roles=roles)
    return engagement, request


@transaction.atomic
def accept_engagement(*, actor: User, engagement: Engagement) -> Engagement:
    """The provider accepts: it is deployed, and the request with it if it was the first."""
    engagement, request = _respond(actor, engagement, "accept", engagement_roles_for(actor, engagement))
    before = _engagement_snapshot(engagement)
    engagement.status, engagement.responded_at, engagement.responded_by = (
        EngagementStatus.ACCEPTED, timezone.now(), actor)
    engagement.save(update_fields=["status", "responded_at", "responded_by"])
    meet_clock(request, Clock.PROVIDER_RESPONSE, engagement=engagement)
    if request.status == RequestStatus.APPROVED:
        workflow.request_transition("deploy", status=request.status, roles={workflow.Role.PROVIDER})
        request.status = RequestStatus.DEPLOYED
        touch(request, "status")
    audit.record(actor=actor, action="engagement.accepted", obj=engagement, before=before,
                 after=_engagement_snapshot(engagement))
    engagement_event("engagement.accepted", engagement, actor=actor,
                     recipients=[TRIAGE_GROUP, request.requester_organisation.group.name])
    return engagement


def _close_offer(engagement: Engagement, request: AssistanceRequest, *, status: str, actor: User | None,
                 reason: str = "") -> None:
    engagement.status, engagement.responded_at, engagement.responded_by = status, timezone.now(), actor
    engagement.decline_reason = reason
    engagement.save(update_fields=["status", "responded_at", "responded_by", "decline_reason"])
    meet_clock(request, Clock.PROVIDER_RESPONSE, engagement=engagement)
    revoke(request, engagement.provider.group)  # no longer engaged: no longer sees the request


@transaction.atomic
def decline_engagement(*, actor: User, engagement: Engagement, reason: str) -> Engagement:
    """The provider declines, saying why; the next ranked provider is proposed at once."""
    engagement, request = _respond(actor, engagement, "decline", engagement_roles_for(actor, engagement))
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the engagement is declined."})
    before = _engagement_snapshot(engagement)
    _close_offer(engagement, request, status=EngagementStatus.DECLINED, actor=actor, reason=reason.strip())
    audit.record(actor=actor, action="engagement.declined", obj=engagement, before=before,
                 after=_engagement_snapshot(engagement))
    engagement_event("engagement.declined", engagement, actor=actor, recipients=[TRIAGE_GROUP])
    propose_next(request, after=engagement)
    return engagement


def time_out_engagement(*, engagement: Engagement) -> Engagement:
    """The sweep: the provider did not answer within its committed response time; propose the next one."""
    engagement, request = _respond(None, engagement, "expire", {workflow.Role.SYSTEM})
    before = _engagement_snapshot(engagement)
    _close_offer(engagement, request, status=EngagementStatus.EXPIRED, actor=None)
    audit.record(actor=None, action="engagement.expired", obj=engagement, organisation_code=engagement.provider.code,
                 before=before, after=_engagement_snapshot(engagement))
    engagement_event("engagement.expired", engagement, actor=None, recipients=[TRIAGE_GROUP],
                     payload={"respond_by": engagement.respond_by.isoformat()})
    propose_next(request, after=engagement)
    return engagement


@transaction.atomic
def cancel_engagement(*, actor: User, engagement: Engagement, reason: str) -> Engagement:
    """ENISA withdraws an offer the provider has not answered yet (no next provider is proposed)."""
    engagement, request = _respond(actor, engagement, "cancel", engagement_roles_for(actor, engagement))
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the offer is cancelled."})
    before = _engagement_snapshot(engagement)
    _close_offer(engagement, request, status=EngagementStatus.CANCELLED, actor=actor, reason=reason.strip())
    audit.record(actor=actor, action="engagement.cancelled", obj=engagement, before=before,
                 after=_engagement_snapshot(engagement))
    engagement_event("engagement.cancelled", engagement, actor=actor, recipients=[engagement.provider.group.name])
    return engagement


def cancel_open_engagements(request: AssistanceRequest, *, actor: User | None, reason: str) -> None:
    """Offers still unanswered when the request is withdrawn or its deployment closes."""
    for engagement in request.engagements.filter(status=EngagementStatus.OFFERED).select_related("provider__group"):
        engagement.request = request
        workflow.engagement_transition("cancel", status=engagement.status, roles={workflow.Role.SYSTEM})
        before = _engagement_snapshot(engagement)
        _close_offer(engagement, request, status=EngagementStatus.CANCELLED, actor=actor, reason=reason)
        audit.record(actor=actor, action="engagement.cancelled", obj=engagement, before=before,
                     after=_engagement_snapshot(engagement))
        engagement_event("engagement.cancelled", engagement, actor=actor,
                         recipients=[engagement.provider.group.name])


def propose_next(request: AssistanceRequest, *, after: Engagement) -> Engagement | None:
    """Offer the declined or timed-out share to the best-ranked provider not asked yet.

    When nobody is left, ENISA triage is told (``matching.exhausted``) to widen the need.
    """
    if request.status not in workflow.REQUEST_STATES_FOR_OFFER:
        return None
    share = {"services": after.services, "person_days": after.person_days, "window_start": after.window_start,
             "window_end": after.window_end}
    need = need_for(request, **share)
    ranking = matching.rank(need, candidates_for(after.window_start))
    following = ranking.next_after(tried_providers(request))
    if following is None:
        record_event(kind="matching.exhausted", subject=request, subject_type="assistance_request", payload={
            **request_payload(request), "recipient_groups": [TRIAGE_GROUP], "after": after.provider.code},
            audience=Audience(groups=[g.name for g in authority_groups()]))
        return None
    provider = Organisation.objects.select_related("group").get(code=following.provider)
    return _offer(request, provider, actor=None, share=share)


def check_provider_staff(actor: User, engagement: Engagement) -> None:
    if workflow.Role.PROVIDER not in engagement_roles_for(actor, engagement):
        raise PermissionDenied("Only the engaged provider's staff may do this.")
