from django.apps import AppConfig


class CsoaPortalConfig(AppConfig):
    name = "csoa_portal"
    verbose_name = "CSoA Portal"

    def ready(self):
        from csoa_portal import checks  # noqa: F401  (registers system checks)
