"""Who may do what in the network itself: one answer per intent, asked by services, pages, API and admin.

The incidents and the Reserve have their own policies (``incidents.policy``,
``reserve.policy``); this one covers the network's administration and its API tokens, and the rule
they all start from: which organisations a person acts and reads for (``acting_memberships``).
"""

from django.db.models import QuerySet

from liaison.models import Membership
from liaison.roles import Community, Role


def acting_memberships(user) -> QuerySet[Membership]:
    """The memberships a person acts and reads through: those of active organisations.

    A deactivated organisation keeps its history, but nobody acts or reads for it: its people lose its
    groups (``liaison.groups``), and every policy that asks which organisations a person belongs to asks
    here, so a membership of it opens nothing (tests/security/test_deactivated_organisation.py).
    """
    if not getattr(user, "is_authenticated", False):
        return Membership.objects.none()
    return Membership.objects.filter(user=user, organisation__is_active=True)


def acting_organisation_ids(user, *, roles=None) -> QuerySet:
    """The ids of the organisations a person acts for (with one of ``roles``, if given), as a subquery:
    ``organisation__in=acting_organisation_ids(user)`` filters on it in the same query."""
    memberships = acting_memberships(user)
    if roles is not None:
        memberships = memberships.filter(role__in=list(roles))
    return memberships.values("organisation_id")


def acts_through(membership: Membership) -> bool:
    """``acting_memberships``'s rule for a membership already loaded (with its organisation)."""
    return membership.organisation.is_active


def is_network_admin(user) -> bool:
    """ENISA's organisation admins (and superusers) administer the network."""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.is_superuser or user.groups.filter(name=Community.NETWORK_ADMINS).exists()


def administered_organisations(memberships) -> list:
    """The organisations whose people and tokens the person administers, from their loaded memberships (of active
    organisations only: ``acting_memberships``)."""
    return [m.organisation for m in memberships if m.role == Role.ORG_ADMIN and acts_through(m)]


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
    return acting_memberships(actor).filter(organisation=organisation, role=Role.ORG_ADMIN).exists()


# --- Exercises --------------------------------------------------------------------------------

EXERCISE_MANAGER_ROLES = frozenset({Role.CRISIS_MANAGER, Role.ORG_ADMIN})


def exercise_owner_organisations(user) -> list:
    """The organisations this person may run exercises for: ENISA (any kind of exercise), or a national
    authority (national drills), where they are a crisis manager or organisation admin."""
    from liaison.roles import MEMBER_STATE_AUTHORITY_KINDS, OrganisationKind

    if not getattr(user, "is_authenticated", False) or user.is_service_account:
        return []
    kinds = MEMBER_STATE_AUTHORITY_KINDS | {OrganisationKind.ENISA}
    return [m.organisation for m in acting_memberships(user).filter(
        role__in=EXERCISE_MANAGER_ROLES, organisation__kind__in=kinds,
    ).select_related("organisation__member_state").order_by("organisation__code")]


def may_create_exercises(user) -> bool:
    return bool(exercise_owner_organisations(user))


def may_manage_exercise(user, exercise) -> bool:
    """Edit, archive, delete: crisis managers and organisation admins of the organisation that runs it."""
    if not getattr(user, "is_authenticated", False):
        return False
    return acting_memberships(user).filter(organisation_id=exercise.organisation_id,
                                           role__in=EXERCISE_MANAGER_ROLES).exists()


def takes_part(user, exercise) -> bool:
    """A person works in an exercise when one of their organisations participates and it is not archived."""
    if not getattr(user, "is_authenticated", False) or exercise.status == exercise.Status.ARCHIVED:
        return False
    return acting_memberships(user).filter(organisation__in=exercise.participants.all()).exists()
