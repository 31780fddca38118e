"""Reads of the network and the event log, with the permission rules applied."""

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from csoa_portal.models import ApiToken
from liaison.events import subject_url, visible_subject_ids
from liaison.models import Event, EventAudience, InboxCursor, MemberState, Membership, Organisation, User
from liaison.roles import Community, Role


def is_network_admin(user) -> bool:
    """ENISA's organisation admins (and superusers) administer the network."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or user.groups.filter(name=Community.NETWORK_ADMINS).exists()


def member_states() -> QuerySet[MemberState]:
    return MemberState.objects.order_by("code")


def organisations() -> QuerySet[Organisation]:
    return Organisation.objects.select_related("member_state").order_by("code")


def organisation_people(organisation: Organisation) -> QuerySet[User]:
    """The people of an organisation (service accounts excluded) with their roles prefetched."""
    return (
        User.objects.filter(memberships__organisation=organisation, is_service_account=False)
        .distinct()
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.filter(organisation=organisation),
                to_attr="roles_here",
            )
        )
        .order_by("full_name", "email")
    )


def memberships_of(user) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organisation__member_state").order_by("id")


def administered_organisations(user) -> QuerySet[Organisation]:
    """Organisations whose tokens the user may manage: their own as org admin; all for network admins."""
    if is_network_admin(user):
        return organisations()
    return organisations().filter(memberships__user=user, memberships__role=Role.ORG_ADMIN).distinct()


def tokens_of(organisation: Organisation) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(organisation=organisation).select_related("created_by", "revoked_by")


def events_visible_to(user, *, after: int = 0, limit: int = 100) -> tuple[list[Event], int]:
    """Events after ``after`` whose audience includes one of the user's groups, in id order.

    Each subject is re-checked (access revoked since the event was written means it is
    not shown). Returns the visible events and the last id scanned, so a client resumes
    after events it was not shown without missing any.
    """
    in_audience = EventAudience.objects.filter(
        event=OuterRef("pk"), group__in=user.groups.values("id")
    )
    scanned = list(
        Event.objects.filter(id__gt=after).filter(Exists(in_audience)).order_by("id")[:limit]
    )
    if not scanned:
        return [], after
    by_type: dict[str, set[str]] = {}
    for event in scanned:
        by_type.setdefault(event.subject_type, set()).add(event.subject_id)
    allowed = {t: visible_subject_ids(user, t, ids) for t, ids in by_type.items()}
    visible = [e for e in scanned if e.subject_id in allowed[e.subject_type]]
    return visible, scanned[-1].id


# Event kinds that are news for their recipients, shown in the dashboard inbox.
INBOX_KINDS = ("incident.shared", "report.requested", "alert.raised", "alert.reminder", "alert.unanswered",
               "deadline.reminder", "deadline.overdue")
INBOX_SCAN = 300


def inbox_for(user, *, limit: int = 20) -> tuple[list[Event], int]:
    """The newest items addressed to the user, and how many of them are unread.

    An item is addressed to the user when its payload names one of their groups as a
    new recipient (``recipient_groups``), so the sharer's own people are not told.
    """
    cursor = InboxCursor.objects.filter(user=user).values_list("last_read_event_id", flat=True).first() or 0
    names = set(user.groups.values_list("name", flat=True))
    in_audience = EventAudience.objects.filter(event=OuterRef("pk"), group__in=user.groups.values("id"))
    candidates = list(
        Event.objects.filter(kind__in=INBOX_KINDS)
        .filter(Exists(in_audience))
        .select_related("actor")
        .order_by("-id")[:INBOX_SCAN]
    )
    addressed = [e for e in candidates if names & set(e.payload.get("recipient_groups", []))]
    by_type: dict[str, set[str]] = {}
    for event in addressed:
        by_type.setdefault(event.subject_type, set()).add(event.subject_id)
    allowed = {t: visible_subject_ids(user, t, ids) for t, ids in by_type.items()}
    items = [e for e in addressed if e.subject_id in allowed[e.subject_type]]
    for item in items:
        item.unread = item.id > cursor
        item.url = subject_url(item.subject_type, item.subject_id)
    return items[:limit], sum(1 for item in items if item.unread)


def organisations_in_groups(names) -> list[Organisation]:
    """The active organisations behind group names: org:, ms: (its authorities), role:, community:."""
    from liaison.roles import MEMBER_STATE_AUTHORITY_KINDS, communities_for

    names = set(names)
    found: dict[int, Organisation] = {}
    candidates = list(organisations().filter(is_active=True))
    for org in candidates:
        ms = org.member_state
        if f"org:{org.code}" in names:
            found[org.pk] = org
        elif ms is not None and f"ms:{ms.code}" in names and org.kind in MEMBER_STATE_AUTHORITY_KINDS:
            found[org.pk] = org
        elif names & communities_for(kind=org.kind, member_state_kind=ms.kind if ms else None):
            found[org.pk] = org
    roles = [n.removeprefix("role:") for n in names if n.startswith("role:")]
    if roles:
        for org in organisations().filter(is_active=True, memberships__role__in=roles).distinct():
            found[org.pk] = org
    return sorted(found.values(), key=lambda o: o.code)
