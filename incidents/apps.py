from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        from django.urls import reverse

        from incidents.selectors import visible_incident_ids
        from liaison.events import register_subject_check, register_subject_url

        # Event feeds and websockets re-check each incident against current sharing.
        register_subject_check("incident", visible_incident_ids)
        register_subject_url("incident", lambda pk: reverse("incidents:detail", args=[pk]))
