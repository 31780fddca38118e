"""ASGI entry point: HTTP through Django, websockets through Channels.

Websockets pass the same-origin check for browsers (clients without an Origin header,
i.e. SOC tooling, are let through) and the portal's own authentication: an MFA-verified
session or a bearer token (csoa_portal.ws_auth).
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csoa_portal.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from csoa_portal.asgi_limits import WriteConcurrencyLimit  # noqa: E402
from csoa_portal.routing import websocket_urlpatterns  # noqa: E402
from csoa_portal.ws_auth import AllowedHostsOriginValidator, PortalAuthMiddlewareStack  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": WriteConcurrencyLimit(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(PortalAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# What start-up loaded lives as long as the process: moved out of the collector's reach so a full
# collection walks only the objects of the connections (a thousand websockets: a full pass was
# about a third of a second, stalling every live event behind it).
gc.collect()
gc.freeze()
