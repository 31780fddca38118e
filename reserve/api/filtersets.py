"""Filters of the Reserve lists; an unknown code is a 400 naming the filter, never an empty list."""

import django_filters
from django.db.models import Exists, OuterRef
from rest_framework.exceptions import ValidationError

from csoa_portal.api.filters import DateTimeFilter, VisibleIdFilter
from liaison.models import MemberState
from reserve.models import AssistanceRequest, Engagement, ProviderProfile
from reserve.selectors import requests_visible_to
from reserve.vocabulary import CertificationStatus, Service, Urgency
from reserve.workflow import EngagementStatus, RequestStatus


def _choice(choices, label, **kwargs):
    return django_filters.ChoiceFilter(
        choices=choices,
        error_messages={"invalid_choice": f"Unknown {label} '%(value)s'. Choose one of: "
                        + ", ".join(value for value, _ in choices) + "."},
        **kwargs,
    )


def member_state_or_400(name: str, value: str) -> MemberState:
    code = value.strip().upper()
    ms = MemberState.objects.filter(code=code).first()
    if ms is None:
        raise ValidationError({name: [f"No member state with code '{code}'."]})
    return ms


class AssistanceRequestFilterSet(django_filters.FilterSet):
    status = _choice(RequestStatus.choices, "status")
    urgency = _choice(Urgency.choices, "urgency")
    member_state = django_filters.CharFilter(method="filter_member_state",
                                             help_text="The requesting organisation's member state (ISO code; EU for CERT-EU).")
    updated_since = DateTimeFilter(field_name="updated_at", lookup_expr="gte",
                                   help_text="ISO 8601 date-time, or a date (its start in the portal's time zone).")

    class Meta:
        model = AssistanceRequest
        fields = ["status", "urgency"]

    def filter_member_state(self, queryset, name, value):
        return queryset.filter(requester_organisation__member_state=member_state_or_400(name, value))


class EngagementFilterSet(django_filters.FilterSet):
    status = _choice(EngagementStatus.choices, "engagement status")
    request = VisibleIdFilter(visible=requests_visible_to, label="assistance request",
                              help_text="Only the engagements of this request (its id).")

    class Meta:
        model = Engagement
        fields = ["status", "request"]


class ProviderFilterSet(django_filters.FilterSet):
    service = django_filters.CharFilter(method="filter_service", help_text="Offers this service (code).")
    member_state = django_filters.CharFilter(method="filter_member_state", help_text="Can deploy to this member state.")
    certification_status = _choice(CertificationStatus.choices, "certification status")
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = ProviderProfile
        fields = ["certification_status", "is_active"]

    def filter_service(self, queryset, name, value):
        if value not in Service.values:
            raise ValidationError({name: [f"Unknown service '{value}'. Choose one of: {', '.join(Service.values)}."]})
        # JSON list membership, portable between SQLite and PostgreSQL: the codes are quoted in the JSON text.
        return queryset.filter(services__icontains=f'"{value}"')

    def filter_member_state(self, queryset, name, value):
        ms = member_state_or_400(name, value)
        through = ProviderProfile.member_states.through
        return queryset.filter(Exists(through.objects.filter(providerprofile=OuterRef("pk"), memberstate=ms)))
