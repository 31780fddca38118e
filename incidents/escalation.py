"""The Blueprint engine: which crisis level an incident's facts call for, and why.

Pure functions over plain data, no ORM and no clock: facts in, decision out
(STYLE.md "Pure core"). The service applies the decision. Escalation is only upwards
here: de-escalation is a human decision of the body in charge (DOMAIN.md), and it holds:
after one, only *new* facts that match a rule (``evaluate(..., held=…)``) escalate again.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

SEVERITIES = ("low", "medium", "high", "critical")

# fact -> (kind, lower bound, upper bound, how to say it)
FACTS = {
    "affected_member_states": ("count", 1, 40, "{v} member states affected"),
    "critical_member_states": ("count", 1, 40, "{v} member states hit at critical severity"),
    "severity": ("severity", None, None, "severity {v}"),
    "high_criticality_sector": ("bool", None, None, "a sector of high criticality (NIS2 Annex I)"),
    "cross_border_impact": ("bool", None, None, "possible cross-border impact"),
    "national_capacity_exceeded": ("bool", None, None, "national capacity to respond exceeded"),
    "technical_cooperation_requested": ("bool", None, None, "technical cooperation requested by the reporter"),
    "reserve_requested": ("bool", None, None, "EU Cybersecurity Reserve support requested"),
    "reserve_approved": ("bool", None, None, "EU Cybersecurity Reserve support approved"),
    "hours_without_update": ("count", 1, 24 * 30, "no update for {v} hours"),
    "declared_level": ("count", 1, 9, "level {v} declared by the body in charge"),
}
OPERATORS = {
    "count": (">=", ">", "==", "<="),
    "severity": (">=", "=="),
    "bool": ("is",),
}
SYMBOLS = {">=": "≥", ">": ">", "==": "=", "<=": "≤", "is": "is"}
# Facts that are not news about the incident: time passing, and a level a human declared (a decision).
NOT_NEW_FACTS = frozenset({"hours_without_update", "declared_level"})


@dataclass(frozen=True)
class Condition:
    fact: str
    op: str
    value: object

    def holds(self, facts: Mapping) -> bool:
        actual = facts.get(self.fact)
        kind = FACTS[self.fact][0]
        if kind == "bool":
            return bool(actual) is bool(self.value)
        if actual is None:
            return False
        if kind == "severity":
            actual, wanted = SEVERITIES.index(actual), SEVERITIES.index(self.value)
        else:
            wanted = self.value
        return {">=": actual >= wanted, ">": actual > wanted, "==": actual == wanted, "<=": actual <= wanted}[self.op]

    def describe(self, facts: Mapping) -> str:
        kind, _, _, template = FACTS[self.fact]
        if kind == "bool":
            return template if self.value else f"not {template}"
        return f"{template.format(v=facts.get(self.fact))} (rule: {SYMBOLS[self.op]} {self.value})"


@dataclass(frozen=True)
class Rule:
    code: str
    target_level: int
    conditions: tuple[Condition, ...]
    automatic: bool = True  # False: a proposal the body in charge must confirm

    def matches(self, facts: Mapping) -> bool:
        return bool(self.conditions) and all(c.holds(facts) for c in self.conditions)

    def explain(self, facts: Mapping) -> str:
        return " and ".join(c.describe(facts) for c in self.conditions)


@dataclass(frozen=True)
class Level:
    number: int
    code: str
    name: str


@dataclass(frozen=True)
class BlueprintSpec:
    version: int
    levels: tuple[Level, ...]
    rules: tuple[Rule, ...]

    def level(self, number: int) -> Level:
        return next(lvl for lvl in self.levels if lvl.number == number)


@dataclass(frozen=True)
class Decision:
    level: int
    matched: tuple[Rule, ...]
    explanation: str
    proposed_level: int | None = None  # a higher level that needs confirmation
    proposals: tuple[Rule, ...] = field(default=())


def new_facts(before: Mapping, now: Mapping) -> dict[str, tuple]:
    """Facts that moved towards a higher level since ``before``: more states, higher severity, a flag raised."""
    found = {}
    for name, (kind, *_rest) in FACTS.items():
        if name in NOT_NEW_FACTS:
            continue
        old, new = before.get(name), now.get(name)
        if kind == "bool":
            rose = bool(new) and not bool(old)
        elif kind == "severity":
            rose = new in SEVERITIES and (old not in SEVERITIES or SEVERITIES.index(new) > SEVERITIES.index(old))
        else:
            rose = new is not None and (old is None or new > old)
        if rose:
            found[name] = (old, new)
    return found


def _say_change(name: str, change: tuple) -> str:
    kind, _, _, template = FACTS[name]
    old, new = change
    if kind == "bool":
        return template
    return template.format(v=f"{old if old is not None else 'none'} → {new}")


def evaluate(facts: Mapping, blueprint: BlueprintSpec, *, held: Mapping | None = None) -> Decision:
    """The highest level whose automatic rules match, with the rules and a sentence saying why.

    ``held``: the facts when the body in charge last de-escalated. The decision holds against
    everything but new facts: only rules that match *and* read a fact that rose since then count,
    and the explanation names those facts.
    """
    changed = new_facts(held, facts) if held is not None else {}
    matched = [r for r in blueprint.rules if r.matches(facts)
               and (held is None or any(c.fact in changed for c in r.conditions))]
    automatic = [r for r in matched if r.automatic]
    level = max((r.target_level for r in automatic), default=0)
    decisive = tuple(r for r in automatic if r.target_level == level)
    proposals = tuple(r for r in matched if not r.automatic and r.target_level > level)
    proposed = max((r.target_level for r in proposals), default=None)
    spec = blueprint.level(level)
    if decisive:
        reasons = "; or ".join(r.explain(facts) for r in decisive)  # the rule codes stay in Escalation.rules
        explanation = f"Level {level} — {spec.name}: {reasons}."
        if held is not None:
            news = sorted({c.fact for r in decisive for c in r.conditions if c.fact in changed})
            explanation += (" New facts since the de-escalation: "
                            + "; ".join(_say_change(n, changed[n]) for n in news) + ".")
    else:
        explanation = f"Level {level} — {spec.name}: no escalation rule matches."
    if proposed is not None:
        explanation += f" Proposed for confirmation: level {proposed} ({'; '.join(r.explain(facts) for r in proposals)})."
    return Decision(level, decisive, explanation, proposed, proposals)


def validate(blueprint: BlueprintSpec) -> list[str]:
    """Every problem that must be fixed before this Blueprint can be activated."""
    errors = []
    numbers = sorted(lvl.number for lvl in blueprint.levels)
    if not numbers:
        return ["The Blueprint has no crisis levels."]
    if numbers != list(range(len(numbers))):
        errors.append(f"Levels must be numbered 0, 1, 2 … without gaps; found {numbers}.")
    codes = [lvl.code for lvl in blueprint.levels]
    if len(set(codes)) != len(codes):
        errors.append("Level codes must be unique.")
    rule_codes = [r.code for r in blueprint.rules]
    if len(set(rule_codes)) != len(rule_codes):
        errors.append("Rule codes must be unique.")
    for rule in blueprint.rules:
        where = f"Rule {rule.code}"
        if rule.target_level not in numbers:
            errors.append(f"{where} targets level {rule.target_level}, which does not exist.")
        elif rule.target_level == 0:
            errors.append(f"{where} targets level 0: rules only escalate.")
        if not rule.conditions:
            errors.append(f"{where} has no condition.")
        for condition in rule.conditions:
            errors += [f"{where}: {problem}" for problem in _condition_problems(condition)]
    reachable = {r.target_level for r in blueprint.rules}
    for number in numbers[1:]:
        if number not in reachable:
            errors.append(f"Level {number} cannot be reached: no rule targets it.")
    return errors


def _condition_problems(condition: Condition) -> list[str]:
    if condition.fact not in FACTS:
        return [f"unknown fact {condition.fact!r}; known facts: {', '.join(FACTS)}."]
    kind, low, high, _ = FACTS[condition.fact]
    if condition.op not in OPERATORS[kind]:
        return [f"operator {condition.op!r} does not apply to {condition.fact}; use {', '.join(OPERATORS[kind])}."]
    value = condition.value
    if kind == "bool" and not isinstance(value, bool):
        return [f"{condition.fact} is compared with true or false, not {value!r}."]
    if kind == "severity" and value not in SEVERITIES:
        return [f"{value!r} is not a severity; use {', '.join(SEVERITIES)}."]
    if kind == "count" and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
        return [f"{condition.fact} threshold {value!r} is out of range {low}–{high}."]
    return []


def spec_from_data(version: int, levels: list[dict], rules: list[dict]) -> BlueprintSpec:
    """Build a spec from the stored JSON-like rows (models, API input, fixtures)."""
    return BlueprintSpec(
        version=version,
        levels=tuple(Level(int(lv["number"]), lv["code"], lv["name"]) for lv in levels),
        rules=tuple(
            Rule(
                code=r["code"],
                target_level=int(r["target_level"]),
                conditions=tuple(Condition(c.get("fact"), c.get("op"), c.get("value")) for c in r.get("conditions", [])),
                automatic=bool(r.get("automatic", True)),
            )
            for r in rules
        ),
    )
