"""Infrastructure signal handlers (never domain flow, STYLE.md).

``ensure_network_admin_permissions`` runs after ``migrate`` so that an existing database
whose network admins joined before a permission existed gets it too. The same grant
also happens whenever someone joins network-admins (liaison.groups.sync_user_groups),
which alone covers fresh databases; this hook (connected in LiaisonConfig.ready)
covers upgrades.

``announce_group_membership_change`` (connected to ``m2m_changed`` of ``User.groups``) tells
the live stream that a user's groups changed, so open websockets follow new grants at once.
"""

from liaison.groups import grant_network_admin_permissions


def ensure_network_admin_permissions(sender, using="default", **kwargs):
    grant_network_admin_permissions()


def announce_group_membership_change(sender, instance, action, reverse, pk_set, **kwargs):
    """``m2m_changed`` on ``User.groups``: live connections of the users concerned re-read their groups.

    Infrastructure, like a cache invalidation: every grant by group membership (memberships
    synced by liaison.groups, a person share's personal group, the admin) passes here, so the
    websocket follows it without each of those writes having to know about the stream.
    """
    from liaison.events import announce_group_changes

    if action not in ("post_add", "post_remove", "pre_clear", "post_clear"):
        return
    if action in ("post_add", "post_remove") and not pk_set:
        return  # nothing actually changed
    if not reverse:  # user.groups.add(...): the user is the instance
        if action != "pre_clear":
            announce_group_changes([instance.pk])
    elif action == "pre_clear":  # group.user_set.clear(): who was in it is known only before
        announce_group_changes(instance.user_set.values_list("pk", flat=True))
    elif action != "post_clear":
        announce_group_changes(pk_set or ())
