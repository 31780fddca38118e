"""Priority of Reserve requests (CSoA Art. 16): a table of cases, boundaries, queue order, explanations."""

import dataclasses

import pytest

from reserve.priority import MAX_POINTS, PriorityCase, score

BASE = PriorityCase(severity="medium", entity_type="important", impact="significant", member_states_affected=1,
                    spill_over_risk="low", measures_taken="substantial", crisis_level=0, urgency="routine")
# BASE: medium 10 + important 8 + significant 8 + one state 0 + low spill-over 0 + substantial 6
BASE_SCORE = 32


def case(**changes):
    return dataclasses.replace(BASE, **changes)


CASES = [
    ("the baseline request", {}, BASE_SCORE),
    ("low severity", {"severity": "low"}, 22),
    ("high severity", {"severity": "high"}, 42),
    ("critical severity", {"severity": "critical"}, 52),
    ("essential entity comes first", {"entity_type": "essential"}, 42),
    ("public administration entity", {"entity_type": "public_administration"}, 38),
    ("EU institution", {"entity_type": "euiba"}, 38),
    ("entity outside NIS2 classes", {"entity_type": "other"}, 24),
    ("limited impact", {"impact": "limited"}, 24),
    ("severe impact", {"impact": "severe"}, 40),
    ("critical impact", {"impact": "critical"}, 48),
    ("no linked member state counts as national", {"member_states_affected": 0}, 32),
    ("two member states: cross-border", {"member_states_affected": 2}, 36),
    ("three member states", {"member_states_affected": 3}, 39),
    ("four member states, below the top band", {"member_states_affected": 4}, 39),
    ("five member states: top band", {"member_states_affected": 5}, 42),
    ("the whole Union", {"member_states_affected": 27}, 42),
    ("medium spill-over risk", {"spill_over_risk": "medium"}, 36),
    ("high spill-over risk", {"spill_over_risk": "high"}, 40),
    ("only partial measures taken", {"measures_taken": "partial"}, 28),
    ("comprehensive measures taken", {"measures_taken": "comprehensive"}, 36),
    # Beside the score, no points: the crisis level and the declared urgency.
    ("technical cooperation level adds no points", {"crisis_level": 1}, BASE_SCORE),
    ("large-scale incident level adds no points", {"crisis_level": 2}, BASE_SCORE),
    ("cyber crisis level adds no points", {"crisis_level": 3}, BASE_SCORE),
    ("a level above 3 adds no points", {"crisis_level": 4}, BASE_SCORE),
    ("urgent adds no points", {"urgency": "urgent"}, BASE_SCORE),
    ("immediate adds no points", {"urgency": "immediate"}, BASE_SCORE),
    ("every criterion at its top", {"severity": "critical", "entity_type": "essential", "impact": "critical",
                                    "member_states_affected": 6, "spill_over_risk": "high",
                                    "measures_taken": "comprehensive"}, 100),
    ("every criterion at its top, at crisis level 0 and routine", {
        "severity": "critical", "entity_type": "essential", "impact": "critical", "member_states_affected": 6,
        "spill_over_risk": "high", "measures_taken": "comprehensive", "crisis_level": 0, "urgency": "routine"}, 100),
    ("every criterion at its bottom", {"severity": "low", "entity_type": "other", "impact": "limited",
                                       "spill_over_risk": "low", "measures_taken": "partial"}, 2),
    ("every criterion at its bottom, in a cyber crisis, immediate", {
        "severity": "low", "entity_type": "other", "impact": "limited", "spill_over_risk": "low",
        "measures_taken": "partial", "crisis_level": 3, "urgency": "immediate"}, 2),
]


@pytest.mark.parametrize("name,changes,expected", CASES, ids=[c[0] for c in CASES])
def test_csoa_art16_priority_points_come_only_from_the_five_criteria(name, changes, expected):
    priority = score(case(**changes))
    assert priority.score == expected
    assert priority.score == sum(f.points for f in priority.factors)
    assert all(0 <= f.points <= f.max_points for f in priority.factors)


