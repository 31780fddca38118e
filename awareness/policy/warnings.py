"""Who may see or do what with the warnings product (docs/public-warnings.md).

- Drafting: a person (analyst, crisis manager, liaison officer, ENISA triage) of ENISA, of the
  incident's reporting member state's CSIRT or crisis authority, or of the EU-CyCLONe chair
  (incidents/bodies.py), who sees a cross-border incident.
- Answering: the authorities (national CSIRT, crisis authority) of a concerned member state,
  i.e. one of the incident's affected member states, for their own state only.
- Seeing: the drafter's organisation always; once circulated, the concerned states'
  authorities and ENISA. Everyone else: 404, like a warning that does not exist.

Pure predicates over rows already read; the selectors and services ask them.
"""

from dataclasses import dataclass, field

from incidents import bodies
from incidents.policy import presidency_state_id, seats_of
from liaison.policy import acting_memberships
from liaison.roles import OrganisationKind, Role

DRAFTER_BODIES = ("reporting_state_csirt", "reporting_state_crisis_authority", "eu_cyclone_chair")
DRAFTING_ROLES = frozenset({Role.ANALYST, Role.CRISIS_MANAGER, Role.LIAISON_OFFICER, Role.ENISA_TRIAGE})
ANSWERING_ROLES = frozenset({Role.ANALYST, Role.CRISIS_MANAGER, Role.LIAISON_OFFICER, Role.ORG_ADMIN})
# The organisations that act for a concerned member state.
PARTICIPANT_KINDS = (OrganisationKind.NATIONAL_CSIRT, OrganisationKind.CRISIS_AUTHORITY)
WHO_DRAFTS = ("ENISA, the reporting member state's CSIRT or crisis authority, or the EU-CyCLONe chair "
              "(an analyst, crisis manager or liaison officer)")

# Official languages of the member states (ISO 639-1): an own-language version must be in one of its state's.
OFFICIAL_LANGUAGES = {
    "AT": {"de"}, "BE": {"nl", "fr", "de"}, "BG": {"bg"}, "HR": {"hr"}, "CY": {"el", "tr"}, "CZ": {"cs"},
    "DK": {"da"}, "EE": {"et"}, "FI": {"fi", "sv"}, "FR": {"fr"}, "DE": {"de"}, "GR": {"el"}, "HU": {"hu"},
    "IE": {"ga", "en"}, "IT": {"it"}, "LV": {"lv"}, "LT": {"lt"}, "LU": {"lb", "fr", "de"}, "MT": {"mt", "en"},
    "NL": {"nl"}, "PL": {"pl"}, "PT": {"pt"}, "RO": {"ro"}, "SK": {"sk"}, "SI": {"sl"}, "ES": {"es"},
    "SE": {"sv"}, "IS": {"is"}, "LI": {"de"}, "NO": {"no", "nb", "nn"},
}
ANY_LANGUAGE = frozenset().union(*OFFICIAL_LANGUAGES.values()) | {"en"}


def languages_of(member_state_code: str) -> set[str]:
    return set(OFFICIAL_LANGUAGES.get(member_state_code, set()))


def is_cross_border(*, affected_count: int, cross_border_impact: bool | None) -> bool:
    """Two or more affected member states, or cross-border impact stated (with at least one affected state named)."""
    return affected_count >= 2 or (bool(cross_border_impact) and affected_count >= 1)


def drafting_organisation_ids(user, incident) -> list[int]:
    """The user's organisations through which they may draft a warning about this incident (their seats only)."""
    if not getattr(user, "is_authenticated", False):
        return []
    rows = list(acting_memberships(user).filter(role__in=DRAFTING_ROLES).values_list(
        "organisation_id", "organisation__kind", "organisation__member_state_id", "organisation__member_state__kind",
        "role"))
    if not rows:
        return []
    reporting_state_id = incident.reporting_organisation.member_state_id
    presidency = None
    found = []
    for org_id, kind, ms_id, ms_kind, role in rows:
        if kind == OrganisationKind.ENISA:
            found.append(org_id)
            continue
        if presidency is None:
            presidency = presidency_state_id() or 0
        seat = bodies.Seat(kind, ms_id, ms_kind, role)
        if any(bodies.acts_for(seat, code, reporting_state_id=reporting_state_id,
                               presidency_state_id=presidency or None) for code in DRAFTER_BODIES):
            found.append(org_id)
    return list(dict.fromkeys(found))


