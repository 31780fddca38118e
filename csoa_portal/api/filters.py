"""Filters every app's FilterSets share.

A date or date-time in a query parameter is one class of hostile input
(``csoa_portal.input_rules``): ``DateTimeFilter`` refuses one outside the portal's range
with a 400 naming the parameter (``?updated_since=0001-01-01T00:00:00+14:00`` has no UTC
form: the database adapter failed on it, a 500).

An id in a query parameter is a question about an object. Answering it against all rows
of the table would let any token tell an existing invisible object (an empty list) from
a missing one (an error) and so enumerate other organisations' ids. ``VisibleIdFilter``
answers it against what the caller may see, so the two are the same answer.
"""

from collections.abc import Callable
from datetime import datetime, time

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from django_filters.fields import IsoDateTimeField

from csoa_portal.input_rules import validate_date_in_range


class DateOrDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, or a plain date meaning its first moment in the portal's time zone; within range."""

    default_validators = [validate_date_in_range]

    def to_python(self, value):
        day = parse_date(value.strip()) if isinstance(value, str) else None
        if day is not None:
            validate_date_in_range(day)  # before make_aware, which would overflow at the very edges
            return timezone.make_aware(datetime.combine(day, time.min))
        return super().to_python(value)


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """A date-time (or date) query parameter, e.g. ``updated_since``: see ``DateOrDateTimeField``."""

    field_class = DateOrDateTimeField


class VisibleIdFilter(django_filters.ModelChoiceFilter):
    """A query parameter naming an object by id, resolved among the objects the caller may see.

    ``visible`` is the app's selector for the requesting user (``incidents_visible_to``,
    ``requests_visible_to``): an id it does not return — missing, or someone else's — is
    the same 400 naming the parameter ("No incident with id '42'."), never an empty list.
    The app passes its selector in, so this module imports no app (one-way dependencies).
    """

    def __init__(self, *, visible: Callable[[object], QuerySet], label: str, **kwargs):
        kwargs.setdefault("error_messages", {"invalid_choice": f"No {label} with id '%(value)s'."})
        kwargs.setdefault("help_text", f"Only those of this {label} (its id).")
        super().__init__(queryset=lambda request: visible(getattr(request, "user", None)), **kwargs)
