"""Priority of Reserve requests (CSoA Art. 16(2)): a table of cases, boundaries, queue order, explanations."""

import dataclasses

import pytest

from reserve.priority import MAX_POINTS, PriorityCase, score

BASE = PriorityCase(severity="medium", entity_type="important", impact="significant", member_states_affected=1,
                    spill_over_risk="low", measures_taken="substantial", crisis_level=0, urgency="routine")
# BASE: medium 8 + important 7 + significant 7 + one state 0 + low spill-over 0 + substantial 6 + level 0 + routine 0
BASE_SCORE = 28


def case(**changes):
    return dataclasses.replace(BASE, **changes)


CASES = [
    ("the baseline request", {}, BASE_SCORE),
    ("low severity", {"severity": "low"}, 20),
    ("high severity", {"severity": "high"}, 37),
    ("critical severity", {"severity": "critical"}, 45),
    ("essential entity comes first", {"entity_type": "essential"}, 36),
    ("public administration entity", {"entity_type": "public_administration"}, 33),
    ("EU institution", {"entity_type": "euiba"}, 33),
    ("entity outside NIS2 classes", {"entity_type": "other"}, 21),
    ("limited impact", {"impact": "limited"}, 21),
    ("severe impact", {"impact": "severe"}, 35),
    ("critical impact", {"impact": "critical"}, 41),
    ("no linked member state counts as national", {"member_states_affected": 0}, 28),
    ("two member states: cross-border", {"member_states_affected": 2}, 31),
    ("three member states", {"member_states_affected": 3}, 34),
    ("four member states, below the top band", {"member_states_affected": 4}, 34),
    ("five member states: top band", {"member_states_affected": 5}, 37),
    ("the whole Union", {"member_states_affected": 27}, 37),
    ("medium spill-over risk", {"spill_over_risk": "medium"}, 32),
    ("high spill-over risk", {"spill_over_risk": "high"}, 35),
    ("only partial measures taken", {"measures_taken": "partial"}, 24),
    ("comprehensive measures taken", {"measures_taken": "comprehensive"}, 32),
    ("technical cooperation level", {"crisis_level": 1}, 32),
    ("large-scale incident level", {"crisis_level": 2}, 36),
    ("cyber crisis level", {"crisis_level": 3}, 40),
    ("a level above 3 scores like a crisis", {"crisis_level": 4}, 40),
    ("urgent", {"urgency": "urgent"}, 29),
    ("immediate", {"urgency": "immediate"}, 30),
    ("everything at its top", {"severity": "critical", "entity_type": "essential", "impact": "critical",
                               "member_states_affected": 6, "spill_over_risk": "high",
                               "measures_taken": "comprehensive", "crisis_level": 3, "urgency": "immediate"}, 100),
    ("everything at its bottom", {"severity": "low", "entity_type": "other", "impact": "limited",
                                  "spill_over_risk": "low", "measures_taken": "partial", "urgency": "routine"}, 2),
]


@pytest.mark.parametrize("name,changes,expected", CASES, ids=[c[0] for c in CASES])
def test_priority_score_over_a_table_of_cases(name, changes, expected):
    priority = score(case(**changes))
    assert priority.score == expected
    assert priority.score == sum(f.points for f in priority.factors)
    assert all(0 <= f.points <= f.max_points for f in priority.factors)


def test_factor_maxima_add_up_to_100_and_every_factor_is_reported():
    priority = score(BASE)
    assert sum(MAX_POINTS.values()) == 100
    assert [f.name for f in priority.factors] == list(MAX_POINTS)
    assert [f.max_points for f in priority.factors] == list(MAX_POINTS.values())


LADDERS = [
    ("severity", ["low", "medium", "high", "critical"]),
    ("entity_type", ["other", "important", "public_administration", "essential"]),
    ("entity_type", ["other", "important", "euiba", "essential"]),
    ("impact", ["limited", "significant", "severe", "critical"]),
    ("member_states_affected", [1, 2, 3, 5]),
    ("spill_over_risk", ["low", "medium", "high"]),
    ("measures_taken", ["partial", "substantial", "comprehensive"]),
    ("crisis_level", [0, 1, 2, 3]),
]
STEPS = [(field, low, high) for field, ladder in LADDERS for low, high in zip(ladder, ladder[1:])]


