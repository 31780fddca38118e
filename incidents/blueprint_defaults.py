"""The default Blueprint (DOMAIN.md "Levels of cooperation"), installed by data migrations.

ENISA edits thresholds and rules as new versions in the portal. ``LEVELS``/``RULES`` are
version 1 exactly as migration 0005 installed it (frozen: that migration reads them);
``v2_levels``/``v2_rules`` turn a version into version 2 (migration 0009), which encodes
the bodies in charge, the IPCR modes and the corrected default rules.
"""

LEVELS = [
    {"number": 0, "code": "national", "name": "national handling", "network": "national",
     "description": "Handled by the member state's CSIRT and cyber crisis management authority.",
     "alerted_groups": [], "ack_minutes": None, "update_interval_minutes": None, "expected_reports": [],
     "in_charge_groups": [], "declare_roles": []},
    {"number": 1, "code": "technical", "name": "technical cooperation", "network": "csirts_network",
     "description": "Technical cooperation in the CSIRTs Network: indicators, analysis, situational awareness.",
     "alerted_groups": ["community:csirts-network"], "ack_minutes": 240, "update_interval_minutes": None,
     "expected_reports": ["technical situation report"],
     "in_charge_groups": ["community:csirts-network"], "declare_roles": ["analyst", "crisis_manager"]},
    {"number": 2, "code": "operational", "name": "large-scale cybersecurity incident", "network": "eu_cyclone",
     "description": "Coordinated management in EU-CyCLONe with liaison officers and shared situational awareness.",
     "alerted_groups": ["community:eu-cyclone"], "ack_minutes": 60, "update_interval_minutes": 12 * 60,
     "expected_reports": ["situation update", "impact assessment"],
     "in_charge_groups": ["community:eu-cyclone"], "declare_roles": ["crisis_manager", "liaison_officer"]},
    {"number": 3, "code": "political", "name": "cyber crisis", "network": "ipcr",
     "description": "Political level: the Council's IPCR with the Commission and the High Representative.",
     "alerted_groups": ["community:eu-cyclone"], "ack_minutes": 30, "update_interval_minutes": 6 * 60,
     "expected_reports": ["ISAA contribution"],
     "in_charge_groups": ["community:eu-cyclone"], "declare_roles": ["crisis_manager", "liaison_officer"]},
]

RULES = [
    {"code": "l1-two-member-states", "target_level": 1, "automatic": True,
     "description": "Affects at least two member states.",
     "conditions": [{"fact": "affected_member_states", "op": ">=", "value": 2}]},
    {"code": "l1-cooperation-requested", "target_level": 1, "automatic": True,
     "description": "The reporter asks for technical cooperation.",
     "conditions": [{"fact": "technical_cooperation_requested", "op": "is", "value": True}]},
    {"code": "l1-critical-sector", "target_level": 1, "automatic": True,
     "description": "An entity in a sector of high criticality, at severity high or above.",
     "conditions": [{"fact": "high_criticality_sector", "op": "is", "value": True},
                    {"fact": "severity", "op": ">=", "value": "high"}]},
    {"code": "l2-capacity-exceeded", "target_level": 2, "automatic": True,
     "description": "NIS2 Art. 6(7): exceeds a member state's capacity to respond.",
     "conditions": [{"fact": "national_capacity_exceeded", "op": "is", "value": True}]},
    {"code": "l2-large-scale", "target_level": 2, "automatic": True,
     "description": "NIS2 Art. 6(7): significant impact on at least two member states.",
     "conditions": [{"fact": "affected_member_states", "op": ">=", "value": 2},
                    {"fact": "severity", "op": ">=", "value": "high"}]},
    {"code": "l2-reserve-requested", "target_level": 2, "automatic": True,
     "description": "EU Cybersecurity Reserve support has been requested.",
     "conditions": [{"fact": "reserve_requested", "op": "is", "value": True}]},
    {"code": "l3-declared", "target_level": 3, "automatic": True,
     "description": "EU-CyCLONe declares a cyber crisis.",
     "conditions": [{"fact": "declared_level", "op": ">=", "value": 3}]},
    {"code": "l3-proposal-many-critical", "target_level": 3, "automatic": False,
     "description": "Many member states hit at critical severity: proposed to EU-CyCLONe for confirmation.",
     "conditions": [{"fact": "critical_member_states", "op": ">=", "value": 6}]},
]


