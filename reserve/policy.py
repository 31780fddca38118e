"""Who may see and do what in the Reserve: the one door every page, API view, template and service asks.

A person's (or a token's service account's) answer is read from their memberships in one
query and kept on the user object for the life of the HTTP request (``seats``):

- ``capabilities(user)`` — one frozen ``Capabilities`` answer for the pages and panels
  that do not depend on a request (triage queue, dashboard, ranking, engaging providers,
  assessments, the provider registry, deciding);
- ``roles_for(user, request)`` — the workflow roles held on a request (reserve/workflow.py),
  and ``request_actions`` / ``engagement_actions`` derived from ``workflow.actions_for``:
  a page shows a button if and only if the action is in this list, and the service takes
  the action if and only if ``workflow.check`` accepts the same roles.

Who holds a workflow role on the contracting authority's side is one table
(``AUTHORITY_ROLES``): ENISA triage assesses and matches providers (the contribution
agreement, DOMAIN.md "Routing"); the decision-makers of the contracting authority (the
setting RESERVE_CONTRACTING_AUTHORITY, ENISA by default) decide. The sweep's reminders
use the same table for their recipients (``authority_recipients``).
"""

from dataclasses import dataclass, fields

from django.conf import settings

from liaison.policy import acting_memberships
from liaison.roles import Community, OrganisationKind, org_group_name, role_group_name
from liaison.roles import Role as NetworkRole
from reserve.workflow import (
    ENGAGEMENT_TRANSITIONS,
    FINAL,
    REQUEST_STATES_FOR_OFFER,
    REQUEST_TRANSITIONS,
    WAITING_FOR,
    EngagementStatus,
    RequestStatus,
    Role,
    actions_for,
)


@dataclass(frozen=True)
class Seat:
    """One active membership: the organisation (id, kind, code, member state) and the role held there."""

    organisation_id: int
    kind: str
    code: str
    member_state_id: int | None
    role: str


_CACHE = "_reserve_seats"
_CAPABILITIES = "_reserve_capabilities"


def seats(user) -> tuple[Seat, ...]:
    """The user's active memberships, one query, remembered on the user object (one per HTTP request)."""
    if not getattr(user, "is_authenticated", False):
        return ()
    cached = getattr(user, _CACHE, None)
    if cached is None:
        cached = tuple(Seat(*row) for row in acting_memberships(user).values_list(
            "organisation_id", "organisation__kind", "organisation__code", "organisation__member_state_id", "role"))
        try:
            setattr(user, _CACHE, cached)
        except AttributeError:  # an object that takes no attributes: read again next time
            pass
    return cached


def forget(user) -> None:
    """Drop the remembered memberships (after the user's memberships changed in the same request)."""
    for name in (_CACHE, _CAPABILITIES):
        if hasattr(user, name):
            delattr(user, name)


def authority_code() -> str:
    return settings.RESERVE_CONTRACTING_AUTHORITY


# --- The contracting authority's side: which seat holds which workflow role ----------------------

def _holds_triage(seat: Seat) -> bool:
    return seat.role == NetworkRole.ENISA_TRIAGE and seat.kind == OrganisationKind.ENISA


def _holds_decision(seat: Seat) -> bool:
    return seat.role == NetworkRole.DECISION_MAKER and seat.code == authority_code()


# The one table of who holds a workflow role on every request that reached the contracting authority
# (``roles_for`` reads it; ``authority_recipients`` addresses the same people in the inbox).
AUTHORITY_ROLES = {
    Role.TRIAGE: _holds_triage,
    Role.DECISION_MAKER: _holds_decision,
}


def authority_recipients(*, overdue: bool = False) -> tuple[list[str], list[str]]:
    """(audience, inbox recipients) that reach exactly the holders of the authority's workflow roles.

    The inbox shows an item to whoever is in the audience *and* a recipient group: triage
    staff through their role group; the decision-makers through the contracting authority's
    organisation group (audience) and the decision-maker role group (recipients), so the
    Commission's decision-makers are not told unless the Commission is the contracting
    authority. Overdue: the network admins (ENISA's leadership) too.
    """
    triage = role_group_name(NetworkRole.ENISA_TRIAGE)
    audience = [triage, org_group_name(authority_code())]
    told = [triage, role_group_name(NetworkRole.DECISION_MAKER)]
    if overdue:
        audience.append(Community.NETWORK_ADMINS)
        told.append(Community.NETWORK_ADMINS)
    return audience, told


def is_triage(user) -> bool:
    return any(_holds_triage(s) for s in seats(user))


def is_decision_maker(user) -> bool:
    return any(_holds_decision(s) for s in seats(user))


def is_commission(user) -> bool:
    return any(s.kind == OrganisationKind.COMMISSION for s in seats(user))


