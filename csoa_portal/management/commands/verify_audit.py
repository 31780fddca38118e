from django.core.management.base import BaseCommand, CommandError

from csoa_portal import audit


class Command(BaseCommand):
    help = (
        "Verify the hash chain of the audit log and the keyed content of entries waiting to be sealed; "
        "exit non-zero naming the first broken entry, or when entries have waited too long to be sealed."
    )

    def handle(self, *args, **options):
        report = audit.verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN at entry {report.where}: {report.reason}. "
                f"{report.checked} entries verified before it."
            )
        waiting = f" {report.pending} more waiting to be sealed, their content verified." if report.pending else ""
        if report.late:
            raise CommandError(
                f"Audit chain intact ({report.checked} entries verified), but {report.late} entries have waited more "
                f"than {int(audit.SEAL_GRACE.total_seconds() // 60)} minutes to be sealed (oldest written "
                f"{report.oldest_pending_at.isoformat()}): the sweep is not running. "
                "`manage.py seal_audit` seals them now."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} entries verified.{waiting}"))
