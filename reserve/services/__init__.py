"""Every write to the Reserve: one function per user intent, each audited with its Event.

Split by subject; import from here (``from reserve import services``).
"""

from reserve.services.deadlines import sweep_reserve_deadlines
from reserve.services.deployment import close_deployment, confirm_agreement, log_work, post_update, submit_report
from reserve.services.engagements import (
    accept_engagement,
    cancel_engagement,
    decline_engagement,
    engage_provider,
    propose_next,
    time_out_engagement,
)
from reserve.services.providers import register_provider, remove_capacity, set_capacity, update_provider
from reserve.services.requests import (
    CONTENT_FIELDS,
    REQUIRED,
    StaleVersion,
    create_request,
    forward_request,
    missing_content,
    return_request,
    submit_request,
    update_request,
    visible_incidents,
    withdraw_request,
)
from reserve.services.triage import answer_information, assess_request, decide_request, request_information

__all__ = [
    "CONTENT_FIELDS", "REQUIRED", "StaleVersion", "accept_engagement", "answer_information", "assess_request",
    "cancel_engagement", "close_deployment", "confirm_agreement", "create_request", "decide_request", "decline_engagement",
    "engage_provider", "forward_request", "log_work", "missing_content", "post_update", "propose_next",
    "register_provider", "remove_capacity", "request_information", "return_request", "set_capacity", "submit_report",
    "submit_request",
    "sweep_reserve_deadlines", "time_out_engagement", "update_provider", "update_request", "visible_incidents",
    "withdraw_request",
]
