"""The Blueprint engine over the default Blueprint: a table of cases, boundaries included."""

import dataclasses

import pytest

from incidents.blueprint_defaults import LEVELS, RULES
from incidents.escalation import Condition, Rule, evaluate, spec_from_data, validate

DEFAULT = spec_from_data(1, LEVELS, RULES)
BASE = {"affected_member_states": 1, "severity": "medium", "high_criticality_sector": False,
        "national_capacity_exceeded": False, "technical_cooperation_requested": False, "reserve_requested": False,
        "reserve_approved": False, "critical_member_states": 0, "declared_level": 0}

CASES = [
    ("a national incident stays national", {}, 0, []),
    ("two member states: technical cooperation", {"affected_member_states": 2}, 1, ["l1-two-member-states"]),
    ("reporter asks for cooperation", {"technical_cooperation_requested": True}, 1, ["l1-cooperation-requested"]),
    ("critical sector at medium is not enough", {"high_criticality_sector": True}, 0, []),
    ("critical sector at high", {"high_criticality_sector": True, "severity": "high"}, 1, ["l1-critical-sector"]),
    ("critical sector at critical", {"high_criticality_sector": True, "severity": "critical"}, 1, ["l1-critical-sector"]),
    ("two member states at medium stay technical", {"affected_member_states": 2, "severity": "medium"}, 1,
     ["l1-two-member-states"]),
    ("two member states at high: large-scale", {"affected_member_states": 2, "severity": "high"}, 2, ["l2-large-scale"]),
    ("one member state at critical is not large-scale", {"severity": "critical"}, 0, []),
    ("capacity exceeded", {"national_capacity_exceeded": True}, 2, ["l2-capacity-exceeded"]),
    ("Reserve requested", {"reserve_requested": True}, 2, ["l2-reserve-requested"]),
    ("declared crisis", {"declared_level": 3}, 3, ["l3-declared"]),
    ("declared level 2 does not make a crisis", {"declared_level": 2}, 0, []),
]


@pytest.mark.parametrize("name,changes,level,rules", CASES, ids=[c[0] for c in CASES])
def test_default_blueprint_decides_the_level(name, changes, level, rules):
    decision = evaluate({**BASE, **changes}, DEFAULT)
    assert decision.level == level
    assert [r.code for r in decision.matched] == rules


def test_explanation_names_facts_and_thresholds_in_words_not_rule_codes():
    decision = evaluate({**BASE, "affected_member_states": 3, "severity": "high"}, DEFAULT)
    assert decision.explanation == (
        "Level 2 — large-scale cybersecurity incident: 3 member states affected (rule: ≥ 2) "
        "and severity high (rule: ≥ high)."
    )
    assert [r.code for r in decision.matched] == ["l2-large-scale"]  # the codes stay with the decision


@pytest.mark.parametrize("count,proposed", [(5, None), (6, 3), (27, 3)])
def test_many_critical_member_states_only_propose_a_crisis(count, proposed):
    decision = evaluate({**BASE, "affected_member_states": count, "severity": "critical",
                         "critical_member_states": count}, DEFAULT)
    assert decision.level == 2 and decision.proposed_level == proposed
    assert ("Proposed for confirmation: level 3" in decision.explanation) is (proposed is not None)


def test_the_default_blueprint_is_valid():
    assert validate(DEFAULT) == []


def _with(**changes):
    return dataclasses.replace(DEFAULT, **changes)


@pytest.mark.parametrize(
    "blueprint,message",
    [
        (_with(rules=tuple(r for r in DEFAULT.rules if r.target_level != 3)), "Level 3 cannot be reached"),
        (_with(levels=DEFAULT.levels[:2] + DEFAULT.levels[3:]), "without gaps"),
        (_with(rules=DEFAULT.rules + (Rule("x", 1, (Condition("moon_phase", ">=", 1),)),)), "unknown fact 'moon_phase'"),
        (_with(rules=DEFAULT.rules + (Rule("x", 1, (Condition("affected_member_states", ">=", 0),)),)),
         "threshold 0 is out of range 1–40"),
        (_with(rules=DEFAULT.rules + (Rule("x", 1, (Condition("affected_member_states", ">=", 41),)),)), "out of range"),
        (_with(rules=DEFAULT.rules + (Rule("x", 1, (Condition("severity", ">=", "apocalyptic"),)),)), "not a severity"),
        (_with(rules=DEFAULT.rules + (Rule("x", 1, (Condition("reserve_requested", ">=", 1),)),)), "operator '>='"),
        (_with(rules=DEFAULT.rules + (Rule("x", 7, (Condition("reserve_requested", "is", True),)),)),
         "targets level 7, which does not exist"),
        (_with(rules=DEFAULT.rules + (Rule("x", 0, (Condition("reserve_requested", "is", True),)),)), "only escalate"),
        (_with(rules=DEFAULT.rules + (Rule("x", 1, ()),)), "has no condition"),
        (_with(rules=DEFAULT.rules + (DEFAULT.rules[0],)), "Rule codes must be unique"),
    ],
)
def test_invalid_blueprints_are_refused_with_a_clear_error(blueprint, message):
    assert any(message in error for error in validate(blueprint)), validate(blueprint)
