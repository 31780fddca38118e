from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    name = "liaison"
    verbose_name = "Network and liaison"

    def ready(self):
        from csoa_portal import sweep
        from liaison.events import publish_pending

        sweep.register("publish_pending_events", publish_pending)
