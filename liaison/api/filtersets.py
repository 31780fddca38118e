"""Query filters of the network lists: an unknown value is a 400 naming the filter, never an empty list."""

import django_filters
from rest_framework.exceptions import ValidationError

from liaison import selectors
from liaison.models import Organisation
from liaison.roles import OrganisationKind


class OrganisationFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(
        choices=OrganisationKind.choices,
        error_messages={
            "invalid_choice": "Unknown organisation kind '%(value)s'. Choose one of: "
            + ", ".join(OrganisationKind.values)
            + "."
        },
        help_text="Organisation kind, e.g. national_csirt.",
    )
    member_state = django_filters.CharFilter(
        method="filter_member_state",
        help_text="ISO 3166 alpha-2 code of the member state (case-insensitive), e.g. DE.",
    )

    class Meta:
        model = Organisation
        fields = ["kind", "member_state"]

    def filter_member_state(self, queryset, name, value):
        code = value.strip().upper()
        if not selectors.member_states().filter(code=code).exists():
            # A typo must not look like "this member state has no organisations".
            raise ValidationError({name: [f"No member state with code '{code}'."]})
        return queryset.filter(member_state__code=code)
