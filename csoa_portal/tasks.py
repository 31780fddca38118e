from celery import shared_task

from csoa_portal import outbox
from csoa_portal.sweep import run_sweep


@shared_task(name="csoa_portal.tasks.sweep", ignore_result=True)
def sweep():
    """Celery beat's periodic entry point into every registered sweep job (routed to the "sweep" queue)."""
    return run_sweep()


@shared_task(name="csoa_portal.tasks.send_outbox", acks_late=True, ignore_result=True)
def send_outbox(ids: list[int]):
    """Thin: the fast path for e-mails just committed to the outbox; retries are the outbox's, not Celery's."""
    return outbox.send_due(ids=ids)
