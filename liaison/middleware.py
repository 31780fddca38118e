"""Set the exercise a request works in, once, for everything it reads and writes (``liaison.exercises``).

Pages: the session key the top bar's switch writes; a person who no longer takes part (their
organisation left the exercise, it was archived or deleted) is told, and the key is dropped:
they are back in live work, never shown another exercise. API: the ``X-Exercise`` header
(absent: live); the API authentication checks it once it knows who calls (a token's
organisation is known only there, ``check_api_exercise``). Every answer in an exercise
carries ``X-Exercise: <id>; name="<name>"``.
"""

from django.contrib import messages
from django.http import JsonResponse

from liaison import exercises, selectors

API_PREFIX = "/api/"


def _header_value(exercise) -> str:
    name = exercise.name.replace("\\", "\\\\").replace('"', '\\"')
    return f'{exercise.pk}; name="{name}"'


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message}}, status=status)


class ExerciseMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.exercise = None
        wanted = None
        if request.path.startswith(API_PREFIX):
            raw = request.headers.get(exercises.HEADER)
            if raw is not None and raw.strip() != "":
                if not raw.strip().isdigit() or len(raw.strip()) > 18:
                    return _error(400, "bad_exercise", f"{exercises.HEADER} must be an exercise id (a number), "
                                                       "or absent for live work.")
                wanted = int(raw.strip())
                request.exercise_wanted = wanted  # checked by the API authentication
        else:
            session = getattr(request, "session", None)
            chosen = session.get(exercises.SESSION_KEY) if session is not None else None
            if chosen is not None:
                user = getattr(request, "user", None)
                try:
                    request.exercise = selectors.exercise_for(user, chosen)
                    wanted = request.exercise.pk
                except selectors.ExerciseRefused as refused:
                    session.pop(exercises.SESSION_KEY, None)
                    if getattr(user, "is_authenticated", False):
                        messages.warning(request, f"{refused} You are back in live work.")
        token = exercises.set_current(wanted)
        try:
            response = self.get_response(request)
        finally:
            exercises.reset_current(token)
        exercise = getattr(request, "exercise", None)
        if exercise is not None:
            response[exercises.HEADER] = _header_value(exercise)
        return response


def check_api_exercise(request, user) -> None:
    """Called by the API authentication once it knows the caller: the header's exercise must be theirs."""
    from rest_framework.exceptions import PermissionDenied

    django_request = getattr(request, "_request", request)
    wanted = getattr(django_request, "exercise_wanted", None)
    if wanted is None:
        return
    try:
        django_request.exercise = selectors.exercise_for(user, wanted)
    except selectors.ExerciseRefused as refused:
        raise PermissionDenied(str(refused)) from None
