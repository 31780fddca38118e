from django.core.management.base import BaseCommand, CommandError

from csoa_portal.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the hash chain of the audit log; exit non-zero naming the first broken entry."

    def handle(self, *args, **options):
        report = verify_chain()
        if not report.ok:
            where = f"seq={report.broken_seq}" + (f" (id={report.broken_id})" if report.broken_id else "")
            raise CommandError(
                f"Audit chain BROKEN at entry {where}: {report.reason}. {report.checked} entries verified before it."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} entries verified."))
