"""E-mail to the people an incident was just shared with, per their notification settings.

E-mail leaves the portal, so it carries no incident content: only the reference, the
TLP label and a link, whatever the label. The details stay behind the login.

These functions run in the transaction of the change they tell about and write the
e-mails to the outbox (csoa_portal/outbox.py), one row per recipient under a key naming the
occasion: committed with the change, sent after it, never twice for the same occasion.
"""

from django.conf import settings

from csoa_portal.outbox import Mail, enqueue_emails, occasion

from incidents.models import Alert, Incident
from incidents.policy import widened_alert_emailed_people
from incidents.selectors import alert_disclosure
from liaison.models import User


# What each incident item says in the dashboard inbox, before the link to its incident (or alert, proposal).
INBOX_LABELS = {
    "incident.shared": lambda e: "Incident shared with you:",
    "report.requested": lambda e: "Report requested:",
    "alert.raised": lambda e: f"Alert, level {e.payload.get('level')}: acknowledge",
    "alert.reminder": lambda e: "Reminder: alert not acknowledged",
    "alert.unanswered": lambda e: f"Unanswered alert ({e.payload.get('organisation', '')})",
    "deadline.reminder": lambda e: f"Due soon: {e.payload.get('label', '')}",
    "deadline.overdue": lambda e: f"OVERDUE: {e.payload.get('label', '')}",
    "incident.cross_border_notice": lambda e: f"NIS2 Art. 23(6) notice: {e.payload.get('notice', '')}",
    "level_proposal.opened": lambda e: f"Level {e.payload.get('level')} proposed for your decision (see your crisis "
                                       "board):",
}


def recipients_of(group_ids: list[int]) -> list[str]:
    users = User.objects.filter(
        groups__id__in=group_ids, is_active=True, is_service_account=False, email_notifications=True
    ).distinct()
    return sorted(users.values_list("email", flat=True))


def enisa_liaison_officers() -> list[str]:
    """The addresses to which an unanswered alert is mailed beyond the alerted organisation
    (``policy.widened_alert_emailed_people``), of those who want e-mail."""
    return sorted(widened_alert_emailed_people().filter(email_notifications=True).values_list("email", flat=True))


def _mails_to(key: str, emails, subject: str, body: str) -> list[Mail]:
    """One e-mail per address, keyed ``<occasion>:<address>`` (the outbox sends each key once)."""
    return [Mail(key=f"{key}:{email}", recipient=email, subject=subject, body=body) for email in sorted(set(emails))]


def _mails(key: str, group_ids: list[int], subject: str, body: str) -> list[Mail]:
    """One e-mail per person of these groups who wants e-mail."""
    return _mails_to(key, recipients_of(group_ids), subject, body)


def _enqueue(key: str, group_ids: list[int], subject: str, body: str, *, exercise=None) -> int:
    return enqueue_emails(_mails(key, group_ids, subject, body), exercise=exercise)


def email_new_recipients(*, incident_id: int, group_ids: list[int], key: str = "") -> int:
    """``key`` names the share (``share:<first new Share id>``); a repeated call with it mails nobody twice."""
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
    return _enqueue(key or occasion(f"share:{incident_id}"), group_ids, subject, body, exercise=incident.exercise_id)


ALERT_SUBJECTS = {
    "raised": "[CSoA Portal] Alert: {ref} escalated to level {level} — acknowledge by {due}",
    "reminder": "[CSoA Portal] REMINDER: alert on {ref} (level {level}) not acknowledged",
    "unanswered": "[CSoA Portal] UNANSWERED alert on {ref} (level {level}) for {org}",
}


def _alerted_body(alert, *, due: str) -> str:
    """To the alerted organisation: what the alert is, what it may read, and to answer by ``due``."""
    return (
        f"{alert.organisation.name} is alerted: incident {alert.incident.reference} is at crisis level {alert.level} "
        f"of the EU Cyber Crisis Management Blueprint ({alert.incident.get_tlp_display()}).\n"
        f"{alert_disclosure(alert)['notice']}\n\n"
        f"Acknowledge it, or say you are not affected, in the portal: {settings.PORTAL_BASE_URL}"
        + (f"/incidents/{alert.incident_id}/#alerts\n" if alert.disclosure == Alert.Disclosure.SHARED
           else "/incidents/board/#board-alerts\n")
        + f"Answer by: {due}."
    )


def _unanswered_body_for_enisa(alert, *, due: str) -> str:
    """To ENISA's liaison officers: whose alert went unanswered; nothing of the incident beyond its reference."""
    return (
        f"{alert.organisation.name} ({alert.organisation.code}) has not answered its alert on incident "
        f"{alert.incident.reference} (crisis level {alert.level} of the EU Cyber Crisis Management Blueprint, "
        f"{alert.incident.get_tlp_display()}), reminder included; its answer was due by {due}.\n\n"
        "You receive this as a liaison officer of ENISA: please follow it up with them. The alert is in your "
        f"dashboard's inbox: {settings.PORTAL_BASE_URL}/\n\n"
        "You receive this because e-mail notifications are on in your profile."
    )


def email_alerts(*, alert_ids: list[int], kind: str) -> int:
    """Tell the alerted organisation's people (and, once unanswered, ENISA's liaison officers).

    Each (alert, kind, recipient) is mailed once: re-notifying the same alert inserts nothing.
    """
    mails: dict[int | None, list[Mail]] = {}  # one insert and one task for the whole escalation (per exercise)
    alerts = Alert.objects.filter(pk__in=alert_ids).select_related(
        "incident__reporting_organisation", "incident__reported_by", "organisation__group")
    officers = enisa_liaison_officers() if kind == "unanswered" else []
    for alert in alerts:
        due = alert.due_at.strftime("%d %b %H:%M UTC") if alert.due_at else "no deadline"
        subject = ALERT_SUBJECTS[kind].format(ref=alert.incident.reference, level=alert.level, due=due,
                                              org=alert.organisation.code)
        key = f"alert:{alert.pk}:{kind}"
        alerted = _mails(key, [alert.organisation.group_id], subject, _alerted_body(alert, due=due))
        # ENISA's officers are told of the silence, not asked to answer: a body of their own (an officer
        # who is also of the alerted organisation has that organisation's e-mail already).
        told = []
        if officers:
            already = {mail.recipient for mail in alerted}
            told = _mails_to(key, [email for email in officers if email not in already], subject,
                             _unanswered_body_for_enisa(alert, due=due))
        mails.setdefault(alert.incident.exercise_id, []).extend(alerted + told)
    return sum(enqueue_emails(batch, exercise=exercise) for exercise, batch in mails.items())


def email_notice(*, group_ids: list[int], subject: str, body: str, key: str = "", exercise=None) -> int:
    """A notice without incident content (reference, obligation, whom to ask) to the people of these groups.

    ``key`` names the occasion (``notice:level_proposal:<id>``): the same notice is mailed once.
    """
    return _enqueue(key or occasion("notice"), group_ids, subject, body, exercise=exercise)
