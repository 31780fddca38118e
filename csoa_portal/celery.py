"""The Celery app: Redis broker in full mode, eager in-process execution in embedded mode."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csoa_portal.settings")

app = Celery("csoa_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