@pytest.mark.parametrize("field,lower,higher", STEPS, ids=[f"{f}:{lo}->{hi}" for f, lo, hi in STEPS])
def test_urgency_alone_never_overtakes_one_step_of_another_criterion(field, lower, higher):
    immediate_but_lower = score(case(**{field: lower, "urgency": "immediate"})).score
    routine_but_higher = score(case(**{field: higher, "urgency": "routine"})).score
    assert routine_but_higher > immediate_but_lower


def test_urgency_breaks_a_tie_between_otherwise_equal_requests():
    assert score(case(urgency="immediate")).score > score(case(urgency="urgent")).score > score(BASE).score


def test_essential_entities_outrank_every_other_entity_type():
    essential = score(case(entity_type="essential")).score
    others = [score(case(entity_type=t)).score for t in ("public_administration", "euiba", "important", "other")]
    assert essential > max(others)


def test_triage_queue_is_ordered_by_priority():
    queue = {
        "ransomware at a regional hospital, one state": case(severity="high", entity_type="essential", impact="severe",
                                                             urgency="immediate"),
        "phishing at a municipality": case(severity="low", entity_type="public_administration", impact="limited",
                                           urgency="urgent"),
        "grid operator hit in three states, large-scale": case(
            severity="critical", entity_type="essential", impact="critical", member_states_affected=3,
            spill_over_risk="high", measures_taken="comprehensive", crisis_level=2),
        "DDoS on an important e-commerce entity": case(urgency="immediate"),
        "EU agency data leak, spill-over feared": case(severity="high", entity_type="euiba", impact="significant",
                                                       spill_over_risk="high", crisis_level=1),
    }
    ordered = sorted(queue, key=lambda name: -score(queue[name]).score)
    assert ordered == [
        "grid operator hit in three states, large-scale",  # 25+15+20+6+7+10+8+0 = 91
        "ransomware at a regional hospital, one state",  # 17+15+14+0+0+6+0+2 = 54
        "EU agency data leak, spill-over feared",  # 17+12+7+0+7+6+4+0 = 53
        "DDoS on an important e-commerce entity",  # 28+2 = 30
        "phishing at a municipality",  # 0+12+0+0+0+6+0+1 = 19
    ]
    assert [score(queue[name]).score for name in ordered] == [91, 54, 53, 30, 19]



def test_explanation_gives_every_factor_its_points_and_reason():
    priority = score(case(severity="critical", entity_type="essential", member_states_affected=3,
                          spill_over_risk="high", crisis_level=2, urgency="urgent"))
    text = priority.explanation()
    assert text.startswith(f"Priority {priority.score}/100: ")
    assert "Severity critical of the linked incidents (Art. 16(2)(a)) (+25/25)" in text
    assert "The affected entity is a NIS2 essential entity (Art. 16(2)(b)) (+15/15)" in text
    assert "Potential impact on the member state(s) or users is significant (Art. 16(2)(c)) (+7/20)" in text
    assert "3 member states are affected: cross-border incident (Art. 16(2)(d)) (+6/9)" in text
    assert "Risk of spill-over is high (Art. 16(2)(d)) (+7/7)" in text
    assert "Mitigation measures already taken are substantial (Art. 16(2)(e)) (+6/10)" in text
    assert "Linked incidents are at crisis level 2 (large-scale cybersecurity incident) (+8/12)" in text
    assert "Urgency declared by the requester is urgent (tie-breaker) (+1/2)" in text
    # strongest factor first
    assert text.index("Severity critical") < text.index("Urgency declared")


def test_a_national_request_says_it_has_no_cross_border_dimension():
    factor = score(BASE).factor("cross_border")
    assert factor.points == 0
    assert factor.reason.startswith("A single member state is affected")


@pytest.mark.parametrize("changes,field", [
    ({"severity": "apocalyptic"}, "severity"),
    ({"entity_type": "essential-ish"}, "entity_type"),
    ({"impact": "huge"}, "impact"),
    ({"spill_over_risk": "none"}, "spill_over_risk"),
    ({"measures_taken": "none"}, "measures_taken"),
    ({"urgency": "yesterday"}, "urgency"),
    ({"member_states_affected": -1}, "member_states_affected"),
    ({"crisis_level": -1}, "crisis_level"),
])
def test_values_outside_the_vocabulary_are_refused_naming_the_field(changes, field):
    with pytest.raises(ValueError, match=field):
        score(case(**changes))
