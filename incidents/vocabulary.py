"""The domain vocabularies of incidents (DOMAIN.md), as choices and as seed data.

Sectors and categories are rows (data migrations seed them from here) so ENISA can
keep them current; TLP, severity and status are fixed vocabularies and stay choices.
"""

from django.db import models


class TLP(models.TextChoices):
    """Traffic Light Protocol 2.0 (FIRST), from least to most restrictive."""

    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber+strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"

    @classmethod
    def rank(cls, value: str) -> int:
        return cls.values.index(value)


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"

    @classmethod
    def rank(cls, value: str) -> int:
        return cls.values.index(value)


class EntityType(models.TextChoices):
    """NIS2 Art. 3: the reporting entity's class drives reporting duties and Reserve priority."""

    ESSENTIAL = "essential", "Essential entity"
    IMPORTANT = "important", "Important entity"
    PUBLIC_ADMINISTRATION = "public_administration", "Public administration entity"
    EUIBA = "euiba", "EU institution, body, office or agency"
    OTHER = "other", "Other"


# NIS2 Annex I (high criticality) and Annex II (other critical): (code, name, sub-sectors)
SECTORS_ANNEX_I = [
    ("energy", "Energy", [("electricity", "Electricity"), ("district-heating-cooling", "District heating and cooling"),
                          ("oil", "Oil"), ("gas", "Gas"), ("hydrogen", "Hydrogen")]),
    ("transport", "Transport", [("air", "Air"), ("rail", "Rail"), ("water", "Water"), ("road", "Road")]),
    ("banking", "Banking", []),
    ("financial-market-infrastructures", "Financial market infrastructures", []),
    ("health", "Health", []),
    ("drinking-water", "Drinking water", []),
    ("waste-water", "Waste water", []),
    ("digital-infrastructure", "Digital infrastructure", [
        ("ixp", "Internet exchange points"), ("dns", "DNS service providers"), ("tld", "TLD name registries"),
        ("cloud", "Cloud computing service providers"), ("data-centres", "Data centre service providers"),
        ("cdn", "Content delivery networks"), ("trust-services", "Trust service providers"),
        ("public-electronic-communications", "Public electronic communications networks and services"),
    ]),
    ("ict-service-management", "ICT service management (business-to-business)", [
        ("msp", "Managed service providers"), ("mssp", "Managed security service providers"),
    ]),
    ("public-administration", "Public administration", [("central", "Central government"), ("regional", "Regional government")]),
    ("space", "Space", []),
]
SECTORS_ANNEX_II = [
    ("postal", "Postal and courier services", []),
    ("waste-management", "Waste management", []),
    ("chemicals", "Manufacture, production and distribution of chemicals", []),
    ("food", "Production, processing and distribution of food", []),
    ("manufacturing", "Manufacturing", [
        ("medical-devices", "Medical devices and in vitro diagnostic medical devices"),
        ("computers-electronics", "Computer, electronic and optical products"),
        ("electrical-equipment", "Electrical equipment"), ("machinery", "Machinery and equipment"),
        ("motor-vehicles", "Motor vehicles, trailers and semi-trailers"), ("other-transport", "Other transport equipment"),
    ]),
    ("digital-providers", "Digital providers", [
        ("online-marketplaces", "Online marketplaces"), ("search-engines", "Online search engines"),
        ("social-networks", "Social networking services platforms"),
    ]),
    ("research", "Research", []),
]

# Reference Security Incident Taxonomy (RSIT): class -> types
RSIT = {
    "abusive-content": ["spam", "harmful-speech", "violence"],
    "malicious-code": ["infected-system", "c2-server", "malware-distribution", "malware-configuration"],
    "information-gathering": ["scanner", "sniffing", "social-engineering"],
    "intrusion-attempts": ["ids-alert", "brute-force", "exploit"],
    "intrusions": ["privileged-account-compromise", "unprivileged-account-compromise", "application-compromise", "burglary"],
    "availability": ["dos", "ddos", "misconfiguration", "sabotage", "outage"],
    "information-content-security": ["unauthorised-information-access", "unauthorised-information-modification", "data-loss"],
    "fraud": ["unauthorized-use-of-resources", "copyright", "masquerade", "phishing"],
    "vulnerable": ["weak-crypto", "ddos-amplifier", "potentially-unwanted-accessible", "information-disclosure", "vulnerable-system"],
    "other": ["other"],
    "test": ["test"],
}


def sector_rows():
    """(code, name, annex, parent_code) for every sector and sub-sector; sub-sector codes are dotted."""
    for annex, sectors in (("I", SECTORS_ANNEX_I), ("II", SECTORS_ANNEX_II)):
        for code, name, subs in sectors:
            yield code, name, annex, None
            for sub_code, sub_name in subs:
                yield f"{code}.{sub_code}", sub_name, annex, code


def category_rows():
    """(code, class, type) with code ``<class>/<type>``."""
    for klass, types in RSIT.items():
        for type_ in types:
            yield f"{klass}/{type_}", klass, type_


class Significance(models.TextChoices):
    """NIS2 Art. 23(3): only a significant incident carries the mandatory reporting clocks.

    Blank (not stated) is treated as significant: the clocks run until the reporter says otherwise.
    """

    SIGNIFICANT = "significant", "Significant incident (Art. 23(3))"
    VOLUNTARY = "voluntary", "Voluntary notification (Art. 30): not significant"
    NEAR_MISS = "near_miss", "Near miss (Art. 30): prevented from materialising"


