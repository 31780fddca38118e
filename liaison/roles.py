"""Vocabularies of the network: organisation kinds, roles, and the groups they imply.

Every organisation, member state, role and community is a Django group (DESIGN.md
"Permissions"); these names are the contract later apps share objects with.
"""

from django.db import models


class OrganisationKind(models.TextChoices):
    NATIONAL_CSIRT = "national_csirt", "National CSIRT"
    CRISIS_AUTHORITY = "crisis_authority", "Cyber crisis management authority"
    SPOC = "spoc", "NIS2 single point of contact"
    NATIONAL_HUB = "national_hub", "National cyber hub"
    CROSS_BORDER_HUB = "cross_border_hub", "Cross-border cyber hub"
    ENISA = "enisa", "ENISA"
    COMMISSION = "commission", "European Commission"
    CERT_EU = "cert_eu", "CERT-EU"
    RESERVE_PROVIDER = "reserve_provider", "Cybersecurity Reserve provider"


class Role(models.TextChoices):
    ANALYST = "analyst", "Analyst"
    CRISIS_MANAGER = "crisis_manager", "Crisis manager"
    LIAISON_OFFICER = "liaison_officer", "Liaison officer"
    ORG_ADMIN = "org_admin", "Organisation admin"
    ENISA_TRIAGE = "enisa_triage", "ENISA triage"
    DECISION_MAKER = "decision_maker", "Commission / contracting-authority decision-maker"
    PROVIDER_STAFF = "provider_staff", "Provider staff"
    SOC_TOOLING = "soc_tooling", "SOC tooling (API service account)"


# Organisations that act for a member state: their people see what is shared with it.
MEMBER_STATE_AUTHORITY_KINDS = frozenset(
    {
        OrganisationKind.NATIONAL_CSIRT,
        OrganisationKind.CRISIS_AUTHORITY,
        OrganisationKind.SPOC,
        OrganisationKind.NATIONAL_HUB,
        OrganisationKind.CERT_EU,
    }
)

# Which organisation kinds may hold a role (None: any kind). A role outside its kinds is refused.
ROLE_ALLOWED_KINDS = {
    Role.ENISA_TRIAGE: frozenset({OrganisationKind.ENISA}),
    Role.DECISION_MAKER: frozenset({OrganisationKind.ENISA, OrganisationKind.COMMISSION}),
    Role.PROVIDER_STAFF: frozenset({OrganisationKind.RESERVE_PROVIDER}),
    Role.LIAISON_OFFICER: frozenset(
        MEMBER_STATE_AUTHORITY_KINDS | {OrganisationKind.ENISA, OrganisationKind.COMMISSION}
    ),
    Role.CRISIS_MANAGER: frozenset(
        MEMBER_STATE_AUTHORITY_KINDS | {OrganisationKind.ENISA, OrganisationKind.COMMISSION}
    ),
}


class Community:
    """Networks of organisations that incidents can be shared with as a whole."""

    CSIRTS_NETWORK = "community:csirts-network"
    EU_CYCLONE = "community:eu-cyclone"
    NETWORK_ADMINS = "network-admins"

    LABELS = {
        CSIRTS_NETWORK: "CSIRTs Network",
        EU_CYCLONE: "EU-CyCLONe",
    }


def org_group_name(code: str) -> str:
    return f"org:{code}"


def member_state_group_name(code: str) -> str:
    return f"ms:{code}"


def role_group_name(role: str) -> str:
    return f"role:{role}"


def communities_for(*, kind: str, member_state_kind: str | None) -> set[str]:
    """The communities an organisation belongs to (NIS2 Art. 15 and 16, DOMAIN.md).

    CSIRTs Network: the member states' CSIRTs and CERT-EU, ENISA as secretariat.
    EU-CyCLONe: the member states' crisis management authorities, ENISA, the Commission.
    Third countries are not members of either.
    """
    eu_member = member_state_kind == "eu_member"
    groups = set()
    if kind == OrganisationKind.ENISA:
        groups |= {Community.CSIRTS_NETWORK, Community.EU_CYCLONE}
    elif kind == OrganisationKind.COMMISSION:
        groups.add(Community.EU_CYCLONE)
    elif kind == OrganisationKind.CERT_EU:
        groups.add(Community.CSIRTS_NETWORK)
    elif kind == OrganisationKind.NATIONAL_CSIRT and eu_member:
        groups.add(Community.CSIRTS_NETWORK)
    elif kind == OrganisationKind.CRISIS_AUTHORITY and eu_member:
        groups.add(Community.EU_CYCLONE)
    return groups
