"""Thin tasks: they take ids and call a service.

E-mail no longer travels as a task (it is written to the outbox in the transaction of the
change, csoa_portal/outbox.py); the three e-mail tasks below stay only so that messages
queued by an older release before an upgrade are still honoured: each writes its e-mails to
the outbox, from where they are sent once.
"""

from celery import shared_task
from django.db import transaction


@shared_task(name="incidents.tasks.evaluate_incident", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def evaluate_incident(incident_id: int):
    """Thin and idempotent: a redelivery after a worker died escalates nothing twice."""
    from incidents.services import escalations

    escalations.evaluate_incident(incident_id=incident_id)


@shared_task(name="incidents.tasks.evaluate_incidents", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def evaluate_incidents(incident_ids: list[int]):
    """The evaluations a web process queued together; one failing leaves the others done (the sweep retries it)."""
    from incidents.services import escalations

    failed = None
    for incident_id in incident_ids:
        try:
            escalations.evaluate_incident(incident_id=incident_id)
        except Exception as exc:
            failed = failed or exc
    if failed is not None:
        raise failed


@shared_task(name="incidents.tasks.notify_new_recipients", acks_late=True, ignore_result=True)
def notify_new_recipients(incident_id: int, group_ids: list[int]):
    from incidents.notifications import email_new_recipients

    with transaction.atomic():
        return email_new_recipients(incident_id=incident_id, group_ids=group_ids)


@shared_task(name="incidents.tasks.email_alerts", acks_late=True, ignore_result=True)
def email_alerts(alert_ids: list[int], kind: str):
    from incidents.notifications import email_alerts as enqueue

    with transaction.atomic():
        return enqueue(alert_ids=alert_ids, kind=kind)


@shared_task(name="incidents.tasks.email_notice", acks_late=True, ignore_result=True)
def email_notice(group_ids: list[int], subject: str, body: str):
    from incidents.notifications import email_notice as enqueue

    with transaction.atomic():
        return enqueue(group_ids=group_ids, subject=subject, body=body)
