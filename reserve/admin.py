"""Django admin for the Reserve: the provider registry writes through its services; requests are read-only history.

A profile or a committed period saved in the admin goes through ``reserve.services.providers``
like the registry pages and the API: the same checks (a capacity never below what is booked,
no overlapping periods, certification dates), the same audit entry and Event. A refused save
writes nothing and says why. Requests, engagements and deadlines change only through their
workflow (reserve.services), so the admin shows them and never writes them.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect

from csoa_portal.admin import ReadOnlyAdminMixin, admin_origin
from reserve import policy, services
from reserve.models import (
    AssistanceRequest,
    Engagement,
    ProviderCapacity,
    ProviderProfile,
    ReserveDeadline,
)
from reserve.services.providers import PROFILE_FIELDS

REFUSED = "_reserve_admin_refused"


class ProviderCapacityInline(admin.TabularInline):
    model = ProviderCapacity
    extra = 0


@admin.register(ProviderProfile)
class ProviderProfileAdmin(admin.ModelAdmin):
    list_display = ("organisation", "certification_status", "certified_from", "certified_until", "response_hours",
                    "is_active")
    list_filter = ("certification_status", "is_active")
    search_fields = ("organisation__code", "organisation__name")
    filter_horizontal = ("sectors", "member_states")
    readonly_fields = ("created_at", "updated_at", "updated_by")
    inlines = [ProviderCapacityInline]

    # --- who: the registry's keepers (reserve.policy), on top of the model permissions ---

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and policy.capabilities(request.user).registry_edit

    def has_add_permission(self, request):
        return super().has_add_permission(request) and policy.capabilities(request.user).registry_edit

    def has_delete_permission(self, request, obj=None):
        return False  # a provider leaves the Reserve by deactivation (is_active), which keeps its history

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "organisation") if obj is not None else self.readonly_fields

    # --- writes: through the services, all or nothing ---

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in PROFILE_FIELDS if name in form.cleaned_data}
        with admin_origin():
            try:
                if change:
                    changed = {name: value for name, value in fields.items() if name in form.changed_data}
                    if changed:
                        services.update_provider(actor=request.user, profile=obj, **changed)
                else:
                    saved = services.register_provider(
                        actor=request.user, organisation=form.cleaned_data["organisation"], **fields)
                    obj.pk = saved.pk
            except ValidationError as exc:
                self._refuse(request, exc)

    def save_related(self, request, form, formsets, change):
        """The many-to-many fields went through the service with the profile; the capacities go one by one."""
        if getattr(request, REFUSED, False):
            return
        form.instance.refresh_from_db()
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
            if getattr(request, REFUSED, False):
                return

    def save_formset(self, request, form, formset, change):
        profile = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []  # the change message
        with admin_origin():
            try:
                for sub in formset.deleted_forms:
                    if sub.instance.pk:
                        services.remove_capacity(actor=request.user, capacity=sub.instance)
                        formset.deleted_objects.append(sub.instance)
                for sub in formset.forms:
                    if sub in formset.deleted_forms or not sub.has_changed():
                        continue
                    data = sub.cleaned_data
                    if sub.instance.pk and "period_start" in sub.changed_data:
                        services.remove_capacity(actor=request.user,
                                                 capacity=ProviderCapacity.objects.get(pk=sub.instance.pk))
                    row = services.set_capacity(actor=request.user, profile=profile, period_start=data["period_start"],
                                                period_end=data["period_end"], person_days=data["person_days"])
                    if sub.instance.pk:
                        formset.changed_objects.append((row, sub.changed_data))
                    else:
                        formset.new_objects.append(row)
            except ValidationError as exc:
                self._refuse(request, exc)

    def _refuse(self, request, exc: ValidationError) -> None:
        """Undo the whole save (the admin's transaction) and tell the person why."""
        transaction.set_rollback(True)
        setattr(request, REFUSED, True)
        reasons = "; ".join(f"{field}: {' '.join(errors)}" if field != "__all__" else " ".join(errors)
                            for field, errors in exc.message_dict.items()) if hasattr(exc, "error_dict") else \
            " ".join(exc.messages)
        self.message_user(request, f"Not saved: {reasons}", level=messages.ERROR)

    def construct_change_message(self, request, form, formsets, add=False):
        if getattr(request, REFUSED, False):
            return []
        return super().construct_change_message(request, form, formsets, add)

    def log_addition(self, request, obj, message):
        if not getattr(request, REFUSED, False):
            return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        if not getattr(request, REFUSED, False):
            return super().log_change(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, REFUSED, False):
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, REFUSED, False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)


@admin.register(AssistanceRequest)
class AssistanceRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "requester_organisation", "status", "urgency", "priority_score", "submitted_at",
                    "decided_at", "exercise")
    list_filter = ("status", "urgency", "exercise")  # "exercise: empty" is live work
    list_select_related = ("requester_organisation", "exercise")
    search_fields = ("affected_entity", "requester_organisation__code")
    show_full_result_count = False


@admin.register(Engagement)
class EngagementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "request", "provider", "status", "person_days", "window_start", "window_end", "respond_by",
                    "exercise")
    list_filter = ("status", "request__exercise")
    list_select_related = ("request__exercise", "provider")

    @admin.display(description="exercise", ordering="request__exercise")
    def exercise(self, engagement):
        return engagement.request.exercise or "—"


@admin.register(ReserveDeadline)
class ReserveDeadlineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("request", "engagement", "clock", "due_at", "reminded_at", "overdue_fired_at", "met_at")
    list_filter = ("clock", "request__exercise")
