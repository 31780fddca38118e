"""E-mail about Reserve requests and engagements, per the recipients' notification settings.

E-mail leaves the portal, so it carries no request content: the reference, what happened
and a link. The details stay behind the login (like incidents/notifications.py).
"""

from django.conf import settings
from django.core.mail import send_mass_mail

from incidents.notifications import recipients_of
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


def request_link(request_id: int) -> str:
    return f"{settings.PORTAL_BASE_URL}/reserve/requests/{request_id}/"


def engagement_link(engagement_id: int) -> str:
    return f"{settings.PORTAL_BASE_URL}/reserve/engagements/{engagement_id}/"


def email_about_request(*, request_id: int, group_names: list[str], kind: str, engagement_id: int | None = None) -> int:
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
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients_of(group_ids)]
    return send_mass_mail(messages, fail_silently=False) if messages else 0
