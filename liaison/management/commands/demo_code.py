"""Print the current TOTP code of the shared demo secret, for signing in without an app."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp


class Command(BaseCommand):
    help = "Print the current 6-digit TOTP code of the demo accounts (not available in production)."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("demo_code is for demo installations only.")
        code = totp(bytes.fromhex(settings.DEMO_TOTP_SECRET_HEX))
        remaining = 30 - int(time.time()) % 30
        self.stdout.write(f"{code:06d}")
        self.stderr.write(f"valid for about {remaining} more second(s)")
