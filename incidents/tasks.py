from celery import shared_task

from incidents.notifications import email_new_recipients


@shared_task(name="incidents.tasks.notify_new_recipients", acks_late=True, autoretry_for=(OSError,),
             retry_backoff=True, max_retries=5, ignore_result=True)
def notify_new_recipients(incident_id: int, group_ids: list[int]):
    """Thin: tell the people of newly added recipients by e-mail."""
    return email_new_recipients(incident_id=incident_id, group_ids=group_ids)


@shared_task(name="incidents.tasks.evaluate_incident", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def evaluate_incident(incident_id: int):
    """Thin and idempotent: a redelivery after a worker died escalates nothing twice."""
    from incidents.services import escalations

    escalations.evaluate_incident(incident_id=incident_id)


@shared_task(name="incidents.tasks.email_alerts", acks_late=True, autoretry_for=(OSError,), retry_backoff=True,
             max_retries=5, ignore_result=True)
def email_alerts(alert_ids: list[int], kind: str):
    from incidents.notifications import email_alerts as send

    return send(alert_ids=alert_ids, kind=kind)


@shared_task(name="incidents.tasks.email_notice", acks_late=True, autoretry_for=(OSError,), retry_backoff=True,
             max_retries=5, ignore_result=True)
def email_notice(group_ids: list[int], subject: str, body: str):
    """Thin: a content-free notice (a TLP:RED Art. 23(6) notice, a proposed level) by e-mail."""
    from incidents.notifications import email_notice as send

    return send(group_ids=group_ids, subject=subject, body=body)
