"""Incident tables, one module per subject: incidents and their children, the Blueprint."""

from incidents.models.alerts import Alert
from incidents.models.blueprint import (
    Blueprint,
    CrisisLevel,
    Escalation,
    EscalationRule,
    LevelProposal,
)
from incidents.models.incidents import (
    Attachment,
    CrossBorderNotice,
    Deadline,
    Incident,
    IncidentCategory,
    IncidentGroupObjectPermission,
    Observable,
    Report,
    Sector,
    Share,
    StixIdentity,
    TimelineEntry,
)
from incidents.models.tags import Tag, TagVocabulary
from incidents.models.tasks import Task

__all__ = [
    "Alert", "Attachment", "Blueprint", "CrossBorderNotice", "CrisisLevel", "Deadline", "Escalation", "EscalationRule", "Incident",
    "IncidentCategory", "LevelProposal", "IncidentGroupObjectPermission", "Observable", "Report", "Sector", "Share",
    "StixIdentity", "Tag", "TagVocabulary", "Task", "TimelineEntry",
]