# --- Version 2 ----------------------------------------------------------------------------------
# Who declares, lowers and proposes each level (incidents/bodies.py), by level number.
BODIES_V2 = {
    0: {"declare_bodies": [], "deescalate_bodies": [], "propose_bodies": [], "declare_roles": []},
    1: {"declare_bodies": ["reporting_state_csirt", "reporting_state_crisis_authority"],
        "deescalate_bodies": ["reporting_state_csirt", "reporting_state_crisis_authority"],
        "propose_bodies": [], "declare_roles": ["analyst", "crisis_manager", "liaison_officer"]},
    2: {"declare_bodies": ["reporting_state_crisis_authority", "eu_cyclone_chair"],
        "deescalate_bodies": ["reporting_state_crisis_authority", "eu_cyclone_chair"],
        "propose_bodies": [], "declare_roles": ["crisis_manager", "liaison_officer"]},
    # The political level: the Council Presidency alone activates and deactivates it (IPCR);
    # EU-CyCLONe (and the engine) only propose it.
    3: {"declare_bodies": ["council_presidency"], "deescalate_bodies": ["council_presidency"],
        "propose_bodies": ["eu_cyclone"], "declare_roles": ["crisis_manager", "liaison_officer"]},
}
IPCR_MODES = [
    {"code": "monitoring", "name": "Monitoring", "update_interval_minutes": 24 * 60},
    {"code": "information_sharing", "name": "Information sharing", "update_interval_minutes": 12 * 60},
    {"code": "full_activation", "name": "Full activation", "update_interval_minutes": 6 * 60},
]
DESCRIPTIONS_V2 = {
    "l1-critical-sector": "An entity in a sector of high criticality, at severity high or above, with possible "
                          "cross-border impact (subsidiarity: a purely national incident stays national).",
    "l3-declared": "The Council Presidency activates the political level (IPCR).",
    "l3-proposal-many-critical": "Many member states hit at critical severity: proposed to the Council Presidency.",
}
DROPPED_V2 = {"l2-reserve-requested"}  # a Reserve request alone never makes an incident large-scale


def v2_levels(levels: list[dict]) -> list[dict]:
    """Levels of any version with version 2's bodies in charge and, at the political level, the IPCR modes."""
    result = []
    for level in levels:
        level = {k: v for k, v in level.items() if k != "in_charge_groups"}
        level.update(BODIES_V2.get(level["number"], BODIES_V2[2]))
        level["modes"] = IPCR_MODES if level.get("network") == "ipcr" else []
        if level["number"] == 1:  # levels are cumulative: the technical level's network is alerted from any jump
            level["alerted_groups"] = sorted(set(level.get("alerted_groups") or []) | {"community:csirts-network"})
        result.append(level)
    return result


def v2_rules(rules: list[dict]) -> list[dict]:
    """The default rules as DOMAIN.md states them: no Reserve rule, cross-border impact for high criticality."""
    result = []
    for rule in rules:
        if rule["code"] in DROPPED_V2:
            continue
        rule = {**rule, "conditions": list(rule["conditions"])}
        if rule["code"] == "l1-critical-sector" and not any(c["fact"] == "cross_border_impact"
                                                             for c in rule["conditions"]):
            rule["conditions"].append({"fact": "cross_border_impact", "op": "is", "value": True})
        rule["description"] = DESCRIPTIONS_V2.get(rule["code"], rule.get("description", ""))
        result.append(rule)
    return result
