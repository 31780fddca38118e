"""Thin tasks: they call a service."""

from celery import shared_task


@shared_task(name="scenarios.tasks.release_due_injects", acks_late=True, ignore_result=True)
def release_due_injects():
    """Release the injects whose exercise time has come (the sweep runs the same service; both are idempotent)."""
    from scenarios.services import release_due_injects as release

    return release()
