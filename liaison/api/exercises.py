"""The ``exercise`` key of every API answer about an object of work, and the exercises a caller takes part in.

Every root object of work (incident, assistance request, Event, situation report, public
warning, review, lesson) carries ``"exercise": {"id": …, "name": …}`` in its JSON, ``null`` for
live work, so a client that stores what it reads cannot mistake a drill fact for a live one
(the ``X-Exercise`` header marks the answer; this marks each object). One field, used by every
app's serializers (``ExerciseField``) and by the apps that build their JSON by hand
(``exercise_ref``), so a new endpoint cannot spell it differently.

Name lookups: a list selects (or prefetches) ``exercise`` with its rows, so a page costs the
same number of queries whatever its length; a live object (``exercise_id`` null) costs none.
"""

from datetime import timezone

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from liaison.models import Exercise


class ExerciseRefSerializer(serializers.Serializer):
    """Which exercise an object belongs to (its name is the one its pages' banner shows)."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


def ref(exercise_id: int | None, name: str | None) -> dict | None:
    """The ``exercise`` value from an id and a name (``None`` for live work)."""
    return None if exercise_id is None else {"id": int(exercise_id), "name": str(name)}


def exercise_ref(obj) -> dict | None:
    """``obj``'s ``exercise`` value; reads ``obj.exercise`` (select it with the rows of a list)."""
    exercise_id = getattr(obj, "exercise_id", None)
    return None if exercise_id is None else ref(exercise_id, obj.exercise.name)


def exercise_names(ids) -> dict[int, str]:
    """Exercise id → name for rows read as plain values (one query; none when every row is live)."""
    wanted = {int(i) for i in ids if i is not None}
    return dict(Exercise.objects.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}


EXERCISE_HELP = ("The exercise this object belongs to (id and name); null for live work. Exercise objects are only "
                 "read with the X-Exercise header.")


@extend_schema_field(ExerciseRefSerializer(allow_null=True, help_text=EXERCISE_HELP))
class ExerciseField(serializers.Field):
    """The object's ``exercise``: ``{"id", "name"}`` or null (read-only, from the whole object)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("source", "*")
        kwargs.setdefault("help_text", EXERCISE_HELP)
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value):
        return exercise_ref(value)


class ExerciseSerializer(serializers.Serializer):
    """An exercise the caller's organisation takes part in."""

    id = serializers.IntegerField(read_only=True, help_text="Send it as the X-Exercise header to work in it.")
    name = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=Exercise.Kind.choices, read_only=True)
    status = serializers.ChoiceField(choices=Exercise.Status.choices, read_only=True)
    starts_at = serializers.DateTimeField(read_only=True, default_timezone=timezone.utc)
    ends_at = serializers.DateTimeField(read_only=True, default_timezone=timezone.utc)
    time_scale = serializers.DecimalField(
        max_digits=7, decimal_places=2, read_only=True, coerce_to_string=False,
        help_text="Exercise minutes per real minute: its clocks run this much faster (1: real time).")
    organisation = serializers.CharField(source="organisation.code", read_only=True,
                                         help_text="The code of the organisation that runs it.")
