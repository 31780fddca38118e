"""E-mail to the people an incident was just shared with, per their notification settings.

E-mail leaves the portal, so it carries no incident content: only the reference, the
TLP label and a link, whatever the label. The details stay behind the login.
"""

from django.conf import settings
from django.core.mail import send_mass_mail

from incidents.models import Incident
from liaison.models import User


def recipients_of(group_ids: list[int]) -> list[str]:
    users = User.objects.filter(
        groups__id__in=group_ids, is_active=True, is_service_account=False, email_notifications=True
    ).distinct()
    return sorted(users.values_list("email", flat=True))


def email_new_recipients(*, incident_id: int, group_ids: list[int]) -> int:
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return 0
    link = f"{settings.PORTAL_BASE_URL}/incidents/{incident.pk}/"
    subject = f"[CSoA Portal] {incident.reference} shared with you ({incident.get_tlp_display()})"
    body = (
        f"The incident {incident.reference} has been shared with your organisation in the CSoA Portal.\n"
        f"It is marked {incident.get_tlp_display()}: handle it accordingly.\n\n"
        f"Open it after logging in: {link}\n\n"
        "You receive this because e-mail notifications are on in your profile."
    )
    messages = [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in recipients_of(group_ids)]
    return send_mass_mail(messages, fail_silently=False) if messages else 0
