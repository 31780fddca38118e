from celery import shared_task

from reserve.notifications import email_about_request


@shared_task(name="reserve.tasks.notify", acks_late=True, autoretry_for=(OSError,), retry_backoff=True,
             max_retries=5, ignore_result=True)
def notify(request_id: int, group_names: list[str], kind: str, engagement_id: int | None = None):
    """Thin: e-mail the people of these groups that something happened on the request."""
    return email_about_request(request_id=request_id, group_names=group_names, kind=kind, engagement_id=engagement_id)
