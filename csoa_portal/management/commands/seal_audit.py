from django.core.management.base import BaseCommand

from csoa_portal.audit import seal_pending


class Command(BaseCommand):
    help = "Chain the audit entries waiting to be sealed now (the sweep does this every few seconds)."

    def handle(self, *args, **options):
        sealed = seal_pending()
        self.stdout.write(self.style.SUCCESS(f"Sealed {sealed} audit entries."))