def is_provider_staff(user) -> bool:
    return any(s.role == NetworkRole.PROVIDER_STAFF and s.kind == OrganisationKind.RESERVE_PROVIDER
               for s in seats(user))


def _on_authority_side(seat: Seat) -> bool:
    return _holds_triage(seat) or seat.code == authority_code() or seat.kind == OrganisationKind.COMMISSION


def is_authority_side(user) -> bool:
    """ENISA triage, anyone of the contracting authority, and the Commission (informed of every decision).

    They see the priority, assessments and the queue of every request that reached the
    contracting authority; ``authority_side_group_names`` grants exactly them.
    """
    return any(_on_authority_side(s) for s in seats(user))


def authority_side_group_names() -> list[str]:
    """The groups every request that reaches the contracting authority is granted to: ``is_authority_side``'s seats.

    ENISA triage through its role group (the role exists only in ENISA), the contracting
    authority's and the Commission's organisations through their organisation groups.
    """
    from liaison.models import Organisation

    codes = {authority_code(), *Organisation.objects.filter(kind=OrganisationKind.COMMISSION, is_active=True)
             .values_list("code", flat=True)}
    return [role_group_name(NetworkRole.ENISA_TRIAGE), *sorted(org_group_name(code) for code in codes)]


def is_registry_admin(user) -> bool:
    """ENISA's network admins and triage staff keep the provider registry."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_superuser or is_triage(user):
        return True
    from liaison.policy import is_network_admin

    return is_network_admin(user)


# --- One answer per person -------------------------------------------------------------------------

@dataclass(frozen=True)
class Capabilities:
    """What a person may open or do in the Reserve, whatever the request. Templates test these fields.

    Adding a field here adds it to the agreement test (tests/reserve/test_policy_agreement.py)
    once a probe for it is registered there.
    """

    triage_queue: bool = False   # the queue of open requests at the contracting authority (page and API)
    dashboard: bool = False      # the Reserve dashboard: ENISA, the contracting authority, the Commission
    ranking: bool = False        # the provider ranking of a request: ENISA triage matches providers
    engage: bool = False         # engage providers on an approved request: ENISA triage
    assessments: bool = False    # a request's priority and ENISA's assessments: the authority's side
    triage: bool = False         # assess requests and ask requesters for more information
    decisions: bool = False      # approve or reject: the contracting authority's decision-makers
    registry_view: bool = False  # every provider of the registry
    registry_edit: bool = False  # register providers, change profiles and committed capacity
    engagements: bool = False    # a provider's own engagements (its staff)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


NOTHING = Capabilities()


def capabilities(user) -> Capabilities:
    """The person's answer, computed once per HTTP request (remembered on the user with their seats)."""
    if not getattr(user, "is_authenticated", False):
        return NOTHING
    remembered = getattr(user, _CAPABILITIES, None)
    if remembered is not None and remembered[0] == authority_code():
        return remembered[1]
    answer = _capabilities(user)
    try:
        setattr(user, _CAPABILITIES, (authority_code(), answer))
    except AttributeError:
        pass
    return answer


def _capabilities(user) -> Capabilities:
    triage = is_triage(user)
    authority = is_authority_side(user)
    enisa = any(s.kind == OrganisationKind.ENISA for s in seats(user))
    registry_edit = is_registry_admin(user)
    return Capabilities(
        triage_queue=authority,
        dashboard=authority or enisa or user.is_superuser,
        ranking=triage,
        engage=triage,
        assessments=authority,
        triage=triage,
        decisions=is_decision_maker(user),
        registry_view=registry_edit or authority or enisa or is_commission(user),
        registry_edit=registry_edit,
        engagements=is_provider_staff(user),
    )


# Organisations whose people request, route, assess, decide or follow Reserve support (CSoA Art. 14–16).
RESERVE_KINDS = frozenset({OrganisationKind.NATIONAL_CSIRT, OrganisationKind.CRISIS_AUTHORITY, OrganisationKind.SPOC,
                           OrganisationKind.CERT_EU, OrganisationKind.ENISA, OrganisationKind.COMMISSION})


def uses_reserve(user) -> bool:
    """Who the Reserve's request pages are for: requesters and their SPOCs, ENISA, the contracting authority and
    the Commission. A provider's staff work from their engagements instead (``Capabilities.engagements``)."""
    return any(s.kind in RESERVE_KINDS for s in seats(user))


# --- Roles and actions on one request or engagement ------------------------------------------------

def roles_for(user, request) -> set[Role]:
    """The workflow roles the user holds for this request (reserve.workflow)."""
    mine = seats(user)
    roles = set()
    org_ids = {s.organisation_id for s in mine}
    if request.requester_organisation_id in org_ids:
        roles.add(Role.REQUESTER)
    if request.spoc_organisation_id in org_ids or _is_spoc_of(mine, request):
        roles.add(Role.SPOC)
    for role, holds in AUTHORITY_ROLES.items():
        if any(holds(s) for s in mine):
            roles.add(role)
    return roles


