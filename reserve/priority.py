"""Priority of competing requests for Reserve support, and why (CSoA Art. 16(2)).

Pure functions over plain data, no ORM and no clock (STYLE.md "Pure core"): the
triage selector builds a PriorityCase from a request and its linked incidents, and
ENISA sees the score with one line per factor. Stored and shown as 0–100.

Weights (points; they add up to 100):

| factor | legal source | max | points |
| --- | --- | --- | --- |
| severity | Art. 16(2)(a) scale and severity | 25 | low 0, medium 8, high 17, critical 25 |
| entity_type | Art. 16(2)(b), priority to NIS2 essential entities | 15 | essential 15, public administration 12, EUIBA 12, important 7, other 0 |
| impact | Art. 16(2)(c) impact on the member state(s) or users | 20 | limited 0, significant 7, severe 14, critical 20 |
| cross_border | Art. 16(2)(d) cross-border nature | 9 | 1 member state 0, 2: 3, 3–4: 6, ≥ 5: 9 |
| spill_over | Art. 16(2)(d) risk of spill-over | 7 | low 0, medium 4, high 7 |
| measures_taken | Art. 16(2)(e) measures taken by the user | 10 | partial 2, substantial 6, comprehensive 10 |
| crisis_level | Blueprint level of the linked incidents (issue 6) | 12 | 0: 0, 1: 4, 2: 8, ≥ 3: 12 |
| urgency | requester's urgency, a tie-breaker only | 2 | routine 0, urgent 1, immediate 2 |

Why these weights: the five Art. 16(2) criteria carry 86 points, with scale/severity and
impact the heaviest because they say how much harm the support can prevent. Essential
entities lead the entity factor as Art. 16(2)(b) requires; public-administration entities
and EUIBAs follow closely (NIS2 treats central public administration as essential, and
EUIBAs are beneficiaries in their own right under Art. 14(3)(b)). Measures taken score
higher the more the user has done: Art. 15(2) makes appropriate mitigation a precondition,
so the Reserve complements national effort rather than replacing it. The crisis level
adds what the Blueprint already concluded about the linked incidents. Urgency is
self-declared, so it can only separate requests that are otherwise close: its 2 points are
less than the smallest step (3) of any other factor, so urgency alone never lets a request
overtake one that is a step higher on a legal criterion.
"""

from dataclasses import dataclass

SEVERITY_POINTS = {"low": 0, "medium": 8, "high": 17, "critical": 25}
ENTITY_POINTS = {"essential": 15, "public_administration": 12, "euiba": 12, "important": 7, "other": 0}
ENTITY_LABELS = {
    "essential": "a NIS2 essential entity",
    "public_administration": "a public administration entity",
    "euiba": "an EU institution, body, office or agency",
    "important": "a NIS2 important entity",
    "other": "an entity outside the NIS2 essential/important classes",
}
IMPACT_POINTS = {"limited": 0, "significant": 7, "severe": 14, "critical": 20}
SPILL_OVER_POINTS = {"low": 0, "medium": 4, "high": 7}
MEASURES_POINTS = {"partial": 2, "substantial": 6, "comprehensive": 10}
URGENCY_POINTS = {"routine": 0, "urgent": 1, "immediate": 2}
CRISIS_POINTS = (0, 4, 8, 12)  # by crisis level; levels above 3 score like 3
CRISIS_NAMES = ("national handling", "technical cooperation", "large-scale cybersecurity incident", "cyber crisis")
CROSS_BORDER_POINTS = {0: 0, 1: 0, 2: 3, 3: 6, 4: 6}  # by member states affected; 5 or more score the max
CROSS_BORDER_MAX = 9
MAX_POINTS = {
    "severity": 25, "entity_type": 15, "impact": 20, "cross_border": CROSS_BORDER_MAX, "spill_over": 7,
    "measures_taken": 10, "crisis_level": 12, "urgency": 2,
}
assert sum(MAX_POINTS.values()) == 100


