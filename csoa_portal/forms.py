"""Form fields every app's pages share.

Dates and date-times are one class of hostile input (``csoa_portal.input_rules``): each
form takes them through these fields, so a value outside the portal's range is a form
error on that field, never a 500 where a clock or the database meets it. The same holds
for ids beyond 64 bits in a multiple choice of rows.
"""

from django import forms
from django.core.exceptions import ValidationError

from csoa_portal.input_rules import INT64_MAX, INT64_MIN, is_digits, validate_date_in_range


class DateField(forms.DateField):
    default_validators = [validate_date_in_range]


class DateTimeField(forms.DateTimeField):
    default_validators = [validate_date_in_range]


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's, with an id beyond 64 bits refused as an invalid choice before the query.

    Django compares such an id with a row in a single-row lookup, but a list of them
    (``pk__in``) reaches the database, where SQLite cannot even represent it (a 500).
    """

    def _check_values(self, value):
        if not self.to_field_name:
            for pk in value:
                if isinstance(pk, str) and is_digits(pk.strip().lstrip("+-")) and not (
                        INT64_MIN <= int(pk) <= INT64_MAX):
                    raise ValidationError(self.error_messages["invalid_pk_value"], code="invalid_pk_value",
                                          params={"pk": pk})
        return super()._check_values(value)
