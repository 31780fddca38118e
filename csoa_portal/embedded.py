"""Embedded mode: the periodic sweep runs in a thread of the one ASGI process.

In full mode Celery beat does this; here a daemon thread calls the same registry, so
every timed behaviour (deadlines, republishing) works without Redis or a worker.
"""

import logging
import threading

from django.db import close_old_connections

from csoa_portal.sweep import run_sweep

logger = logging.getLogger(__name__)


class Sweeper(threading.Thread):
    def __init__(self, interval: float):
        super().__init__(name="csoa-sweeper", daemon=True)
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.wait(self.interval):
            try:
                run_sweep()
            except Exception:  # never let one bad sweep end the loop
                logger.exception("in-process sweep failed")
            finally:
                close_old_connections()

    def stop(self):
        self._stop_event.set()
