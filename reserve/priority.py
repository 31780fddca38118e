"""Priority of competing requests for Reserve support, and why (CSoA Art. 16).

Pure functions over plain data, no ORM and no clock (STYLE.md "Pure core"): the
triage selector builds a PriorityCase from a request and its linked incidents, and
ENISA sees the score with one line per factor. Stored and shown as 0–100.

The points come only from the five criteria of the law (CSoA Art. 16, DOMAIN.md
"Prioritisation"; the paragraph number of the final text is unconfirmed, so only the article
is cited), criterion (d) counting as two factors:

| factor | criterion | max | points |
| --- | --- | --- | --- |
| severity | (a) scale and severity of the incident | 30 | low 0, medium 10, high 20, critical 30 |
| entity_type | (b) type of entity, priority to NIS2 essential entities | 18 | essential 18, public administration 14, EUIBA 14, important 8, other 0 |
| impact | (c) potential impact on the member state(s) or users | 24 | limited 0, significant 8, severe 16, critical 24 |
| cross_border | (d) potential cross-border nature | 10 | 1 member state 0, 2: 4, 3–4: 7, ≥ 5: 10 |
| spill_over | (d) risk of spill-over | 8 | low 0, medium 4, high 8 |
| measures_taken | (e) measures taken by the user | 10 | partial 2, substantial 6, comprehensive 10 |

Beside the score, with no points (``Priority.beside``), and used only to order requests whose
scores are equal: the Blueprint crisis level of the linked incidents, then the urgency the
requester declared. The crisis level is not a criterion of its own: the Blueprint derives it
from the scale, severity and spread of the incidents, which (a) and (d) already score, so
scoring it too would count them twice. Urgency is self-declared and not a criterion at all.

Why these weights: scale/severity and impact are the heaviest because they say how much harm
the support can prevent. Essential entities lead the entity factor as criterion (b) requires;
public-administration entities and EUIBAs follow closely (NIS2 treats central public
administration as essential, and EUIBAs are beneficiaries in their own right under Art.
14(3)(b)). Measures taken score higher the more the user has done: Art. 15(2) makes
appropriate mitigation a precondition, so the Reserve complements national effort rather
than replacing it.
"""

from dataclasses import dataclass

SEVERITY_POINTS = {"low": 0, "medium": 10, "high": 20, "critical": 30}
ENTITY_POINTS = {"essential": 18, "public_administration": 14, "euiba": 14, "important": 8, "other": 0}
ENTITY_LABELS = {
    "essential": "a NIS2 essential entity",
    "public_administration": "a public administration entity",
    "euiba": "an EU institution, body, office or agency",
    "important": "a NIS2 important entity",
    "other": "an entity outside the NIS2 essential/important classes",
}
IMPACT_POINTS = {"limited": 0, "significant": 8, "severe": 16, "critical": 24}
SPILL_OVER_POINTS = {"low": 0, "medium": 4, "high": 8}
MEASURES_POINTS = {"partial": 2, "substantial": 6, "comprehensive": 10}
CROSS_BORDER_POINTS = {0: 0, 1: 0, 2: 4, 3: 7, 4: 7}  # by member states affected; 5 or more score the max
CROSS_BORDER_MAX = 10
MAX_POINTS = {
    "severity": 30, "entity_type": 18, "impact": 24, "cross_border": CROSS_BORDER_MAX, "spill_over": 8,
    "measures_taken": 10,
}
assert sum(MAX_POINTS.values()) == 100
# Shown beside the score and ordering ties only: no points.
URGENCY_RANK = {"routine": 0, "urgent": 1, "immediate": 2}
CRISIS_NAMES = ("national handling", "technical cooperation", "large-scale cybersecurity incident", "cyber crisis")


@dataclass(frozen=True)
class PriorityCase:
    severity: str  # max severity of linked incidents: low|medium|high|critical
    entity_type: str  # essential|important|public_administration|euiba|other (incidents EntityType)
    impact: str  # the request's potential impact: limited|significant|severe|critical
    member_states_affected: int  # distinct member states across linked incidents and the request
    spill_over_risk: str  # low|medium|high
    measures_taken: str  # partial|substantial|comprehensive (criterion (e))
    crisis_level: int  # highest crisis level of the linked incidents (0 if none): shown beside, no points
    urgency: str  # routine|urgent|immediate: shown beside, no points


@dataclass(frozen=True)
class Factor:
    name: str
    points: int
    max_points: int
    reason: str


@dataclass(frozen=True)
class Beside:
    """A fact shown beside the score that adds no points (it may order equal scores)."""

    name: str  # crisis_level | urgency
    value: str
    reason: str


@dataclass(frozen=True)
class Priority:
    score: int  # 0–100, the five criteria of CSoA Art. 16 only
    factors: tuple[Factor, ...]
    crisis_level: int = 0
    urgency: str = "routine"

    @property
    def beside(self) -> tuple[Beside, ...]:
        level = self.crisis_level
        return (
            Beside("crisis_level", str(level), f"Linked incidents are at crisis level {level} "
                                               f"({CRISIS_NAMES[min(level, 3)]}): orders equal scores, no points"),
            Beside("urgency", self.urgency, f"Urgency declared by the requester is {self.urgency}: "
                                            "orders equal scores after the crisis level, no points"),
        )

    def order_key(self) -> tuple[int, int, int]:
        """Sort ascending for highest priority first: the score, then the crisis level, then the urgency."""
        return (-self.score, -self.crisis_level, -URGENCY_RANK[self.urgency])

    def explanation(self) -> str:
        """One sentence per factor, strongest first, then what is shown beside (e.g. for the triage queue)."""
        ordered = sorted(self.factors, key=lambda f: (-f.points, list(MAX_POINTS).index(f.name)))
        parts = "; ".join(f"{f.reason} (+{f.points}/{f.max_points})" for f in ordered)
        beside = "; ".join(b.reason for b in self.beside)
        return f"Priority {self.score}/100 (CSoA Art. 16 criteria): {parts}. Beside the score: {beside}."

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
    _pick(URGENCY_RANK, case.urgency, "urgency")
    states = _non_negative(case.member_states_affected, "member_states_affected")
    level = _non_negative(case.crisis_level, "crisis_level")
    cross_border = _cross_border_points(states)
    factors = (
        Factor("severity", severity, MAX_POINTS["severity"],
               f"Severity {case.severity} of the linked incidents (CSoA Art. 16, criterion (a))"),
        Factor("entity_type", entity, MAX_POINTS["entity_type"],
               f"The affected entity is {ENTITY_LABELS[case.entity_type]} (CSoA Art. 16, criterion (b))"),
        Factor("impact", impact, MAX_POINTS["impact"],
               f"Potential impact on the member state(s) or users is {case.impact} (CSoA Art. 16, criterion (c))"),
        Factor("cross_border", cross_border, MAX_POINTS["cross_border"],
               f"{_states_phrase(states)} (CSoA Art. 16, criterion (d))"),
        Factor("spill_over", spill, MAX_POINTS["spill_over"],
               f"Risk of spill-over is {case.spill_over_risk} (CSoA Art. 16, criterion (d))"),
        Factor("measures_taken", measures, MAX_POINTS["measures_taken"],
               f"Mitigation measures already taken are {case.measures_taken} (CSoA Art. 16, criterion (e))"),
    )
    return Priority(sum(f.points for f in factors), factors, crisis_level=level, urgency=case.urgency)


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
