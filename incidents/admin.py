"""Django admin for the Blueprint (ENISA edits drafts; activation validates) and read-only history."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from csoa_portal.admin import ReadOnlyAdminMixin, admin_origin
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
class BlueprintAdmin(_ActiveIsFrozen, admin.ModelAdmin):
    list_display = ("version", "title", "is_active", "activated_at", "created_at")
    readonly_fields = ("is_active", "activated_at", "created_by", "created_at")
    inlines = [CrisisLevelInline, EscalationRuleInline]
    actions = ["draft_new_version", "activate"]

    def save_model(self, request, obj, form, change):
        with admin_origin():
            services.save_blueprint(actor=request.user, blueprint=obj)

    def delete_model(self, request, obj):
        with admin_origin():
            services.delete_blueprint_drafts(actor=request.user, blueprints=[obj])

    def delete_queryset(self, request, queryset):
        with admin_origin():
            services.delete_blueprint_drafts(actor=request.user, blueprints=queryset)

    def save_formset(self, request, form, formset, change):
        """Inline levels and rules go through the service, audited one by one."""
        instances = formset.save(commit=False)
        with admin_origin():
            services.save_blueprint_parts(actor=request.user, blueprint=form.instance, saved=instances,
                                          deleted=formset.deleted_objects)
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
    list_display = ("incident", "from_level", "to_level", "by_engine", "actor", "created_at", "exercise")
    list_filter = ("incident__exercise",)
    list_select_related = ("incident__exercise", "actor")

    @admin.display(description="exercise", ordering="incident__exercise")
    def exercise(self, escalation):
        return escalation.incident.exercise or "—"