def test_csoa_art16_factor_maxima_add_up_to_100_and_every_factor_is_a_criterion_of_the_law():
    priority = score(BASE)
    assert sum(MAX_POINTS.values()) == 100
    assert [f.name for f in priority.factors] == list(MAX_POINTS)
    assert [f.max_points for f in priority.factors] == list(MAX_POINTS.values())
    assert {"crisis_level", "urgency"}.isdisjoint(MAX_POINTS)
    assert all("CSoA Art. 16, criterion (" in f.reason for f in priority.factors)


LADDERS = [
    ("severity", ["low", "medium", "high", "critical"]),
    ("entity_type", ["other", "important", "public_administration", "essential"]),
    ("entity_type", ["other", "important", "euiba", "essential"]),
    ("impact", ["limited", "significant", "severe", "critical"]),
    ("member_states_affected", [1, 2, 3, 5]),
    ("spill_over_risk", ["low", "medium", "high"]),
    ("measures_taken", ["partial", "substantial", "comprehensive"]),
]
STEPS = [(field, low, high) for field, ladder in LADDERS for low, high in zip(ladder, ladder[1:])]


@pytest.mark.parametrize("field,lower,higher", STEPS, ids=[f"{f}:{lo}->{hi}" for f, lo, hi in STEPS])
def test_csoa_art16_crisis_level_and_urgency_never_overtake_one_step_of_a_criterion(field, lower, higher):
    loud_but_lower = score(case(**{field: lower, "urgency": "immediate", "crisis_level": 3}))
    quiet_but_higher = score(case(**{field: higher, "urgency": "routine", "crisis_level": 0}))
    assert quiet_but_higher.score > loud_but_lower.score
    assert quiet_but_higher.order_key() < loud_but_lower.order_key()


def test_csoa_art16_equal_scores_are_ordered_by_crisis_level_then_urgency():
    ordered = sorted([
        case(crisis_level=0, urgency="immediate"),
        case(crisis_level=2, urgency="routine"),
        case(crisis_level=0, urgency="routine"),
        case(crisis_level=2, urgency="urgent"),
    ], key=lambda c: score(c).order_key())
    assert [(c.crisis_level, c.urgency) for c in ordered] == [
        (2, "urgent"), (2, "routine"), (0, "immediate"), (0, "routine")]
    assert len({score(c).score for c in ordered}) == 1


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
    ordered = sorted(queue, key=lambda name: score(queue[name]).order_key())
    assert ordered == [
        "grid operator hit in three states, large-scale",  # 30+18+24+7+8+10 = 97
        "ransomware at a regional hospital, one state",  # 20+18+16+0+0+6 = 60
        "EU agency data leak, spill-over feared",  # 20+14+8+0+8+6 = 56
        "DDoS on an important e-commerce entity",  # 32
        "phishing at a municipality",  # 0+14+0+0+0+6 = 20
    ]
    assert [score(queue[name]).score for name in ordered] == [97, 60, 56, 32, 20]


def test_explanation_gives_every_factor_its_points_and_shows_level_and_urgency_beside():
    priority = score(case(severity="critical", entity_type="essential", member_states_affected=3,
                          spill_over_risk="high", crisis_level=2, urgency="urgent"))
    text = priority.explanation()
    assert text.startswith(f"Priority {priority.score}/100 (CSoA Art. 16 criteria): ")
    assert "Severity critical of the linked incidents (CSoA Art. 16, criterion (a)) (+30/30)" in text
    assert "The affected entity is a NIS2 essential entity (CSoA Art. 16, criterion (b)) (+18/18)" in text
    assert ("Potential impact on the member state(s) or users is significant (CSoA Art. 16, criterion (c)) (+8/24)"
            in text)
    assert "3 member states are affected: cross-border incident (CSoA Art. 16, criterion (d)) (+7/10)" in text
    assert "Risk of spill-over is high (CSoA Art. 16, criterion (d)) (+8/8)" in text
    assert "Mitigation measures already taken are substantial (CSoA Art. 16, criterion (e)) (+6/10)" in text
    assert ("Beside the score: Linked incidents are at crisis level 2 (large-scale cybersecurity incident): "
            "orders equal scores, no points") in text
    assert "Urgency declared by the requester is urgent" in text
    assert [b.name for b in priority.beside] == ["crisis_level", "urgency"]
    assert (priority.crisis_level, priority.urgency) == (2, "urgent")
    # strongest factor first
    assert text.index("Severity critical") < text.index("Risk of spill-over")


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
