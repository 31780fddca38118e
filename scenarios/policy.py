"""Who may see and run an exercise's scenario: its controllers, and nobody else.

The organisation that runs an exercise names its controllers (``liaison.policy.may_manage_exercise``
edits the list); the players, its own crisis managers included, never see the injects
coming. A person who does not control the exercise gets a 404 for its scenario, as if it had none.
"""

from liaison.models import Exercise
from liaison.policy import acting_organisation_ids

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


# --- The evaluation and after-action report ------------------------------------------------------------


def over(exercise: Exercise, now) -> bool:
    """Play has ended: the exercise is ended or archived, or its end has passed."""
    return exercise.status in CLOSED or now >= exercise.ends_at


def sees_whole_evaluation(user, exercise: Exercise) -> bool:
    """The whole exercise's evaluation (every participant's figures): its controllers, and the crisis managers and
    organisation admins of the organisation that runs it (``liaison.policy.may_manage_exercise``), at any time."""
    from liaison.policy import may_manage_exercise

    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_service_account:
        return False
    return controls(user, exercise) or may_manage_exercise(user, exercise)


def evaluation_organisations(user, exercise: Exercise, now) -> set[str]:
    """The participants whose own report this person may read: every one for those who see the whole evaluation;
    a participant's people their own organisation's, once play has ended (during play the figures would coach
    the players: "who has not answered yet"). Anything else: a 404."""
    participants = exercise.participants.all()
    if sees_whole_evaluation(user, exercise):
        return set(participants.values_list("code", flat=True))
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_service_account \
            or not over(exercise, now):
        return set()
    return set(participants.filter(pk__in=acting_organisation_ids(user)).values_list("code", flat=True))


def may_propose_lessons(user, exercise: Exercise) -> bool:
    """Lessons from the whole evaluation are proposed by those who read it (the lessons flow then checks the
    proposer's organisation: a member state's authority, ENISA or the Commission)."""
    return sees_whole_evaluation(user, exercise)
