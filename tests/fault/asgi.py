"""The portal's ASGI application as a fault test serves it from a subprocess.

Importing ``tests.fault.workers`` first applies the test's broker keyspace
(``FAULT_BROKER_KEYPREFIX``) to the Celery app, so the server queues its tasks where the
test's worker takes them. Otherwise this is exactly ``csoa_portal.asgi.application``.
"""

import tests.fault.workers  # noqa: F401  (before the app: sets the broker keyspace)
from csoa_portal.asgi import application  # noqa: E402

__all__ = ["application"]
