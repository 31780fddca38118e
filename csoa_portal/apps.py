from django.apps import AppConfig


class CsoaPortalConfig(AppConfig):
    name = "csoa_portal"
    verbose_name = "CSoA Portal"

    def ready(self):
        from csoa_portal import checks  # noqa: F401  (registers system checks)
        from csoa_portal import sweep
        from csoa_portal.api.idempotency import purge_expired
        from csoa_portal.audit import seal_audit_log
        from csoa_portal.outbox import sweep_outbox

        sweep.register("purge_idempotency_keys", purge_expired)
        sweep.register("seal_audit_log", seal_audit_log)
        sweep.register("outbox", sweep_outbox)