class SignificanceGround(models.TextChoices):
    """Why an incident is significant (NIS2 Art. 23(3)(a) and (b))."""

    OPERATIONAL_DISRUPTION = "operational_disruption", "Severe operational disruption of the services (Art. 23(3)(a))"
    FINANCIAL_LOSS = "financial_loss", "Financial loss for the entity (Art. 23(3)(a))"
    DAMAGE_TO_OTHERS = "damage_to_others", "Considerable material or non-material damage to others (Art. 23(3)(b))"


# --- The NIS Cooperation Group's taxonomy for situation updates (DOMAIN.md) ---------------------
# Each situation update may assess the four; blank means "not assessed" in that update.


class ImpactSeverity(models.TextChoices):
    RED = "red", "Red — very large"
    YELLOW = "yellow", "Yellow — large"
    GREEN = "green", "Green — minor"
    WHITE = "white", "White — none"


class ImpactOutlook(models.TextChoices):
    """How the impact is expected to develop over the next 6 hours."""

    IMPROVING = "improving", "Improving"
    STABLE = "stable", "Stable"
    WORSENING = "worsening", "Worsening"


class RootCause(models.TextChoices):
    SYSTEM_FAILURE = "system_failure", "System failure"
    NATURAL_PHENOMENON = "natural_phenomenon", "Natural phenomenon"
    HUMAN_ERROR = "human_error", "Human error"
    MALICIOUS_ACTION = "malicious_action", "Malicious action"
    THIRD_PARTY_FAILURE = "third_party_failure", "Third-party failure"


class ThreatSeverity(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# TimelineEntry field -> (label, vocabulary): one list for the model, forms, API, filters and exports.
SITUATION_TAXONOMY = {
    "impact_severity": ("Impact severity", ImpactSeverity),
    "impact_outlook": ("Outlook (next 6 hours)", ImpactOutlook),
    "root_cause": ("Root cause", RootCause),
    "threat_severity": ("Threat severity", ThreatSeverity),
}
NOT_ASSESSED = "Not assessed"


def situation_badges(values: dict) -> list[dict]:
    """The four assessments as labelled values for a page: ``{"field", "label", "value", "display"}`` each,
    ``display`` the human label ("Not assessed" when blank)."""
    badges = []
    for field, (label, vocabulary) in SITUATION_TAXONOMY.items():
        value = values.get(field) or ""
        display = vocabulary(value).label if value in vocabulary.values else NOT_ASSESSED
        badges.append({"field": field, "label": label, "value": value, "display": display})
    return badges


# --- Tags: MISP machine tags from the vocabularies CSIRTs already use, plus free words ----------
# A machine tag is ``namespace:predicate`` or ``namespace:predicate="value"`` (MISP taxonomies).
# The vocabularies are rows (TagVocabulary, Tag) seeded from here, so ENISA can keep them current.

TAG_VOCABULARIES = {
    # namespace: (name, description)
    "tlp": ("Traffic Light Protocol 2.0", "FIRST TLP 2.0 labels. On the portal a tlp: tag is the object's own "
                                          "label: it is changed with the label, never as a tag."),
    "rsit": ("Reference Security Incident Taxonomy", "The CSIRTs Network's incident classes and types (RSIT)."),
    "nis": ("NIS Cooperation Group taxonomy", "The Cooperation Group's taxonomy for large-scale incidents (the "
                                              "Blueprint): impact severity, outlook, root cause, threat severity."),
    "free": ("Free tags", "Any word or short phrase, e.g. ransomware or operation-x."),
}
FREE_TAGS = "free"

# MISP's "nis" predicates for the four assessments of a situation update, with MISP's spelling of each value.
NIS_TAG_PREDICATES = {
    "impact-severity": ("impact_severity", {v: v for v in ImpactSeverity.values}),
    "impact-outlook": ("impact_outlook", {v: v for v in ImpactOutlook.values}),
    "nature-root-cause": ("root_cause", {
        RootCause.SYSTEM_FAILURE: "system-failures", RootCause.NATURAL_PHENOMENON: "natural-phenomena",
        RootCause.HUMAN_ERROR: "human-errors", RootCause.MALICIOUS_ACTION: "malicious-actions",
        RootCause.THIRD_PARTY_FAILURE: "third-party-failures"}),
    "nature-severity": ("threat_severity", {v: v for v in ThreatSeverity.values}),
}


def tag_rows():
    """(namespace, machine tag, label) of every tag of the controlled vocabularies."""
    for value, label in TLP.choices:
        yield "tlp", f"tlp:{value}", label
    for klass, types in RSIT.items():
        yield "rsit", f"rsit:{klass}", f"RSIT {klass}"
        for type_ in types:
            yield "rsit", f'rsit:{klass}="{type_}"', f"RSIT {klass}/{type_}"
    for predicate, (field, spelling) in NIS_TAG_PREDICATES.items():
        label, vocabulary = SITUATION_TAXONOMY[field]
        for value, shown in vocabulary.choices:
            yield "nis", f'nis:{predicate}="{spelling[value]}"', f"{label}: {shown}"
