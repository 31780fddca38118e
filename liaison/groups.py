"""Derive each person's Django groups from their memberships.

Groups are how every later permission is granted (guardian object permissions to
groups, event audiences), so they are recomputed from memberships in one place and
never edited by hand.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from liaison.models import Organisation
from liaison.policy import acting_memberships
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

# What network admins may do beyond the portal pages: browse the audit log and use the
# Django admin for the network. Superuser powers stay out (the user admin keeps
# is_superuser, groups and permissions read-only for non-superusers).
NETWORK_ADMIN_PERMISSIONS = {
    "csoa_portal": ["browse_audit", "view_auditentry", "view_apitoken"],
    "liaison": [
        "view_memberstate", "add_memberstate", "change_memberstate",
        "view_organisation", "add_organisation", "change_organisation",
        "view_user", "add_user", "change_user",
        "view_membership", "add_membership", "change_membership", "delete_membership",
        "view_event", "view_exercise",
    ],
    "otp_totp": ["view_totpdevice", "delete_totpdevice"],
    # ENISA registers Reserve providers; requests change only through their workflow.
    "reserve": [
        "view_providerprofile", "change_providerprofile",
        "view_providercapacity", "add_providercapacity", "change_providercapacity", "delete_providercapacity",
        "view_assistancerequest", "view_engagement", "view_reservedeadline",
    ],
}


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
    memberships = acting_memberships(user).select_related(
        "organisation__member_state"
    )
    for membership in memberships:
        names |= groups_for_organisation(membership.organisation)
        names.add(role_group_name(membership.role))
        if membership.role == Role.ORG_ADMIN and membership.organisation.kind == "enisa":
            names.add(Community.NETWORK_ADMINS)
    return names


def grant_network_admin_permissions() -> None:
    """Give the network-admins group its permissions; idempotent, so any code path may call it.

    Called whenever someone joins the group (and by load_demo and the post_migrate hook),
    so the permission exists on every database without relying on one set-up step.
    Permissions not created yet (before post_migrate) are skipped and added next time.
    """
    group, _ = Group.objects.get_or_create(name=Community.NETWORK_ADMINS)
    wanted = Q(pk__in=[])
    for app_label, codenames in NETWORK_ADMIN_PERMISSIONS.items():
        wanted |= Q(content_type__app_label=app_label, codename__in=codenames)
    missing = Permission.objects.filter(wanted).exclude(group=group)
    if missing.exists():
        group.permissions.add(*missing)


def sync_user_groups(user) -> None:
    """Make the user's managed groups exactly those their memberships imply."""
    wanted = expected_group_names(user)
    current = dict(user.groups.values_list("name", "id"))
    to_add = wanted - current.keys()
    # Only the groups the user lacks are looked up (and created when new): one query, not one per name.
    add_ids = dict(Group.objects.filter(name__in=to_add).values_list("name", "id"))
    for name in to_add - add_ids.keys():
        add_ids[name] = Group.objects.get_or_create(name=name)[0].id
    managed_current = {n for n in current if n.startswith(MANAGED_PREFIXES) or n == Community.NETWORK_ADMINS}
    to_remove = managed_current - wanted
    if Community.NETWORK_ADMINS in to_add:
        grant_network_admin_permissions()
    if to_remove:
        user.groups.remove(*[current[name] for name in to_remove])
    if to_add:
        user.groups.add(*add_ids.values())
