"""E-mail about Reserve requests and engagements, per the recipients' notification settings.

E-mail leaves the portal, so it carries no request content: the reference, what happened
and a link. The details stay behind the login (like incidents/notifications.py). Written to the outbox
in the transaction of the step they tell about (csoa_portal/outbox.py).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from csoa_portal import display
from csoa_portal.outbox import Mail, enqueue_emails, occasion
from incidents.notifications import recipients_of
from liaison.selectors import organisation_names
from django.contrib.auth.models import Group
from reserve.models import AssistanceRequest

SUBJECTS = {
    "request.routed": "[CSoA Portal] Reserve request {ref} awaits your forwarding as single point of contact",
    "request.returned": "[CSoA Portal] Reserve request {ref} was returned by your single point of contact",
    "request.submitted": "[CSoA Portal] New Reserve request {ref}",
    "request.info_requested": "[CSoA Portal] More information requested on Reserve request {ref}",
    "request.decided": "[CSoA Portal] Decision on Reserve request {ref}",
    "provider.engaged": "[CSoA Portal] Reserve engagement offered: {ref} — answer in the portal",
    "deployment.closed": "[CSoA Portal] Deployment on {ref} closed — after-action report due",
    "deadline.reminder": "[CSoA Portal] REMINDER: a Reserve clock on {ref} runs out soon",
    "deadline.overdue": "[CSoA Portal] OVERDUE: a Reserve clock on {ref} has run out",
}


def duration_words(delta: timedelta) -> str:
    """“2 d 3 h”, “31 h 12 min”, “12 min”: how long, to the minute (pages and inbox alike)."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days >= 3:
        return f"{days} d {hours} h"
    hours += days * 24
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def _provider_name(event) -> str:
    """The provider by name (the event carries its code)."""
    code = event.payload.get("provider")
    return organisation_names([code]).get(code, code) if code else "The provider"


def _offer_label(event) -> str:
    """An engagement offer with its clock: the provider answers within its committed response time (24 h at most)."""
    try:
        due = datetime.fromisoformat(event.payload["respond_by"])
    except (KeyError, TypeError, ValueError):
        return "Engagement offer waiting for your answer:"
    now = timezone.now()
    if event.payload.get("status", "offered") != "offered" or due <= now:
        return f"Engagement offer (answer was due {display.when(due)}):"
    return (f"Engagement offer waiting for your answer: {duration_words(due - now)} left "
            f"(by {display.when(due)}) —")


# What each Reserve item says in the dashboard inbox, before the link to its request or engagement.
INBOX_LABELS = {
    "request.routed": lambda e: "Reserve request to forward as single point of contact:",
    "request.submitted": lambda e: "Reserve request to triage:",
    "request.returned": lambda e: "Reserve request returned to you by the single point of contact:",
    "request.info_requested": lambda e: "ENISA asks for more information on your Reserve request:",
    "request.info_answered": lambda e: "The requester answered ENISA's question:",
    "request.assessed": lambda e: "Reserve request assessed, awaiting your decision:",
    "request.decided": lambda e: "Decision on the Reserve request:",
    "provider.engaged": _offer_label,
    "engagement.accepted": lambda e: f"{_provider_name(e)} accepted the engagement:",
    "engagement.declined": lambda e: f"{_provider_name(e)} declined the engagement:",
    "engagement.expired": lambda e: "Engagement offer expired without an answer:",
    "engagement.cancelled": lambda e: "Engagement cancelled:",
    "matching.exhausted": lambda e: "No provider left to engage:",
    "deployment.closed": lambda e: "Deployment closed, after-action report due:",
    "deadline.reminder": lambda e: f"Due soon: {e.payload.get('label', '')}",
    "deadline.overdue": lambda e: f"OVERDUE: {e.payload.get('label', '')}",
}


def request_link(request_id: int) -> str:
    return f"{settings.PORTAL_BASE_URL}/reserve/requests/{request_id}/"


def engagement_link(engagement_id: int) -> str:
    return f"{settings.PORTAL_BASE_URL}/reserve/engagements/{engagement_id}/"


def email_about_request(*, request_id: int, group_names: list[str], kind: str, engagement_id: int | None = None,
                        key: str = "") -> int:
    """``key`` names the occasion (``reserve-deadline:<id>:<kind>``); without one each call is a new occasion
    (the workflow itself refuses to take the same step twice)."""
    request = AssistanceRequest.objects.filter(pk=request_id).first()
    if request is None:
        return 0
    group_ids = list(Group.objects.filter(name__in=group_names).values_list("id", flat=True))
    link = engagement_link(engagement_id) if engagement_id else request_link(request_id)
    subject = SUBJECTS.get(kind, "[CSoA Portal] Reserve request {ref} changed").format(ref=request.reference)
    body = (
        f"There is news on EU Cybersecurity Reserve request {request.reference} in the CSoA Portal "
        f"({kind.replace('.', ' ').replace('_', ' ')}).\n\n"
        f"Open it after logging in: {link}\n\n"
        "You receive this because e-mail notifications are on in your profile."
    )
    key = key or occasion(f"reserve:{request_id}:{kind}")
    return enqueue_emails([Mail(key=f"{key}:{email}", recipient=email, subject=subject, body=body)
                           for email in recipients_of(group_ids)], exercise=request.exercise_id)
