"""Who may see and run an exercise's scenario: its controllers, and nobody else.

The organisation that runs an exercise names its controllers (``liaison.policy.may_manage_exercise``
edits the list); the players, its own crisis managers included, never see the injects
coming. A person who does not control the exercise gets a 404 for its scenario, as if it had none.
"""

from liaison.models import Exercise

CLOSED = (Exercise.Status.ENDED, Exercise.Status.ARCHIVED)


def controls(user, exercise: Exercise) -> bool:
    """One of the exercise's controllers (a person who signed in, not a service account)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_service_account:
        return False
    return exercise.controllers.filter(pk=user.pk).exists()


def preparation_refusal(exercise: Exercise) -> str | None:
    """Why the scenario may no longer be changed, or None."""
    if exercise.status in CLOSED:
        return f"The exercise is {exercise.get_status_display().lower()}: its scenario can no longer be changed."
    return None


def release_refusal(exercise: Exercise, now) -> str | None:
    """Why no inject of this exercise may be released at ``now``, or None."""
    if exercise.status in CLOSED:
        return f"The exercise is {exercise.get_status_display().lower()}: nothing more is released in it."
    if now < exercise.starts_at:
        return "The exercise has not started yet: injects are released from its start."
    if now > exercise.ends_at:
        return "The exercise is over (past its end): nothing more is released in it."
    return None


def change_refusal(inject) -> str | None:
    """Why this inject may not be edited or deleted, or None: a released inject is part of the exercise's record."""
    if inject.status == inject.Status.RELEASED:
        return "This inject has been released: it stays as it was, for the exercise's record."
    return preparation_refusal(inject.exercise)
