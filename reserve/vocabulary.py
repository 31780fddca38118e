"""The vocabularies of the EU Cybersecurity Reserve (DOMAIN.md "The EU Cybersecurity Reserve").

Fixed vocabularies stay choices (they are what the priority and matching modules score);
sectors, member states and organisations are rows of incidents and liaison.
"""

import re

from django.db import models

# Bounds of the person-days a request or an engagement asks for and a provider commits in one
# period: the same on the page and the API, and within the columns in both modes (SQLite keeps
# 64-bit integers where PostgreSQL's integer column stops at 2**31 - 1).
MAX_PERSON_DAYS = 100_000
MAX_COMMITTED_PERSON_DAYS = 1_000_000


class Service(models.TextChoices):
    """Typical Reserve services (DOMAIN.md); codes shared with reserve.matching."""

    INCIDENT_RESPONSE = "incident_response", "Incident response and handling"
    DIGITAL_FORENSICS = "digital_forensics", "Digital forensics"
    MALWARE_ANALYSIS = "malware_analysis", "Malware analysis"
    THREAT_HUNTING = "threat_hunting", "Threat hunting"
    CONTAINMENT_ERADICATION = "containment_eradication", "Containment and eradication"
    RECOVERY_RESTORATION = "recovery_restoration", "Recovery and restoration"
    CRISIS_COMMUNICATION = "crisis_communication", "Crisis communication support"
    VULNERABILITY_ASSESSMENT = "vulnerability_assessment", "Vulnerability assessment and coordinated testing"


class ImpactLevel(models.TextChoices):
    """Potential impact on the member state(s) or users (CSoA Art. 16, criterion (c))."""

    LIMITED = "limited", "Limited"
    SIGNIFICANT = "significant", "Significant"
    SEVERE = "severe", "Severe"
    CRITICAL = "critical", "Critical"


class SpillOverRisk(models.TextChoices):
    """Risk of spill-over to other member states or sectors (CSoA Art. 16, criterion (d))."""

    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class MeasuresLevel(models.TextChoices):
    """How far the requester's own mitigation went (Art. 15(2), CSoA Art. 16, criterion (e))."""

    PARTIAL = "partial", "Partial"
    SUBSTANTIAL = "substantial", "Substantial"
    COMPREHENSIVE = "comprehensive", "Comprehensive"


class ClearanceLevel(models.TextChoices):
    """The security clearance deployed staff must hold (CSoA Art. 17(2)), by EU classification level.

    Personnel security clearances exist from CONFIDENTIEL UE/EU CONFIDENTIAL up (Council Decision
    2013/488/EU); a clearance at a higher level covers the lower ones. Codes shared with
    reserve.matching, which reads the level out of the clearances stored on a provider's profile.
    """

    CONFIDENTIAL = "confidential", "CONFIDENTIEL UE/EU CONFIDENTIAL or above"
    SECRET = "secret", "SECRET UE/EU SECRET or above"
    TOP_SECRET = "top_secret", "TRÈS SECRET UE/EU TOP SECRET"


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"
    URGENT = "urgent", "Urgent"
    IMMEDIATE = "immediate", "Immediate"


class CertificationStatus(models.TextChoices):
    """A provider's standing: vetted by the procurement (Art. 17(2)) or certified under the EU scheme."""

    CERTIFIED = "certified", "Certified (EU managed security services scheme)"
    VETTED = "vetted", "Vetted by the procurement"
    PENDING = "pending", "Vetting pending"
    SUSPENDED = "suspended", "Suspended"


# Standings under which a provider may be engaged (within its validity dates).
ENGAGEABLE_CERTIFICATION = frozenset({CertificationStatus.CERTIFIED, CertificationStatus.VETTED})


class Recommendation(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class DecisionOutcome(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Clock(models.TextChoices):
    """The Reserve's clocks, each a deadline row chased by the sweep."""

    RESPONSE = "response", "Answer to the request (contracting authority)"
    PROVIDER_RESPONSE = "provider_response", "Provider's answer to the engagement"
    AFTER_ACTION_REPORT = "after_action_report", "After-action report (user)"


_LANGUAGE = re.compile(r"^[a-z]{2}$")


def normalise_languages(values) -> list[str]:
    """ISO 639-1 codes, lower-cased, de-duplicated in order; raises ValueError naming a bad one."""
    if isinstance(values, str):
        values = [v for v in re.split(r"[\s,;]+", values) if v]
    out: list[str] = []
    for value in values or ():
        code = str(value).strip().lower()
        if not _LANGUAGE.match(code):
            raise ValueError(f"{value!r} is not an ISO 639-1 language code (two letters, e.g. de, fr, en).")
        if code not in out:
            out.append(code)
    return out


def normalise_services(values) -> list[str]:
    """Known service codes, de-duplicated in order; raises ValueError naming an unknown one."""
    if isinstance(values, str):
        values = [v for v in re.split(r"[\s,;]+", values) if v]
    out: list[str] = []
    for value in values or ():
        code = str(value).strip()
        if code not in Service.values:
            raise ValueError(f"Unknown service {value!r}; use one of {', '.join(Service.values)}.")
        if code not in out:
            out.append(code)
    return out
