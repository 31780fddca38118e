from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self):
        from django.urls import reverse

        from csoa_portal import sweep
        from incidents.selectors import (
            visible_alert_ids,
            visible_alert_ids_by_groups,
            visible_incident_ids,
            visible_incident_ids_by_groups,
        )
        from incidents.services.alerts import sweep_alerts
        from incidents.services.escalations import evaluate_pending
        from incidents.services.reminders import (
            keep_situation_update_clocks,
            sweep_deadlines,
        )
        from liaison.events import register_subject_check, register_subject_url

        # Event feeds and websockets re-check each incident against current sharing.
        register_subject_check("incident", visible_incident_ids, by_groups=visible_incident_ids_by_groups)
        register_subject_url("incident", lambda pk: reverse("incidents:detail", args=[pk]))
        sweep.register("evaluate_pending_incidents", evaluate_pending)
        sweep.register("alerts", sweep_alerts)
        sweep.register("situation_update_clocks", keep_situation_update_clocks)
        sweep.register("deadlines", sweep_deadlines)
        register_subject_check("alert", visible_alert_ids, by_groups=visible_alert_ids_by_groups)
