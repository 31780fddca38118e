"""Read-only output shapes of the network and the event feed, plus the feed's query.

Plain ``Serializer`` classes, not ``ModelSerializer``: lists are the API's hot path and
these render prefetched rows without the per-field introspection (DESIGN.md "Permissions").
"""

from datetime import timezone

from rest_framework import serializers

from csoa_portal.input_rules import INT64_MAX

from liaison.api.exercises import ExerciseField
from liaison.models import MemberState
from liaison.roles import OrganisationKind

FEED_MAX_LIMIT = 1000
FEED_DEFAULT_LIMIT = 100
FEED_MAX_WAIT = 30


class MemberStateSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True, help_text="ISO 3166 alpha-2 code (EU for the EU institutions).")
    eu_label = serializers.CharField(
        read_only=True, help_text="The code EU texts use when it differs from ISO (EL for Greece), else empty."
    )
    name = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=MemberState.Kind.choices, read_only=True)
    time_zone = serializers.CharField(
        read_only=True, help_text="IANA time zone the state's NIS2 clocks count in (e.g. Europe/Berlin).")
    reserve_eligible = serializers.BooleanField(
        read_only=True, help_text="A DEP-associated third country eligible for the Reserve under its association "
                                  "agreement (CSoA Art. 19); always false for other kinds.")
    is_active = serializers.BooleanField(read_only=True)


class OrganisationSerializer(serializers.Serializer):
    code = serializers.CharField(read_only=True, help_text="Stable lower-case short code, e.g. de-csirt.")
    name = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=OrganisationKind.choices, read_only=True)
    member_state = serializers.CharField(
        source="member_state.code",
        read_only=True,
        allow_null=True,
        help_text="ISO code of the member state it serves; null for EU-level bodies.",
    )
    is_active = serializers.BooleanField(read_only=True)


class EventSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text="Monotonically increasing; resume with ?after=<id>.")
    kind = serializers.CharField(read_only=True)
    # Always UTC, whatever time zone the signed-in person's pages use.
    created_at = serializers.DateTimeField(read_only=True, default_timezone=timezone.utc)
    subject_type = serializers.CharField(read_only=True)
    subject_id = serializers.IntegerField(
        read_only=True, help_text="The id of the subject (an incident, an alert, …), an integer like every other id.")
    actor = serializers.EmailField(
        source="actor.email", read_only=True, allow_null=True, help_text="Who acted; null for the system."
    )
    payload = serializers.JSONField(read_only=True)
    exercise = ExerciseField()


class EventFeedSerializer(serializers.Serializer):
    results = EventSerializer(many=True, read_only=True)
    next_after = serializers.IntegerField(
        read_only=True,
        help_text="Pass as ?after= on the next call. It may be past the last event shown: "
        "events you may not see are skipped, never returned later.",
    )


class EventFeedQuerySerializer(serializers.Serializer):
    """The feed's query parameters; a bad value is a 400 naming the parameter."""

    after = serializers.IntegerField(
        min_value=0, max_value=INT64_MAX, default=0,
        help_text="Return events with an id greater than this (0: from the start).",
    )
    limit = serializers.IntegerField(
        min_value=1,
        max_value=FEED_MAX_LIMIT,
        default=FEED_DEFAULT_LIMIT,
        help_text=f"How many events to scan at most (1–{FEED_MAX_LIMIT}).",
    )
    wait = serializers.IntegerField(
        min_value=0,
        max_value=FEED_MAX_WAIT,
        default=0,
        help_text=f"Long-poll: when there is nothing for you yet, wait up to this many seconds (0–{FEED_MAX_WAIT}) "
        "for new events before answering. 0 answers at once.",
    )
