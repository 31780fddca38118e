from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    name = "liaison"
    verbose_name = "Network and liaison"

    def ready(self):
        from django.db.models.signals import post_migrate

        from csoa_portal import sweep
        from liaison import signals
        from liaison.events import publish_pending

        sweep.register("publish_pending_events", publish_pending)
        # Infrastructure only: keep the network-admins group's permissions current after migrate.
        post_migrate.connect(signals.ensure_network_admin_permissions, sender=self)
