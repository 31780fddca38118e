from celery import shared_task
from django.db import transaction

from reserve.notifications import email_about_request


@shared_task(name="reserve.tasks.notify", acks_late=True, ignore_result=True)
def notify(request_id: int, group_names: list[str], kind: str, engagement_id: int | None = None):
    """Kept for messages queued by an older release: e-mail now goes through the outbox (reserve.services.notify)."""
    with transaction.atomic():
        return email_about_request(request_id=request_id, group_names=group_names, kind=kind,
                                   engagement_id=engagement_id)
