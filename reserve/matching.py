"""Which Reserve providers fit an approved request, in which order, and why.

Pure functions over plain data, no ORM and no clock (STYLE.md "Pure core"): the
matching selector loads the candidates (with their free capacity inside the window
already computed from committed capacity minus bookings) and calls rank(). Every
provider ends up either ranked, with the reasons for its place, or excluded, with a
code and a sentence ENISA can read out.

Exclusions (hard: the provider cannot be engaged on this request), checked in this
order; ``Excluded.code`` is the first that applies, ``codes`` and ``reason`` list all:

| code | when |
| --- | --- |
| inactive | the provider is not active in the Reserve |
| conflict | a declared conflict of interest names the affected entity or the requesting organisation (Art. 17(2)) |
| certification | no certification/vetting on record, or it starts after the window starts, or it expires before the window ends: it must be valid for the whole window |
| clearance | the request needs staff with a security clearance (CSoA Art. 17(2)) and none of the provider's recorded clearances reaches that level |
| service | the provider offers none of the requested services |
| member_state | the provider does not cover the affected entity's member state ("EU" for EUIBAs) |
| language | the provider shares none of the requested working languages (no languages asked: no constraint) |
| capacity | free person-days inside the window are fewer than the estimated effort |

Ranking (soft), points out of 100:

| factor | max | points |
| --- | --- | --- |
| services breadth | 30 | 30 × share of the requested services offered: a provider offering only some can still be engaged alongside another (ENISA may engage several) |
| sector expertise | 25 | 25 the request's sector (or its parent sector) is listed; 12 a sibling sub-sector of the same parent, or the parent's sub-sector when the request names the parent; 0 otherwise |
| response time | 20 | ≤ 4 h 20, ≤ 8 h 16, ≤ 12 h 12, ≤ 24 h 8, ≤ 48 h 4, slower 0 |
| free capacity | 15 | free ÷ asked ≥ 3: 15, ≥ 2: 10, ≥ 1.5: 6, otherwise 3 |
| experience | 10 | past Reserve engagements 0: 0, 1–2: 4, 3–9: 7, ≥ 10: 10 |

Security clearances are stored on the provider's profile as ENISA recorded them ("EU SECRET
(4 staff)", "SECRET UE", "NATO SECRET (3 staff)"); ``clearance_level`` reads the EU
classification level out of each one, a higher level covering the lower ones. A ranked provider's
reasons say which clearance met the need.

Sector expertise ranks rather than excludes: in a crisis a generalist incident
responder is better than none. Equal scores are ordered by provider code, so the same
input always gives the same ranking; the tied provider's reasons say so.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

EXCLUSION_CODES = ("inactive", "conflict", "certification", "clearance", "service", "member_state", "language",
                   "capacity")
# EU classification levels at which personnel are cleared, lowest first (reserve.vocabulary.ClearanceLevel).
CLEARANCE_LEVELS = ("confidential", "secret", "top_secret")
CLEARANCE_LABELS = {"confidential": "CONFIDENTIEL UE/EU CONFIDENTIAL", "secret": "SECRET UE/EU SECRET",
                    "top_secret": "TRÈS SECRET UE/EU TOP SECRET"}
SERVICE_LABELS = {
    "incident_response": "incident response and handling",
    "digital_forensics": "digital forensics",
    "malware_analysis": "malware analysis",
    "threat_hunting": "threat hunting",
    "containment_eradication": "containment and eradication",
    "recovery_restoration": "recovery and restoration",
    "crisis_communication": "crisis communication support",
    "vulnerability_assessment": "vulnerability assessment and coordinated testing",
}
SERVICES_MAX, SECTOR_MAX, RESPONSE_MAX, CAPACITY_MAX, EXPERIENCE_MAX = 30, 25, 20, 15, 10
SECTOR_RELATED = 12
RESPONSE_BANDS = ((4, 20), (8, 16), (12, 12), (24, 8), (48, 4))  # (at most hours, points)
CAPACITY_BANDS = ((3.0, 15), (2.0, 10), (1.5, 6))  # (at least free/asked, points); else 3
CAPACITY_MIN = 3
EXPERIENCE_BANDS = ((10, 10), (3, 7), (1, 4))  # (at least engagements, points); else 0


@dataclass(frozen=True)
class Need:
    services: frozenset[str]
    sector: str  # incidents Sector code, sub-sectors dotted ("energy.electricity")
    languages: frozenset[str]  # ISO 639-1
    member_state: str  # ISO 3166 alpha-2 of the affected entity's state, "EU" for EUIBAs
    window_start: date
    window_end: date
    person_days: int
    affected_entity: str  # name, for conflicts of interest
    requester_org: str  # organisation code
    clearance: str = ""  # the security clearance deployed staff must hold (CLEARANCE_LEVELS), "" when none
    # Sector code -> its name ("energy.electricity" -> "Energy — Electricity"): the reasons are read by people.
    sector_names: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class Candidate:
    provider: str  # organisation code
    name: str
    services: frozenset[str]
    sectors: frozenset[str]
    languages: frozenset[str]
    member_states: frozenset[str]
    certified_from: date | None
    certified_until: date | None
    free_person_days: int  # free capacity inside the window (capacity minus bookings)
    conflicts: frozenset[str]  # lower-cased entity names / organisation codes
    response_hours: int
    past_engagements: int
    active: bool
    certification_status: str = ""  # e.g. "suspended": said in the reason when no valid dates are given
    clearances: frozenset[str] = frozenset()  # security clearances of deployable staff, as recorded


@dataclass(frozen=True)
class Ranked:
    provider: str
    rank: int
    score: float
    reasons: tuple[str, ...]
    name: str = ""


@dataclass(frozen=True)
class Excluded:
    provider: str
    code: str  # the first of EXCLUSION_CODES that applies
    reason: str  # every reason that applies, first one first
    name: str = ""
    codes: tuple[str, ...] = ()  # every code that applies, in EXCLUSION_CODES order


@dataclass(frozen=True)
class Ranking:
    ranked: tuple[Ranked, ...]
    excluded: tuple[Excluded, ...]

    def next_after(self, tried: Iterable[str]) -> Ranked | None:
        """The best-ranked provider not yet tried (declined, timed out or engaged), if any."""
        tried = set(tried)
        return next((r for r in self.ranked if r.provider not in tried), None)


def rank(need: Need, candidates: Iterable[Candidate]) -> Ranking:
    """Rank the candidates that may serve the need; exclude the others with their reasons."""
    _check_need(need)
    scored, excluded = [], []
    for candidate in candidates:
        problems = _exclusions(need, candidate)
        if problems:
            codes = tuple(code for code, _ in problems)
            reason = "; ".join(text for _, text in problems) + "."
            excluded.append(Excluded(candidate.provider, codes[0], reason, candidate.name, codes))
        else:
            points, reasons = _score(need, candidate)
            scored.append((points, candidate, reasons))
    scored.sort(key=lambda item: (-item[0], item[1].provider))
    ranked = []
    for position, (points, candidate, reasons) in enumerate(scored, start=1):
        if position > 1 and scored[position - 2][0] == points:
            reasons += (f"Same score as {scored[position - 2][1].name}: ordered by provider code",)
        ranked.append(Ranked(candidate.provider, position, float(points), reasons, candidate.name))
    excluded.sort(key=lambda e: e.provider)
    return Ranking(tuple(ranked), tuple(excluded))


def _check_need(need: Need) -> None:
    if need.window_end < need.window_start:
        raise ValueError(f"window_end {need.window_end} is before window_start {need.window_start}.")
    if need.clearance and need.clearance not in CLEARANCE_LEVELS:
        raise ValueError(f"clearance: {need.clearance!r} is not one of {', '.join(CLEARANCE_LEVELS)}.")
    if need.person_days < 1:
        raise ValueError(f"person_days must be at least 1, not {need.person_days}.")
    if not need.services:
        raise ValueError("services: at least one requested service is needed to match providers.")


def _exclusions(need: Need, c: Candidate) -> list[tuple[str, str]]:
    problems = []
    if not c.active:
        problems.append(("inactive", "Not active in the Reserve"))
    conflicts = {_norm(x) for x in c.conflicts}
    for label, value in (("the affected entity", need.affected_entity), ("the requesting organisation", need.requester_org)):
        if value and _norm(value) in conflicts:
            problems.append(("conflict", f"Declared a conflict of interest with {label} ({value})"))
            break
    certification = _certification_problem(need, c)
    if certification:
        problems.append(("certification", certification))
    if need.clearance and _clearance_meeting(need.clearance, c.clearances) is None:
        held = "; ".join(sorted(c.clearances)) or "none recorded"
        problems.append(("clearance", f"No staff with a security clearance at {CLEARANCE_LABELS[need.clearance]} level "
                                      f"or above, as the request requires (CSoA Art. 17(2)); holds: {held}"))
    if not need.services & c.services:
        problems.append(("service", f"Offers none of the requested services ({_services(need.services)})"))
    if need.member_state.upper() not in {m.upper() for m in c.member_states}:
        problems.append(("member_state", f"Does not cover member state {need.member_state.upper()}"))
    if need.languages and not _lower(need.languages) & _lower(c.languages):
        problems.append(("language", f"Works in none of the requested languages ({', '.join(sorted(_lower(need.languages)))})"))
    if c.free_person_days < need.person_days:
        problems.append(("capacity", f"Only {c.free_person_days} free person-days between {need.window_start} and "
                                     f"{need.window_end}, {need.person_days} needed"))
    return problems


def _certification_problem(need: Need, c: Candidate) -> str | None:
    if c.certified_from is None or c.certified_until is None:
        if c.certification_status:
            return f"No valid certification or vetting (standing: {c.certification_status})"
        return "No certification or vetting on record"
    if c.certified_from > need.window_start:
        return f"Certification only starts on {c.certified_from}, after the window starts on {need.window_start}"
    if c.certified_until < need.window_end:
        return f"Certification expires on {c.certified_until}, before the window ends on {need.window_end}"
    return None


def clearance_level(text: str) -> str | None:
    """The EU classification level named in a recorded clearance ("EU SECRET (4 staff)" → "secret"), if any."""
    words = " ".join(text.upper().replace("È", "E").replace("-", " ").split())
    if "TOP SECRET" in words or "TRES SECRET" in words:
        return "top_secret"
    if "SECRET" in words:
        return "secret"
    if "CONFIDENTIAL" in words or "CONFIDENTIEL" in words:
        return "confidential"
    return None


def _clearance_meeting(needed: str, clearances: Iterable[str]) -> str | None:
    """The first recorded clearance (in order) at the needed level or above, or None."""
    floor = CLEARANCE_LEVELS.index(needed)
    for text in sorted(clearances):
        level = clearance_level(text)
        if level is not None and CLEARANCE_LEVELS.index(level) >= floor:
            return text
    return None


def _score(need: Need, c: Candidate) -> tuple[int, tuple[str, ...]]:
    offered = need.services & c.services
    missing = need.services - c.services
    services = round(SERVICES_MAX * len(offered) / len(need.services))
    services_reason = f"Offers {len(offered)} of {len(need.services)} requested services"
    services_reason += f" (missing: {_services(missing)})" if missing else ""
    sector, sector_reason = _sector(need.sector, c.sectors, need.sector_names)
    response = next((p for hours, p in RESPONSE_BANDS if c.response_hours <= hours), 0)
    ratio = c.free_person_days / need.person_days
    capacity = next((p for floor, p in CAPACITY_BANDS if ratio >= floor), CAPACITY_MIN)
    experience = next((p for floor, p in EXPERIENCE_BANDS if c.past_engagements >= floor), 0)
    reasons = (
        f"{services_reason} (+{services}/{SERVICES_MAX})",
        f"{sector_reason} (+{sector}/{SECTOR_MAX})",
        f"Commits to respond within {c.response_hours} h (+{response}/{RESPONSE_MAX})",
        f"{c.free_person_days} free person-days in the window for {need.person_days} needed, "
        f"{ratio:.1f}× (+{capacity}/{CAPACITY_MAX})",
        f"{c.past_engagements} past Reserve engagement{'s' if c.past_engagements != 1 else ''}"
        f" (+{experience}/{EXPERIENCE_MAX})",
    )
    if need.clearance:  # a requirement, not a score: it is met, and the reasons say by what
        reasons += (f"Staff cleared to {CLEARANCE_LABELS[need.clearance]} or above, as the request requires "
                    f"(CSoA Art. 17(2)): holds {_clearance_meeting(need.clearance, c.clearances)}",)
    return services + sector + response + capacity + experience, reasons


def _sector(needed: str, sectors: frozenset[str], names: Mapping[str, str]) -> tuple[int, str]:
    def name(code):
        return names.get(code, code)

    if not needed:
        return 0, "No sector given in the request: sector expertise not scored"
    parent = needed.split(".")[0]
    if needed in sectors or parent in sectors:
        return SECTOR_MAX, f"Sector expertise in {name(needed)}"
    related = sorted(s for s in sectors if s.split(".")[0] == parent)
    if related:
        return SECTOR_RELATED, (f"Expertise in a related sector ({', '.join(name(s) for s in related)}), "
                                f"not {name(needed)} itself")
    return 0, f"No listed expertise in sector {name(needed)}"


def _services(codes: Iterable[str]) -> str:
    return ", ".join(SERVICE_LABELS.get(code, code) for code in sorted(codes))


def _lower(values: Iterable[str]) -> set[str]:
    return {v.lower() for v in values}


def _norm(value: str) -> str:
    return " ".join(value.split()).casefold()
