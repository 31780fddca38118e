"""Filters of the incident list; an unknown code is a 400 naming the filter, not an empty list.

Multi-valued relations are filtered with EXISTS subqueries, so an incident never
appears twice and the page costs the same whatever the filter.
"""

import django_filters
from django.db.models import Exists, OuterRef, Q
from rest_framework.exceptions import ValidationError

from incidents.models import Incident, IncidentCategory, Sector
from incidents.selectors import overdue_incidents
from incidents.vocabulary import TLP, Severity
from liaison.models import MemberState


def _choice(choices, label):
    return django_filters.ChoiceFilter(
        choices=choices,
        error_messages={"invalid_choice": f"Unknown {label} '%(value)s'. Choose one of: "
                        + ", ".join(value for value, _ in choices) + "."},
    )


class IncidentFilterSet(django_filters.FilterSet):
    status = _choice(Incident.Status.choices, "status")
    severity = _choice(Severity.choices, "severity")
    tlp = _choice(TLP.choices, "TLP label")
    crisis_level = django_filters.NumberFilter(min_value=0, max_value=9)
    member_state = django_filters.CharFilter(method="filter_member_state", help_text="Affected member state (ISO code).")
    sector = django_filters.CharFilter(method="filter_sector", help_text="NIS2 sector or sub-sector code; a sector includes its sub-sectors.")
    category = django_filters.CharFilter(method="filter_category", help_text="RSIT class (e.g. availability) or class/type.")
    overdue = django_filters.BooleanFilter(method="filter_overdue", help_text="Only incidents with (true) or without (false) a missed deadline.")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    q = django_filters.CharFilter(method="filter_text", help_text="Text in the title or description, or a reference.")

    class Meta:
        model = Incident
        fields = ["status", "severity", "tlp", "crisis_level"]

    def filter_member_state(self, queryset, name, value):
        code = value.strip().upper()
        ms = MemberState.objects.filter(code=code).first()
        if ms is None:
            raise ValidationError({name: [f"No member state with code '{code}'."]})
        through = Incident.affected_member_states.through
        return queryset.filter(Exists(through.objects.filter(incident=OuterRef("pk"), memberstate=ms)))

    def filter_sector(self, queryset, name, value):
        code = value.strip().lower()
        if not Sector.objects.filter(code=code).exists():
            raise ValidationError({name: [f"No sector with code '{code}'."]})
        through = Incident.sectors.through
        matching = through.objects.filter(incident=OuterRef("pk")).filter(
            Q(sector__code=code) | Q(sector__code__startswith=f"{code}.")
        )
        return queryset.filter(Exists(matching))

    def filter_category(self, queryset, name, value):
        code = value.strip().lower()
        if "/" in code:
            if not IncidentCategory.objects.filter(code=code).exists():
                raise ValidationError({name: [f"No RSIT category '{code}'."]})
            return queryset.filter(category__code=code)
        if not IncidentCategory.objects.filter(klass=code).exists():
            raise ValidationError({name: [f"No RSIT class '{code}'."]})
        return queryset.filter(category__klass=code)

    def filter_overdue(self, queryset, name, value):
        overdue = overdue_incidents(queryset)
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))

    def filter_text(self, queryset, name, value):
        value = value.strip()
        condition = Q(title__icontains=value) | Q(description__icontains=value)
        if value.upper().startswith("INC-") and value.rsplit("-", 1)[-1].isdigit():
            condition |= Q(pk=int(value.rsplit("-", 1)[-1]))
        return queryset.filter(condition)
