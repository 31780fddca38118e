"""Django's PostgreSQL backend with a health check that costs no round trip while the server is silent.

With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query of every request on
a persistent connection: one round trip and statement more for each API call (issue 16). A
server that ends a session (``pg_terminate_backend``, a restart, a crash) sends its reason or
closes the socket, so the connection's socket turns readable while the portal is not waiting
for an answer. Here the check is that poll; only a readable socket takes Django's ``SELECT 1``,
which then finds the connection dead and replaces it before the request uses it.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if (self.connection is not None and self.health_check_enabled and not self.health_check_done
                and _silent(self.connection)):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()


def _silent(raw) -> bool:
    """Nothing arrived on the idle connection: no termination notice, no end of the stream."""
    if getattr(raw, "closed", False):  # the driver knows it is closed (or broken): Django's check replaces it
        return False
    try:
        poller = select.poll()
        poller.register(raw.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except Exception:  # noqa: BLE001 - whatever the driver raises for an unusable connection: Django's check decides
        return False