def _is_spoc_of(mine, request) -> bool:
    """Before routing, the SPOC of the requester's state is the request's SPOC (it may be the requester itself)."""
    if request.spoc_organisation_id is not None:
        return False
    ms_id = request.requester_organisation.member_state_id
    return bool(ms_id) and any(s.kind == OrganisationKind.SPOC and s.member_state_id == ms_id for s in mine)


def engagement_roles_for(user, engagement) -> set[Role]:
    """Provider staff of the engaged provider, the requesting organisation (the user of the support), ENISA triage."""
    mine = seats(user)
    roles = set()
    if any(s.organisation_id == engagement.provider_id and s.role == NetworkRole.PROVIDER_STAFF for s in mine):
        roles.add(Role.PROVIDER)
    if any(s.organisation_id == engagement.request.requester_organisation_id for s in mine):
        roles.add(Role.REQUESTER)
    if any(_holds_triage(s) for s in mine):
        roles.add(Role.TRIAGE)
    return roles


# --- The specific agreement (CSoA Art. 16) -----------------------------------------------------------

AGREEMENT_SIDES = {Role.PROVIDER: "provider_agreed_at", Role.REQUESTER: "user_agreed_at"}
AGREEMENT_SIDE_LABELS = {Role.PROVIDER: "the provider", Role.REQUESTER: "the user (requester)"}


def agreement_sides_pending(roles, engagement) -> list[Role]:
    """The sides among ``roles`` that have not confirmed the specific agreement yet."""
    return [role for role, field in AGREEMENT_SIDES.items() if role in roles and getattr(engagement, field) is None]


def may_log_work(user, engagement) -> bool:
    """The engaged provider's staff, while deployed, once both sides confirmed the specific agreement (Art. 16)."""
    return (Role.PROVIDER in engagement_roles_for(user, engagement)
            and engagement.status == EngagementStatus.ACCEPTED
            and engagement.request.status == RequestStatus.DEPLOYED
            and engagement.agreement_in_force)


def offer_roles(user) -> set[Role]:
    """Roles for ``offer`` (engaging a provider), which has no engagement yet."""
    return {Role.TRIAGE} if is_triage(user) else set()


def request_actions(user, request) -> list[str]:
    """The workflow actions the user may take on the request now (buttons on pages, links in the API)."""
    return actions_for(REQUEST_TRANSITIONS, status=request.status, roles=roles_for(user, request))


def engagement_actions(user, engagement) -> list[str]:
    """The workflow's answer, less a confirmation of the agreement by a side that has already confirmed it."""
    roles = engagement_roles_for(user, engagement)
    actions = actions_for(ENGAGEMENT_TRANSITIONS, status=engagement.status, roles=roles)
    if "confirm_agreement" in actions and not (
            engagement.request.status == RequestStatus.DEPLOYED and agreement_sides_pending(roles, engagement)):
        actions.remove("confirm_agreement")
    return actions


def who_acts_next(user, request) -> str:
    """Who moves the request on (``workflow.WAITING_FOR``), for a person with nothing to do on it now.

    The requesting organisation and its SPOC are told of every step in their inbox: they read "you will be told".
    """
    from liaison.models import Organisation

    authority = Organisation.objects.filter(code=authority_code()).values_list("name", flat=True).first()
    spoc = request.spoc_organisation.name if request.spoc_organisation_id else "the single point of contact"
    sentence = WAITING_FOR[request.status].format(
        requester=request.requester_organisation.name, spoc=spoc,
        authority=f"{authority or authority_code()}, the contracting authority,")
    told = request.status not in FINAL and roles_for(user, request) & {Role.REQUESTER, Role.SPOC}
    return sentence + ("; you will be told." if told else ".")


def may_engage(user, request) -> bool:
    """ENISA triage engages providers while the request is approved or deployed (several providers)."""
    return capabilities(user).engage and request.status in REQUEST_STATES_FOR_OFFER


__all__ = [
    "AGREEMENT_SIDES", "AUTHORITY_ROLES", "Capabilities", "NOTHING", "Seat", "agreement_sides_pending",
    "authority_code", "authority_recipients",
    "authority_side_group_names", "capabilities",
    "engagement_actions", "engagement_roles_for", "forget", "is_authority_side", "is_commission",
    "is_decision_maker", "is_provider_staff", "is_registry_admin", "is_triage", "may_engage", "may_log_work",
    "offer_roles",
    "request_actions", "roles_for", "seats", "uses_reserve", "who_acts_next",
]
