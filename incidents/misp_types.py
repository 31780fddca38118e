"""How the portal's vocabularies meet MISP's; pure tables, shared by the MISP export, feed and import.

MISP names an indicator by attribute *type* and *category*; the portal by ``ObservableType``.
The TLP 2.0 label travels as the ``tlp:`` tag of MISP's own TLP taxonomy and, coarser, as the
event's ``distribution`` (MISP has no notion finer than "this organisation only").
"""

from incidents.observables import ObservableType
from incidents.vocabulary import TLP, Severity

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
