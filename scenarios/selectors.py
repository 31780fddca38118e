"""Reads of scenarios, for their controllers only (``scenarios.policy``).

A scenario page is the exercise's preparation, like the exercises page: it is read from live
work or from inside the exercise alike (not through ``in_current``), and only by the controllers.
"""

from django.db.models import QuerySet

from liaison.models import Exercise
from scenarios.models import Inject


def exercises_controlled_by(user) -> QuerySet[Exercise]:
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_service_account:
        return Exercise.objects.none()
    return Exercise.objects.filter(controllers=user).select_related("organisation")


def scenario_of(exercise: Exercise) -> QuerySet[Inject]:
    """The exercise's injects in scenario order: by exercise time, those released by hand last."""
    return (Inject.objects.filter(exercise=exercise)
            .select_related("organisation", "released_by", "incident", "assistance_request", "engagement__provider"))


def injects_visible_to(user) -> QuerySet[Inject]:
    """Injects of the exercises the person controls."""
    return Inject.objects.filter(exercise__in=exercises_controlled_by(user))


def visible_inject_ids(user, ids: set[str]) -> set[str]:
    """The Event feeds' re-check (``liaison.events.register_subject_check``): controllers only."""
    pks = [int(pk) for pk in ids if str(pk).isdigit()]
    return {str(pk) for pk in injects_visible_to(user).filter(pk__in=pks).values_list("pk", flat=True)}


def scenario_links(user, exercises) -> dict[int, str]:
    """The exercises page's link to each scenario the person controls (``liaison.exercises.register_exercise_link``)."""
    from django.urls import reverse

    ids = set(exercises_controlled_by(user).filter(pk__in=[e.pk for e in exercises]).values_list("pk", flat=True))
    return {pk: reverse("scenarios:scenario", args=[pk]) for pk in ids}
