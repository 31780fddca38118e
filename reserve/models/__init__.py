"""Reserve tables, one module per subject: providers, requests, engagements and clocks."""

from reserve.models.engagements import DeploymentUpdate, Engagement, ReserveDeadline, WorkLog
from reserve.models.providers import ProviderCapacity, ProviderProfile
from reserve.models.requests import (
    AfterActionReport,
    AssistanceRequest,
    AssistanceRequestGroupObjectPermission,
    Assessment,
    Decision,
    InformationRequest,
)

__all__ = [
    "AfterActionReport", "Assessment", "AssistanceRequest", "AssistanceRequestGroupObjectPermission", "Decision",
    "DeploymentUpdate", "Engagement", "InformationRequest", "ProviderCapacity", "ProviderProfile", "ReserveDeadline",
    "WorkLog",
]
