"""Who may do what in the network itself: one answer per intent, asked by services, pages, API and admin.

The incidents and the Reserve have their own policies (``incidents.policy``,
``reserve.policy``); this one covers the network's administration and its API tokens.
"""

from liaison.models import Membership
from liaison.roles import Community, Role


def is_network_admin(user) -> bool:
    """ENISA's organisation admins (and superusers) administer the network."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or user.groups.filter(name=Community.NETWORK_ADMINS).exists()


def administered_organisations(memberships) -> list:
    """The organisations whose people and tokens the person administers, from their loaded memberships."""
    return [m.organisation for m in memberships if m.role == Role.ORG_ADMIN]


def may_issue_token(actor, organisation) -> bool:
    """A person mints tokens only for organisations they are an organisation admin of.

    Being a network admin is not enough: a token acts as the organisation and reads what it
    may read (its unshared TLP:AMBER+STRICT incidents too), which no other organisation may.
    Operators with server access use ``manage.py issue_token`` (``actor=None``).
    """
    if actor is None:
        return True  # the system or an operator at the command line
    if not getattr(actor, "is_authenticated", False) or not actor.is_active or actor.is_service_account:
        return False
    return Membership.objects.filter(user=actor, organisation=organisation, role=Role.ORG_ADMIN).exists()
