"""Under pytest-xdist each worker gets its own Redis database, as pytest-django gives it its own PostgreSQL one.

Loaded with ``-p tests.xdist_workers`` so it runs before Django reads its settings; without
xdist (or in embedded mode) it changes nothing.
"""

import os
from urllib.parse import urlsplit, urlunsplit

_worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ...
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    _parts = urlsplit(os.environ["REDIS_URL"])
    os.environ["REDIS_URL"] = urlunsplit(_parts._replace(path=f"/{int(_worker[2:]) + 1}"))
