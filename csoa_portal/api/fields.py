"""Serializer fields every app's API inputs share.

Dates and date-times are one class of hostile input (``csoa_portal.input_rules``): each
input serializer takes them through these fields, so an instant with no UTC form
(``0001-01-01T00:00:00+14:00``) or one whose clocks overflow (``9999-12-31``) is a 400
naming the field, never a 500 deeper down. Outputs keep DRF's own fields.
"""

from rest_framework import serializers

from csoa_portal.input_rules import date_problem, validate_date_in_range


class DateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time within the portal's range, its UTC offset at most 14 hours."""

    def enforce_timezone(self, value):
        if problem := date_problem(value):  # as sent: DRF's conversion would hide the offset
            raise serializers.ValidationError(problem, code="out_of_range")
        return super().enforce_timezone(value)


class DateField(serializers.DateField):
    """An ISO 8601 date within the portal's range."""

    default_validators = [validate_date_in_range]
