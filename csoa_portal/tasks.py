from celery import shared_task

from csoa_portal.sweep import run_sweep


@shared_task(name="csoa_portal.tasks.sweep", ignore_result=True)
def sweep():
    """Celery beat's periodic entry point into every registered sweep job."""
    return run_sweep()
