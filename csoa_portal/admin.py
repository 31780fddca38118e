"""The hardened admin site, the audited-admin mixin and the read-only audit log admin.

The admin is a second door into the data, so it gets the same guards as the portal:
an OTP-verified session (django-otp's ``OTPAdminSite``), the portal's own login page
(password + TOTP, lockout) instead of the admin's, and an audit entry for every write.
"""

from contextlib import contextmanager
from dataclasses import replace

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.admin import OTPAdminSite

from csoa_portal import audit
from csoa_portal.context import current_origin, reset_origin, set_origin
from csoa_portal.models import AuditEntry


class PortalAdminSite(OTPAdminSite):
    """Admin only for staff whose session passed the second factor; login is the portal's."""

    site_header = "CSoA Portal administration"
    site_title = "CSoA Portal admin"
    index_title = "Network administration"

    def login(self, request, extra_context=None):
        index = reverse("admin:index", current_app=self.name)
        target = request.GET.get("next") or index
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = index
        if request.user.is_authenticated and request.user.is_verified():
            if self.has_permission(request):
                return HttpResponseRedirect(target)
            # Signed in but not staff: sending them to log in again would only loop.
            raise PermissionDenied("Your account has no access to the administration.")
        return redirect_to_login(target, login_url=reverse("accounts:login"))


# django-otp's documented way to harden the default site in place, keeping every
# ``admin.site.register`` call of every app working.
admin.site.__class__ = PortalAdminSite


@contextmanager
def admin_origin():
    """Mark writes made through the admin as such in the audit log (via="admin")."""
    token = set_origin(replace(current_origin(), via="admin"))
    try:
        yield
    finally:
        reset_origin(token)


class AuditedAdminMixin:
    """Record an audit entry for every admin save and delete of a model without a service.

    Models that have services (the network) route through them instead; this covers the
    rest (devices, lockouts…). Entries are written inside the admin's transaction.
    """

    audit_prefix = ""

    def _action(self, verb):
        meta = self.model._meta
        return f"{self.audit_prefix or meta.model_name}.{verb}"

    def save_model(self, request, obj, form, change):
        with transaction.atomic(), admin_origin():
            before = None
            if change and obj.pk is not None:
                old = type(obj)._default_manager.filter(pk=obj.pk).first()
                before = audit.snapshot(old) if old is not None else None
            super().save_model(request, obj, form, change)
            audit.record(
                actor=request.user,
                action=self._action("updated" if change else "created"),
                obj=obj,
                before=before,
                after=audit.snapshot(obj),
            )

    def delete_model(self, request, obj):
        with transaction.atomic(), admin_origin():
            audit.record(actor=request.user, action=self._action("deleted"), obj=obj, before=audit.snapshot(obj))
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic(), admin_origin():
            for obj in queryset:
                audit.record(
                    actor=request.user, action=self._action("deleted"), obj=obj, before=audit.snapshot(obj)
                )
            super().delete_queryset(request, queryset)


class ReadOnlyAdminMixin:
    """History is append-only: it can be read in the admin, never written."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("seq", "created_at", "actor_email", "organisation_code", "via", "action", "object_type", "object_id")
    list_filter = ("via", "action")
    search_fields = ("actor_email", "organisation_code", "action", "object_type", "object_id", "object_repr")
    date_hierarchy = "created_at"
    ordering = ("-seq",)
    show_full_result_count = False  # counting a large log on every page load is wasted work