@dataclass(frozen=True)
class PriorityCase:
    severity: str  # max severity of linked incidents: low|medium|high|critical
    entity_type: str  # essential|important|public_administration|euiba|other (incidents EntityType)
    impact: str  # the request's potential impact: limited|significant|severe|critical
    member_states_affected: int  # distinct member states across linked incidents and the request
    spill_over_risk: str  # low|medium|high
    measures_taken: str  # partial|substantial|comprehensive (Art. 16(2)(e))
    crisis_level: int  # highest crisis level of the linked incidents (0 if none)
    urgency: str  # routine|urgent|immediate (tie-breaker)


@dataclass(frozen=True)
class Factor:
    name: str
    points: int
    max_points: int
    reason: str


@dataclass(frozen=True)
class Priority:
    score: int  # 0–100
    factors: tuple[Factor, ...]

    def explanation(self) -> str:
        """One sentence per factor, strongest first, e.g. for the triage queue's tooltip."""
        ordered = sorted(self.factors, key=lambda f: (-f.points, list(MAX_POINTS).index(f.name)))
        parts = "; ".join(f"{f.reason} (+{f.points}/{f.max_points})" for f in ordered)
        return f"Priority {self.score}/100: {parts}."

    def factor(self, name: str) -> Factor:
        return next(f for f in self.factors if f.name == name)


def score(case: PriorityCase) -> Priority:
    """The request's priority with the points and the reason of every factor.

    Raises ValueError naming the field for a value outside the vocabularies above: the
    caller builds cases from validated rows, so that is a programming error to surface.
    """
    severity = _pick(SEVERITY_POINTS, case.severity, "severity")
    entity = _pick(ENTITY_POINTS, case.entity_type, "entity_type")
    impact = _pick(IMPACT_POINTS, case.impact, "impact")
    spill = _pick(SPILL_OVER_POINTS, case.spill_over_risk, "spill_over_risk")
    measures = _pick(MEASURES_POINTS, case.measures_taken, "measures_taken")
    urgency = _pick(URGENCY_POINTS, case.urgency, "urgency")
    states = _non_negative(case.member_states_affected, "member_states_affected")
    level = _non_negative(case.crisis_level, "crisis_level")
    cross_border = _cross_border_points(states)
    factors = (
        Factor("severity", severity, MAX_POINTS["severity"],
               f"Severity {case.severity} of the linked incidents (Art. 16(2)(a))"),
        Factor("entity_type", entity, MAX_POINTS["entity_type"],
               f"The affected entity is {ENTITY_LABELS[case.entity_type]} (Art. 16(2)(b))"),
        Factor("impact", impact, MAX_POINTS["impact"],
               f"Potential impact on the member state(s) or users is {case.impact} (Art. 16(2)(c))"),
        Factor("cross_border", cross_border, MAX_POINTS["cross_border"],
               f"{_states_phrase(states)} (Art. 16(2)(d))"),
        Factor("spill_over", spill, MAX_POINTS["spill_over"],
               f"Risk of spill-over is {case.spill_over_risk} (Art. 16(2)(d))"),
        Factor("measures_taken", measures, MAX_POINTS["measures_taken"],
               f"Mitigation measures already taken are {case.measures_taken} (Art. 16(2)(e))"),
        Factor("crisis_level", CRISIS_POINTS[min(level, 3)], MAX_POINTS["crisis_level"],
               f"Linked incidents are at crisis level {level} ({CRISIS_NAMES[min(level, 3)]})"),
        Factor("urgency", urgency, MAX_POINTS["urgency"],
               f"Urgency declared by the requester is {case.urgency} (tie-breaker)"),
    )
    return Priority(sum(f.points for f in factors), factors)


def _pick(table: dict, value: str, field: str) -> int:
    if value not in table:
        raise ValueError(f"{field}: {value!r} is not one of {', '.join(table)}.")
    return table[value]


def _non_negative(value: int, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{field}: {value!r} must be a whole number ≥ 0.")
    return value


def _cross_border_points(states: int) -> int:
    return CROSS_BORDER_POINTS.get(states, CROSS_BORDER_MAX)


def _states_phrase(states: int) -> str:
    if states <= 1:
        return "A single member state is affected: no cross-border dimension"
    return f"{states} member states are affected: cross-border incident"