def authority_seats(user) -> dict[int, list[int]]:
    """Member state id -> the user's organisations acting for it (national CSIRT, crisis authority)."""
    if not getattr(user, "is_authenticated", False):
        return {}
    seats: dict[int, list[int]] = {}
    for org_id, ms_id in acting_memberships(user).filter(
            organisation__kind__in=PARTICIPANT_KINDS, role__in=ANSWERING_ROLES,
            organisation__member_state__isnull=False).values_list("organisation_id", "organisation__member_state_id"):
        seats.setdefault(ms_id, []).append(org_id)
    return seats


def reading_state_ids(user) -> set[int]:
    """Member states whose authorities (national CSIRT, crisis authority) the person belongs to, in any role:
    everyone of a concerned authority reads its circulated warnings (its SOC tooling's token too), even those
    who may not answer for it (``authority_seats``)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(acting_memberships(user).filter(
        organisation__kind__in=PARTICIPANT_KINDS,
        organisation__member_state__isnull=False).values_list("organisation__member_state_id", flat=True))


def is_enisa(user) -> bool:
    return any(seat.kind == OrganisationKind.ENISA for seat in seats_of(user))


def was_circulated(warning) -> bool:
    """Shown beyond the drafter's organisation: circulated once, whatever its status since. A draft withdrawn
    before it was circulated never was (its status alone would say otherwise)."""
    return warning.circulated_at is not None


# ``was_circulated`` as a filter, for the selectors.
CIRCULATED = {"circulated_at__isnull": False}


def is_drafter(user, warning) -> bool:
    return getattr(user, "is_authenticated", False) and acting_memberships(user).filter(
        organisation_id=warning.drafter_organisation_id).exists()


EDITABLE = ("draft", "circulated", "scheduled")
ANSWERABLE = ("circulated", "scheduled")
SCHEDULABLE = ("circulated", "scheduled")  # a scheduled warning's embargo may be moved


@dataclass
class WarningCapabilities:
    """What one person may do with one warning: the page's flags and the API's ``actions``."""

    edit: bool = False
    circulate: bool = False
    schedule: bool = False
    withdraw: bool = False
    # Participations (ids) this person may answer, and why not when they see it but may not.
    respond_for: list = field(default_factory=list)
    respond_refusal: str = ""

    @property
    def respond(self) -> bool:
        return bool(self.respond_for)

    def as_list(self) -> list[str]:
        return [name for name in ("edit", "circulate", "schedule", "withdraw", "respond") if getattr(self, name)]


def warning_capabilities(user, warning, *, participations, now) -> WarningCapabilities:
    drafter = is_drafter(user, warning)
    caps = WarningCapabilities(
        edit=drafter and warning.status in EDITABLE,
        circulate=drafter and warning.status == "draft",
        schedule=drafter and warning.status in SCHEDULABLE,
        withdraw=drafter and warning.status in ("draft", "circulated", "scheduled"),
    )
    seats = authority_seats(user)
    mine = [p for p in participations if p.member_state_id in seats]
    if not mine:
        caps.respond_refusal = "Your member state is not concerned by this warning."
    elif warning.status not in ANSWERABLE:
        caps.respond_refusal = f"The warning is {warning.get_status_display().lower()}: answers are closed."
    elif warning.response_deadline and now > warning.response_deadline:
        caps.respond_refusal = "The response deadline has passed."
    else:
        caps.respond_for = [p.pk for p in mine]
    return caps
