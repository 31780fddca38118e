"""Derive each person's Django groups from their memberships.

Groups are how every later permission is granted (guardian object permissions to
groups, event audiences), so they are recomputed from memberships in one place and
never edited by hand.
"""

from django.contrib.auth.models import Group

from liaison.models import Membership, Organisation
from liaison.roles import (
    MEMBER_STATE_AUTHORITY_KINDS,
    Community,
    Role,
    communities_for,
    member_state_group_name,
    org_group_name,
    role_group_name,
)

MANAGED_PREFIXES = ("org:", "ms:", "role:", "community:")


def groups_for_organisation(organisation: Organisation) -> set[str]:
    """Groups every member of this organisation belongs to, whatever their role."""
    names = {org_group_name(organisation.code)}
    ms = organisation.member_state
    if ms is not None and organisation.kind in MEMBER_STATE_AUTHORITY_KINDS:
        names.add(member_state_group_name(ms.code))
    names |= communities_for(kind=organisation.kind, member_state_kind=ms.kind if ms else None)
    return names


def expected_group_names(user) -> set[str]:
    names: set[str] = set()
    memberships = Membership.objects.filter(user=user, organisation__is_active=True).select_related(
        "organisation__member_state"
    )
    for membership in memberships:
        names |= groups_for_organisation(membership.organisation)
        names.add(role_group_name(membership.role))
        if membership.role == Role.ORG_ADMIN and membership.organisation.kind == "enisa":
            names.add(Community.NETWORK_ADMINS)
    return names


def sync_user_groups(user) -> None:
    """Make the user's managed groups exactly those their memberships imply."""
    wanted = expected_group_names(user)
    for name in wanted:
        Group.objects.get_or_create(name=name)
    current = set(user.groups.values_list("name", flat=True))
    managed_current = {n for n in current if n.startswith(MANAGED_PREFIXES) or n == Community.NETWORK_ADMINS}
    to_remove = managed_current - wanted
    to_add = wanted - current
    if to_remove:
        user.groups.remove(*Group.objects.filter(name__in=to_remove))
    if to_add:
        user.groups.add(*Group.objects.filter(name__in=to_add))
