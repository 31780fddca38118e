"""Infrastructure signal handlers (never domain flow, STYLE.md).

``ensure_network_admin_permissions`` runs after ``migrate`` so that an existing database
whose network admins joined before a permission existed gets it too. The same grant
also happens whenever someone joins network-admins (liaison.groups.sync_user_groups),
which alone covers fresh databases; this hook (connected in LiaisonConfig.ready)
covers upgrades.
"""

from liaison.groups import grant_network_admin_permissions


def ensure_network_admin_permissions(sender, using="default", **kwargs):
    grant_network_admin_permissions()
