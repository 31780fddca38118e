from liaison.policy import is_network_admin
from liaison.selectors import memberships_of


def network(request):
    """The signed-in person's organisations and roles, for navigation and the page header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(memberships_of(user))
    roles = {m.role for m in memberships}
    return {
        "my_memberships": memberships,
        "my_roles": roles,
        "my_organisation": memberships[0].organisation if memberships else None,
        "is_network_admin": is_network_admin(user),
        "is_org_admin": "org_admin" in roles,
    }
