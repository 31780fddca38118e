"""Django admin for the Reserve: the provider registry is editable (audited); requests are read-only history.

Requests, engagements and deadlines change only through their workflow (reserve.services),
so the admin shows them and never writes them.
"""

from django.contrib import admin
from django.db import transaction

from csoa_portal import audit
from csoa_portal.admin import AuditedAdminMixin, ReadOnlyAdminMixin, admin_origin
from reserve.models import (
    AssistanceRequest,
    Engagement,
    ProviderCapacity,
    ProviderProfile,
    ReserveDeadline,
)


class ProviderCapacityInline(admin.TabularInline):
    model = ProviderCapacity
    extra = 0


@admin.register(ProviderProfile)
class ProviderProfileAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("organisation", "certification_status", "certified_from", "certified_until", "response_hours",
                    "is_active")
    list_filter = ("certification_status", "is_active")
    search_fields = ("organisation__code", "organisation__name")
    filter_horizontal = ("sectors", "member_states")
    readonly_fields = ("created_at", "updated_at", "updated_by")
    audit_prefix = "provider"
    inlines = [ProviderCapacityInline]

    def save_formset(self, request, form, formset, change):
        """Capacity rows are audited one by one, like every other write."""
        with transaction.atomic(), admin_origin():
            before = {obj.pk: audit.snapshot(obj) for obj in formset.queryset}
            instances = formset.save(commit=False)
            for obj in formset.deleted_objects:
                audit.record(actor=request.user, action="provider.capacity_deleted", obj=obj, before=before.get(obj.pk))
                obj.delete()
            for obj in instances:
                created = obj.pk is None
                obj.save()
                audit.record(actor=request.user, action="provider.capacity_set", obj=obj,
                             before=None if created else before.get(obj.pk), after=audit.snapshot(obj))
            formset.save_m2m()


@admin.register(AssistanceRequest)
class AssistanceRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "requester_organisation", "status", "urgency", "priority_score", "submitted_at",
                    "decided_at")
    list_filter = ("status", "urgency")
    search_fields = ("affected_entity", "requester_organisation__code")
    show_full_result_count = False


@admin.register(Engagement)
class EngagementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "request", "provider", "status", "person_days", "window_start", "window_end", "respond_by")
    list_filter = ("status",)


@admin.register(ReserveDeadline)
class ReserveDeadlineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("request", "engagement", "clock", "due_at", "reminded_at", "overdue_fired_at", "met_at")
    list_filter = ("clock",)
