from django.apps import AppConfig


class LiaisonConfig(AppConfig):
    name = "liaison"
    verbose_name = "Network and liaison"

    def ready(self):
        from django.db.models.signals import m2m_changed, post_migrate

        from csoa_portal import sweep
        from liaison import signals
        from liaison.events import publish_pending

        sweep.register("publish_pending_events", publish_pending)
        from liaison.services import advance_exercise_statuses

        sweep.register("exercise_status", advance_exercise_statuses)  # planned → running → ended on the clock
        # Exercises: e-mail of an exercise is marked and kept to its participants; the API's X-Exercise header
        # is checked once the caller is known (liaison.exercises, liaison.middleware).
        from csoa_portal.authentication import register_after_authentication
        from csoa_portal.outbox import register_mail_filter
        from liaison.exercises import mark_mails
        from liaison.middleware import check_api_exercise

        register_mail_filter(mark_mails)
        register_after_authentication(check_api_exercise)
        # Infrastructure only: keep the network-admins group's permissions current after migrate.
        post_migrate.connect(signals.ensure_network_admin_permissions, sender=self)
        # Infrastructure only: open websockets re-read their user's groups when these change.
        m2m_changed.connect(signals.announce_group_membership_change, sender=self.get_model("User").groups.through,
                            dispatch_uid="liaison.announce_group_membership_change")
