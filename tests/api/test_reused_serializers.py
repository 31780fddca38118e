"""A serializer reused by its thread (csoa_portal.api.reuse) answers as a fresh one, call after call."""

from datetime import datetime, timezone

import pytest
from rest_framework import serializers

from csoa_portal.api import reuse


class Shape(serializers.Serializer):
    name = serializers.CharField(max_length=5)
    count = serializers.IntegerField(default=0)
    now = serializers.SerializerMethodField()

    def get_now(self, obj) -> str:
        return self.context.setdefault("now", obj["at"]).isoformat()


def _item(name, hour):
    return {"name": name, "count": 1, "at": datetime(2026, 11, 23, hour, tzinfo=timezone.utc)}


def test_rendering_matches_a_fresh_serializer_and_leaves_no_context_to_the_next_call():
    first, second = _item("a", 1), _item("b", 2)
    assert reuse.render(Shape, first) == Shape(first).data
    # The first call's context wrote "now": the next call starts from an empty one.
    assert reuse.render(Shape, second) == Shape(second).data == {"name": "b", "count": 1,
                                                                 "now": "2026-11-23T02:00:00+00:00"}
    assert reuse.render_many(Shape, [first, second]) == Shape([first, second], many=True).data


def test_validation_matches_a_fresh_serializer_and_the_next_call_starts_clean():
    fresh = Shape(data={"name": "too long"})
    assert not fresh.is_valid()
    with reuse.serializer(Shape, data={"name": "too long"}) as invalid:
        assert not invalid.is_valid()
        assert invalid.errors == fresh.errors != {}
    with reuse.serializer(Shape, data={"name": "ok"}) as valid:
        valid.is_valid(raise_exception=True)
        assert valid.validated_data == {"name": "ok", "count": 0} and valid.errors == {}
    with pytest.raises(serializers.ValidationError) as refused, reuse.serializer(Shape, data={}) as empty:
        empty.is_valid(raise_exception=True)
    assert set(refused.value.detail) == {"name"}


def test_the_fields_are_built_once_per_thread_and_a_nested_use_gets_its_own():
    with reuse.serializer(Shape) as outer:
        fields = outer.fields
        with reuse.serializer(Shape) as inner:  # the class is in use: not the same instance
            assert inner is not outer
    with reuse.serializer(Shape) as again:  # the outer one, kept last, with the fields it built
        assert again is outer and again.fields is fields
