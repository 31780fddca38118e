"""Serve the portal over ASGI; in embedded mode also run the sweep in-process.

The README's run command: migrate, load the demo network, print the accounts, serve.
"""

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from csoa_portal.embedded import Sweeper


class Command(BaseCommand):
    help = "Migrate, load demo data (unless --no-demo) and serve the portal with uvicorn."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-demo", action="store_true", help="Do not load the demo network.")
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args, host, port, no_demo, no_migrate, **options):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            call_command("load_demo")
        self.stdout.write(f"CSoA Portal in {settings.PORTAL_MODE} mode on http://{host}:{port}/")
        sweeper = None
        if settings.PORTAL_MODE == "embedded":
            sweeper = Sweeper(settings.SWEEP_INTERVAL_SECONDS)
            sweeper.start()
        try:
            # One process: the in-memory channel layer and the in-process sweep live here.
            # Websocket clients only send pings: larger frames are closed with 1009 before they are
            # read. Event frames are small: compressing each one for each socket costs more CPU
            # than it saves bytes.
            uvicorn.run("csoa_portal.asgi:application", host=host, port=port, lifespan="off", log_level="info",
                        ws_max_size=settings.WS_MAX_MESSAGE_BYTES, ws_per_message_deflate=False,
                        proxy_headers=False)  # X-Forwarded-For: only TRUSTED_PROXIES (csoa_portal.middleware)
        finally:
            if sweeper:
                sweeper.stop()
