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
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp.admin import OTPAdminSite

from csoa_portal import audit, services
from csoa_portal.context import current_origin, reset_origin, set_origin
from csoa_portal.models import AuditEntry, OutboxEmail


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
    """Saves and deletes of a model without a domain service, audited (``csoa_portal.services``).

    Models that have services (the network, incidents, the Reserve) route through them
    instead; this covers the rest (devices, lockouts…). The writes run inside the admin's
    transaction.
    """

    audit_prefix = ""

    def _prefix(self):
        return self.audit_prefix or self.model._meta.model_name

    def save_model(self, request, obj, form, change):
        with admin_origin():
            services.save_record(actor=request.user, obj=obj, action_prefix=self._prefix())

    def delete_model(self, request, obj):
        with admin_origin():
            services.delete_records(actor=request.user, objects=[obj], action_prefix=self._prefix())

    def delete_queryset(self, request, queryset):
        with admin_origin():
            services.delete_records(actor=request.user, objects=list(queryset), action_prefix=self._prefix())


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
    """Who did what, when, to which object; the content only where the viewer may read the object.

    The search covers the non-content fields only: searching ``object_repr`` or before/after
    would tell which redacted entry contains a word (an oracle).
    """

    list_display = ("seq", "created_at", "actor_email", "organisation_code", "via", "action", "object_type", "object_id")
    list_filter = ("via", "action")
    search_fields = ("actor_email", "organisation_code", "action", "object_type", "object_id")
    date_hierarchy = "created_at"
    ordering = ("-id",)
    show_full_result_count = False  # counting a large log on every page load is wasted work
    fields = (
        "seq", "created_at", "actor_id", "actor_email", "organisation_code", "via", "token_id", "session_ref",
        "ip_address", "action", "object_type", "object_id", "object_repr", "before", "after", "content_hash",
        "sealed_at", "prev_hash", "hash",
    )
    readonly_fields = fields

    def get_object(self, request, object_id, from_field=None):
        entry = super().get_object(request, object_id, from_field)
        if entry is not None:
            audit.redact_unreadable(request.user, [entry])
        return entry


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox: what was sent when, what is waiting, and what was given up on with the last error.

    Read-only: a row is written by the change it tells about and sent by the outbox (csoa_portal/outbox.py).
    Who was mailed on which occasion (the key names it), never what: subject and body carry the
    content of objects the staff member may not read, and the admin is no way around TLP.
    """

    list_display = ("created_at", "recipient", "dedupe_key", "sent_at", "attempts", "next_attempt_at", "last_error")
    list_filter = (("sent_at", admin.EmptyFieldListFilter), ("next_attempt_at", admin.EmptyFieldListFilter))
    search_fields = ("recipient", "dedupe_key")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ("dedupe_key", "recipient", "created_at", "next_attempt_at", "sent_at", "attempts", "last_error")
    readonly_fields = fields
