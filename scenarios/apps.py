from django.apps import AppConfig


class ScenariosConfig(AppConfig):
    """Exercise scenarios: injects prepared by the controllers and released through the real services."""

    name = "scenarios"
    verbose_name = "Exercise scenarios"

    def ready(self):
        from csoa_portal import audit, sweep
        from liaison.events import register_subject_check, register_subject_url
        from liaison.exercises import register_exercise_link
        from scenarios import selectors
        from scenarios.services import release_due_injects

        sweep.register("scenario_injects", release_due_injects)
        # An inject's Events and audit entries are for the exercise's controllers only: the players never see it coming.
        register_subject_check("inject", selectors.visible_inject_ids)
        register_subject_url("inject", _inject_url)
        audit.register_read_check("scenarios.inject", selectors.visible_inject_ids)
        register_exercise_link("scenario", "Scenario", selectors.scenario_links)
        register_exercise_link("evaluation", "Evaluation", selectors.evaluation_links)
        _register_lesson_source()


def _inject_url(pk: str) -> str | None:
    from django.urls import reverse

    from scenarios.models import Inject

    exercise_id = Inject.objects.filter(pk=pk).values_list("exercise_id", flat=True).first()
    return reverse("scenarios:scenario", args=[exercise_id]) + f"#inject-{pk}" if exercise_id else None


def _register_lesson_source() -> None:
    """An exercise's evaluation is a source of lessons for the Blueprint (``awareness.policy.lessons``)."""
    from django.urls import reverse

    from awareness.policy.lessons import register_source
    from scenarios.selectors import evaluation_source
    from scenarios.services import LESSON_SOURCE

    register_source(LESSON_SOURCE, label="Exercise after-action report", find=evaluation_source,
                    describe=lambda exercise: f"After-action report of the exercise {exercise.name}",
                    url=lambda exercise: reverse("scenarios:evaluation", args=[exercise.pk]))
