"""What every Reserve service shares: locking, grants, the version counter, events, e-mail dispatch."""


from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from csoa_portal import audit
from liaison.events import Audience, record_event
from liaison.models import Organisation
from liaison.policy import acting_memberships
from reserve import policy
from reserve.models import AssistanceRequest, AssistanceRequestGroupObjectPermission, Engagement
from reserve.selectors import VIEW, audience_group_names, engagement_audience_names


# What the audit log keeps of a request (content included: the audit log is ENISA's, behind the login).
SNAPSHOT_FIELDS = [
    "requester_organisation", "spoc_organisation", "status", "affected_entity", "entity_type", "sector", "incidents",
    "impact_description", "impact_level", "planned_use", "services", "person_days", "window_start", "window_end",
    "mitigation_measures", "measures_level", "measures_confirmed", "other_support", "urgency", "languages",
    "spill_over_risk", "security_clearance",
]


def snapshot(request: AssistanceRequest) -> dict:
    return audit.snapshot(request, fields=SNAPSHOT_FIELDS)


def lock(request: AssistanceRequest) -> AssistanceRequest:
    """Re-read the request under a row lock: transitions of one request are serialised."""
    # of=("self",): PostgreSQL cannot lock the nullable side of an outer join.
    return (
        AssistanceRequest.objects.select_for_update(of=("self",))
        .select_related("requester_organisation__member_state", "requester_organisation__group",
                        "spoc_organisation__group", "sector")
        .get(pk=request.pk)
    )


def lock_engagement(engagement: Engagement) -> Engagement:
    return (
        Engagement.objects.select_for_update(of=("self",))
        .select_related("provider__group", "provider__member_state")
        .get(pk=engagement.pk)
    )


def touch(request: AssistanceRequest, *fields: str) -> None:
    """Save the changed fields and move the version on (the API's ETag)."""
    request.version += 1
    request.updated_at = timezone.now()
    request.save(update_fields=[*fields, "version", "updated_at"])


def acting_membership(actor, organisation: Organisation):
    membership = acting_memberships(actor).filter(organisation=organisation).first()
    if membership is None:
        raise PermissionDenied(f"You do not act for {organisation.code}.")
    return membership


# --- Grants (guardian, direct foreign key) -----------------------------------------------------

def _view_permission() -> Permission:
    return Permission.objects.get(codename=VIEW, content_type__app_label="reserve")


def grant(request: AssistanceRequest, groups) -> None:
    view = _view_permission()
    AssistanceRequestGroupObjectPermission.objects.bulk_create(
        [AssistanceRequestGroupObjectPermission(permission=view, group=g, content_object=request) for g in groups],
        ignore_conflicts=True,
    )


def revoke(request: AssistanceRequest, group: Group) -> None:
    AssistanceRequestGroupObjectPermission.objects.filter(
        content_object=request, group=group, permission=_view_permission()).delete()


def authority_groups() -> list[Group]:
    """Who sees every request that reached the contracting authority: ``reserve.policy``'s authority side."""
    names = policy.authority_side_group_names()
    groups = [Group.objects.get_or_create(name=names[0])[0]]  # the triage role group, even before anyone holds it
    return groups + list(Group.objects.filter(name__in=names[1:]).order_by("name"))


# --- Events --------------------------------------------------------------------------------------

def request_payload(request: AssistanceRequest, **extra) -> dict:
    """What request events carry: the reference, the requester and the state, never the content."""
    return {"reference": request.reference, "requester": request.requester_organisation.code,
            "status": request.status, **extra}


def request_event(kind: str, request: AssistanceRequest, *, actor, payload: dict | None = None,
                  providers: bool = False, recipients=()) -> None:
    """An event about the request for everyone granted it (engaged providers only with ``providers``).

    ``recipients`` (group names) are the ones told in their inbox.
    """
    groups = set(audience_group_names(request, providers=providers))
    payload = request_payload(request, **(payload or {}))
    if recipients:
        payload["recipient_groups"] = sorted(recipients)
        groups |= set(recipients)
    record_event(kind=kind, subject=request, subject_type="assistance_request", actor=actor, payload=payload,
                 audience=Audience(groups=sorted(groups)))


def engagement_event(kind: str, engagement: Engagement, *, actor, payload: dict | None = None,
                     recipients=()) -> None:
    """An event about one engagement: its provider and the request's audience, never another provider."""
    request = engagement.request
    body = {"reference": request.reference, "request_id": request.pk, "provider": engagement.provider.code,
            "status": engagement.status, **(payload or {})}
    if recipients:
        body["recipient_groups"] = sorted(recipients)
    record_event(kind=kind, subject=engagement, subject_type="engagement", actor=actor, payload=body,
                 audience=Audience(groups=engagement_audience_names(engagement)))


def notify(request_id: int, group_names, kind: str, *, engagement_id: int | None = None, key: str = "") -> None:
    """E-mail the people of ``group_names`` (reference and link only).

    Written to the outbox in the caller's transaction and sent after its commit
    (csoa_portal/outbox.py): a lost task or a Redis crash delays the e-mail, never loses it.
    """
    from reserve.notifications import email_about_request

    email_about_request(request_id=request_id, group_names=sorted(set(group_names)), kind=kind,
                        engagement_id=engagement_id, key=key)
