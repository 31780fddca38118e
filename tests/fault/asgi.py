"""The portal's ASGI application as a fault test serves it from a subprocess.

Importing ``tests.fault.workers`` first applies the test's broker keyspace
(``FAULT_BROKER_KEYPREFIX``) to the Celery app, so the server queues its tasks where the
test's worker takes them. With ``FAULT_CUTS=1`` a request may ask to have its database
connection cut at a stage of its write (``tests.fault.cuts``). Otherwise this is exactly
``csoa_portal.asgi.application``.
"""

import os

import tests.fault.workers  # noqa: F401  (before the app: sets the broker keyspace)
from csoa_portal.asgi import application  # noqa: E402
from tests.fault import cuts  # noqa: E402

if os.environ.get(cuts.ENV):
    application = cuts.install(application)

__all__ = ["application"]
