"""The Celery app: Redis broker in full mode, eager in-process execution in embedded mode."""

import logging
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csoa_portal.settings")

logger = logging.getLogger(__name__)

app = Celery("csoa_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def sweep_once_on_start(sender=None, **kwargs):
    """A worker that (re)starts asks for one sweep at once.

    After a crash the work its predecessor left pending (an evaluation whose task died
    with it, an e-mail whose task Redis lost) is recovered from the database by the sweep;
    asking for one now means the recovery does not wait for beat's next tick, nor for
    beat at all.
    """
    from django.conf import settings

    if not getattr(settings, "SWEEP_ON_WORKER_START", False):
        return
    try:
        app.send_task("csoa_portal.tasks.sweep")
    except Exception:
        logger.warning("could not queue the start-up sweep; beat's next one will do", exc_info=True)
