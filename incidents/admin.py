"""Django admin for the Blueprint (ENISA edits drafts; activation validates) and read-only history."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction

from csoa_portal import audit
from csoa_portal.admin import AuditedAdminMixin, ReadOnlyAdminMixin, admin_origin
from incidents import services
from incidents.models import Blueprint, CrisisLevel, Escalation, EscalationRule


def _frozen(obj) -> bool:
    return obj is not None and getattr(obj, "is_active", False)


class _ActiveIsFrozen:
    """The active version is what the engine applies: change it by drafting a new version."""

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not _frozen(obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not _frozen(obj)


class _FrozenInline(_ActiveIsFrozen):
    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not _frozen(obj)


class CrisisLevelInline(_FrozenInline, admin.StackedInline):
    model = CrisisLevel
    extra = 0


class EscalationRuleInline(_FrozenInline, admin.TabularInline):
    model = EscalationRule
    extra = 0


@admin.register(Blueprint)
class BlueprintAdmin(_ActiveIsFrozen, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("version", "title", "is_active", "activated_at", "created_at")
    readonly_fields = ("is_active", "activated_at", "created_by", "created_at")
    inlines = [CrisisLevelInline, EscalationRuleInline]
    actions = ["draft_new_version", "activate"]
    audit_prefix = "blueprint"

    def save_formset(self, request, form, formset, change):
        """Inline levels and rules are audited one by one, like every other write."""
        with transaction.atomic(), admin_origin():
            before = {obj.pk: audit.snapshot(obj) for obj in formset.queryset}
            instances = formset.save(commit=False)
            for obj in formset.deleted_objects:
                audit.record(actor=request.user, action=f"{obj._meta.model_name}.deleted", obj=obj, before=before.get(obj.pk))
                obj.delete()
            for obj in instances:
                created = obj.pk is None
                obj.save()
                audit.record(actor=request.user, action=f"{obj._meta.model_name}.{'created' if created else 'updated'}",
                             obj=obj, before=None if created else before.get(obj.pk), after=audit.snapshot(obj))
            formset.save_m2m()

    @admin.action(description="Draft a new version from the selected one")
    def draft_new_version(self, request, queryset):
        with admin_origin():
            for blueprint in queryset:
                draft = services.draft_blueprint(actor=request.user, based_on=blueprint)
                self.message_user(request, f"Drafted version {draft.version}; edit it, then activate it.")

    @admin.action(description="Activate the selected version (after validation)")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        try:
            with admin_origin():
                blueprint = services.activate_blueprint(actor=request.user, blueprint=queryset.get())
        except ValidationError as exc:
            problems = exc.message_dict.get("blueprint", exc.messages)
            self.message_user(request, "Not activated. Fix: " + " · ".join(problems), messages.ERROR)
            return
        self.message_user(request, f"Version {blueprint.version} is now active.")


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("incident", "from_level", "to_level", "by_engine", "actor", "created_at")
    list_select_related = ("incident", "actor")
