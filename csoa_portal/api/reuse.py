"""Serializers whose fields are built once per thread, for the hot paths of the API.

DRF builds a serializer's fields for each instance: ``copy.deepcopy`` of the class's declared
fields, which re-creates every field from deep copies of its arguments (querysets, choices,
child fields). For an incident report that was a tenth of the request's CPU (issue 16): the
input serializer's 19 fields, the detail's 36, and the deadlines' nested serializers, again for
each request. The fields hold no state of a call: what a call leaves on the serializer is its
instance, data, context and results, which ``serializer`` sets afresh and clears afterwards.

One instance per class and thread (gunicorn's threads, the ASGI server's sync thread): a call
never shares it with another thread, and a nested use of the same class while it is in use
(a serializer rendering itself) gets a fresh instance rather than the busy one.
"""

import threading
from contextlib import contextmanager

from rest_framework import serializers
from rest_framework.fields import empty

_local = threading.local()

# What one call leaves on a serializer (``BaseSerializer.__init__``, ``is_valid``, ``data``).
_CALL_STATE = ("initial_data", "_validated_data", "_errors", "_data")


@contextmanager
def serializer(cls: type[serializers.Serializer], instance=None, data=empty, *, context: dict | None = None,
               partial: bool = False):
    """``cls(instance, data=data, context=context, partial=partial)`` with its fields built once per thread.

    Use it inside the ``with`` block only: after it, the serializer serves the thread's next call.
    What it returned (``validated_data``, ``to_representation``'s dict) is the caller's to keep.
    Not for ``many=True`` (render a list item by item) or a serializer with constructor arguments.
    """
    idle = _local.__dict__.setdefault("idle", {})
    reused = idle.pop(cls, None)  # taken while in use: a nested use of the class builds its own
    if reused is None:
        reused = cls()
        reused.fields  # noqa: B018 (built now, once: the point of keeping it)
    reused.instance, reused.partial = instance, partial
    reused._context = {} if context is None else context  # a fresh dict: some serializers write to it ("now")
    if data is not empty:
        reused.initial_data = data
    try:
        yield reused
    finally:
        reused.instance, reused._context = None, {}
        for name in _CALL_STATE:
            reused.__dict__.pop(name, None)
        idle[cls] = reused


def render(cls: type[serializers.Serializer], instance, *, context: dict | None = None) -> dict:
    """``cls(instance, context=context).data`` as a plain dict (the JSON renderer's input either way)."""
    with serializer(cls, instance, context=context) as reused:
        return reused.to_representation(instance)


def render_many(cls: type[serializers.Serializer], instances, *, context: dict | None = None) -> list[dict]:
    """``cls(instances, many=True, context=context).data`` as a plain list."""
    with serializer(cls, context=context) as reused:
        return [reused.to_representation(item) for item in instances]
