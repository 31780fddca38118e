"""How the portal's vocabularies meet MISP's; pure tables, shared by the MISP export, feed and import.

MISP names an indicator by attribute *type* and *category*; the portal by ``ObservableType``.
The TLP 2.0 label travels as the ``tlp:`` tag of MISP's own TLP taxonomy and, coarser, as the
event's ``distribution`` (MISP has no notion finer than "this organisation only").
"""

from incidents.observables import ObservableType
from incidents.vocabulary import NIS_TAG_PREDICATES, TLP, Severity

# Observable type -> (MISP attribute type, MISP category). Hashes go into a MISP "file" object.
ATTRIBUTE_OF = {
    ObservableType.IPV4: ("ip-dst", "Network activity"),
    ObservableType.IPV6: ("ip-dst", "Network activity"),
    ObservableType.CIDR: ("ip-dst", "Network activity"),
    ObservableType.DOMAIN: ("domain", "Network activity"),
    ObservableType.URL: ("url", "Network activity"),
    ObservableType.EMAIL: ("email-src", "Payload delivery"),
    ObservableType.MD5: ("md5", "Payload delivery"),
    ObservableType.SHA1: ("sha1", "Payload delivery"),
    ObservableType.SHA256: ("sha256", "Payload delivery"),
    ObservableType.ASN: ("AS", "Network activity"),
    ObservableType.CVE: ("vulnerability", "External analysis"),
}

# MISP attribute type -> observable type, for import. "ip-*" values are told apart by their
# form (IPv4, IPv6, CIDR) in ``observable_type_for``; types not listed here are reported as
# unknown, per attribute, never silently dropped.
OBSERVABLE_OF = {
    "domain": ObservableType.DOMAIN,
    "hostname": ObservableType.DOMAIN,
    "url": ObservableType.URL,
    "link": ObservableType.URL,
    "uri": ObservableType.URL,
    "email": ObservableType.EMAIL,
    "email-src": ObservableType.EMAIL,
    "email-dst": ObservableType.EMAIL,
    "md5": ObservableType.MD5,
    "sha1": ObservableType.SHA1,
    "sha256": ObservableType.SHA256,
    "AS": ObservableType.ASN,
    "vulnerability": ObservableType.CVE,
}
IP_TYPES = frozenset({"ip-src", "ip-dst"})

HASH_TYPES = frozenset({ObservableType.MD5, ObservableType.SHA1, ObservableType.SHA256})

# Whether an attribute is meant for detection (MISP's to_ids), as MISP's own defaults for the type
# (describeTypes.json "sane_defaults"): an AS number or a CVE is context, not something to alert on.
TO_IDS_OF = {obs_type: obs_type not in (ObservableType.ASN, ObservableType.CVE) for obs_type in ATTRIBUTE_OF}

# MISP threat_level_id: 1 high, 2 medium, 3 low, 4 undefined.
THREAT_LEVEL_OF = {Severity.CRITICAL: 1, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}
# MISP analysis: 0 initial, 1 ongoing, 2 completed.
ANALYSIS_OF = {"open": 1, "contained": 1, "resolved": 2, "closed": 2}
# MISP distribution: 0 your organisation only, 1 this community only, 3 all communities.
DISTRIBUTION_OF = {TLP.RED: 0, TLP.AMBER_STRICT: 0, TLP.AMBER: 1, TLP.GREEN: 1, TLP.CLEAR: 3}

TLP_TAG = {label: f"tlp:{label}" for label in TLP.values}  # tlp:clear ... tlp:amber+strict, tlp:red
TLP_OF_TAG = {tag: label for label, tag in TLP_TAG.items()} | {"tlp:white": TLP.CLEAR}


def observable_type_for(misp_type: str, value: str) -> str | None:
    """The portal's type for a MISP attribute, or None when the portal has no such type."""
    if misp_type in IP_TYPES:
        if "/" in value:
            return ObservableType.CIDR
        return ObservableType.IPV6 if ":" in value else ObservableType.IPV4
    return OBSERVABLE_OF.get(misp_type)


def tlp_of_tags(names) -> str | None:
    """The strictest TLP among tag names (``tlp:amber``, ``TLP:RED``…), or None when none is a TLP tag."""
    labels = [TLP_OF_TAG[name.strip().lower()] for name in names if name.strip().lower() in TLP_OF_TAG]
    return max(labels, key=TLP.rank) if labels else None


# The portal's NIS2 sector codes -> the "nis" taxonomy's impact-sectors-impacted values. A sub-sector
# (``digital-infrastructure.trust-services``) is looked up first, then its sector; a sector the taxonomy
# does not name (research, manufacturing…) gets no tag.
SECTOR_IMPACTED_OF = {
    "energy": "energy",
    "transport": "transport",
    "banking": "banking",
    "financial-market-infrastructures": "financial",
    "health": "health",
    "drinking-water": "drinking-water",
    "digital-infrastructure": "digital-infrastructure",
    "digital-infrastructure.public-electronic-communications": "communications",
    "digital-infrastructure.trust-services": "trust-and-identification-services",
    "digital-infrastructure.cloud": "digital-services",
    "digital-providers": "digital-services",
    "public-administration": "government",
}


def category_tag(code: str) -> str:
    """The RSIT machine tag of a category code: ``malicious-code/infected-system`` -> ``rsit:malicious-code="infected-system"``."""
    klass, _, type_ = code.partition("/")
    return f'rsit:{klass}="{type_}"' if type_ else f"rsit:{klass}"


def sector_tag(code: str) -> str | None:
    value = SECTOR_IMPACTED_OF.get(code) or SECTOR_IMPACTED_OF.get(code.split(".", 1)[0])
    return f'nis:impact-sectors-impacted="{value}"' if value else None


def assessment_tags(assessment: dict[str, str]) -> list[str]:
    """The "nis" tags of a situation assessment (``{"impact_severity": "red", "root_cause": "human_error"}``),
    in the taxonomy's order; fields not assessed give none."""
    return [f'nis:{predicate}="{spelling[assessment[field]]}"'
            for predicate, (field, spelling) in NIS_TAG_PREDICATES.items() if assessment.get(field) in spelling]
