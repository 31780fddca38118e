"""The Blueprint's bodies in charge: who, for one incident on one day, declares, lowers or proposes a level.

A body is resolved against the incident (its reporting member state), the Council
Presidency of the day (liaison's ``CouncilPresidency``) and the networks. The Blueprint
names bodies per level as data (``CrisisLevel.declare_bodies`` …); this module is their
vocabulary and the pure test of whether one organisation acts for one of them.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from liaison.roles import Community, OrganisationKind, communities_for


@dataclass(frozen=True)
class Body:
    label: str
    state: str  # "reporting": the incident's reporting member state; "presidency": the Council Presidency's
    kinds: frozenset = frozenset()
    community: str = ""  # a network as a whole (any member organisation)

    def state_id(self, *, reporting_state_id: int | None, presidency_state_id: int | None) -> int | None:
        """The member state whose organisations act for this body on this incident (None for a network)."""
        return {"reporting": reporting_state_id, "presidency": presidency_state_id}.get(self.state)


BODIES = {
    "reporting_state_csirt": Body("the reporting member state's CSIRT", "reporting",
                                  frozenset({OrganisationKind.NATIONAL_CSIRT})),
    "reporting_state_crisis_authority": Body("the reporting member state's cyber crisis management authority",
                                             "reporting", frozenset({OrganisationKind.CRISIS_AUTHORITY})),
    "eu_cyclone_chair": Body("the EU-CyCLONe chair (the Council Presidency's crisis management authority)",
                             "presidency", frozenset({OrganisationKind.CRISIS_AUTHORITY})),
    "council_presidency": Body("the Council Presidency", "presidency",
                               frozenset({OrganisationKind.CRISIS_AUTHORITY, OrganisationKind.SPOC})),
    "eu_cyclone": Body("EU-CyCLONe (any of its member organisations)", "", community=Community.EU_CYCLONE),
}


@dataclass(frozen=True)
class Seat:
    """One membership, as the body test needs it: what the organisation is and where, and the person's role."""

    kind: str
    member_state_id: int | None
    member_state_kind: str | None
    role: str


def acts_for(seat: Seat, body_code: str, *, reporting_state_id: int | None, presidency_state_id: int | None) -> bool:
    body = BODIES.get(body_code)
    if body is None:
        return False
    if body.community:
        return body.community in communities_for(kind=seat.kind, member_state_kind=seat.member_state_kind)
    state_id = body.state_id(reporting_state_id=reporting_state_id, presidency_state_id=presidency_state_id)
    return state_id is not None and seat.member_state_id == state_id and seat.kind in body.kinds


def holds(seats: Iterable[Seat], body_codes: Iterable[str], roles: Iterable[str], *,
          reporting_state_id: int | None, presidency_state_id: int | None) -> bool:
    """Whether one of the person's memberships is a role of ``roles`` in one of the bodies (no mixing of seats)."""
    roles, body_codes = set(roles), list(body_codes)
    return any(
        seat.role in roles and acts_for(seat, code, reporting_state_id=reporting_state_id,
                                        presidency_state_id=presidency_state_id)
        for seat in seats for code in body_codes
    )


def describe(body_codes: Iterable[str]) -> str:
    labels = [BODIES[c].label for c in body_codes if c in BODIES]
    return " or ".join(labels) if labels else "nobody"


def problems(body_codes, where: str) -> list[str]:
    if not isinstance(body_codes, list):
        return [f"{where} must be a list of bodies ({', '.join(BODIES)})."]
    return [f"{where} names an unknown body {code!r}; known bodies: {', '.join(BODIES)}."
            for code in body_codes if code not in BODIES]
