"""Django admin for the network: every save goes through liaison.services, so it is audited.

Rows the services own (member states, organisations, memberships) are written only by
the service functions; the admin calls them from ``save_model`` / ``save_formset``
inside its transaction; a person's account edits and passwords through
``services.save_account`` / ``save_password``. The event log, the audit log and tokens are read-only
(tokens can only be revoked, through the service).
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from csoa_portal.admin import AuditedAdminMixin, ReadOnlyAdminMixin, admin_origin
from csoa_portal.models import ApiToken
from liaison import events as event_log
from liaison import policy, services
from liaison.models import (
    CouncilPresidency,
    Event,
    EventAudience,
    Exercise,
    MemberState,
    Membership,
    Organisation,
    User,
)

# --- Member states and organisations --------------------------------------------------------


@admin.register(MemberState)
class MemberStateAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "eu_label", "kind", "reserve_eligible", "is_active")
    list_filter = ("kind", "reserve_eligible", "is_active")
    search_fields = ("code", "name")
    fields = ("code", "name", "eu_label", "kind", "time_zone", "reserve_eligible", "is_active")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj else ()  # the code is a stable identifier

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: incidents and audit history refer to it

    def save_model(self, request, obj, form, change):
        with admin_origin():
            if change:
                services.update_member_state(
                    actor=request.user, member_state=obj, name=obj.name, kind=obj.kind, eu_label=obj.eu_label,
                    is_active=obj.is_active, time_zone=obj.time_zone, reserve_eligible=obj.reserve_eligible,
                )
            else:
                created = services.create_member_state(
                    actor=request.user, code=obj.code, name=obj.name, kind=obj.kind, eu_label=obj.eu_label,
                    time_zone=obj.time_zone, reserve_eligible=obj.reserve_eligible,
                )
                obj.pk, obj.group_id = created.pk, created.group_id


@admin.register(CouncilPresidency)
class CouncilPresidencyAdmin(admin.ModelAdmin):
    """The rotation, kept by ENISA: it decides who may activate the political level (the Blueprint's level 3)."""

    list_display = ("member_state", "starts_on", "ends_on")
    fields = ("member_state", "starts_on", "ends_on")

    def has_delete_permission(self, request, obj=None):
        return False  # history: who held the Presidency when a level was declared

    def save_model(self, request, obj, form, change):
        with admin_origin():
            services.save_presidency(actor=request.user, presidency=obj)


class OrganisationAdminForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields = ("code", "name", "kind", "member_state", "contact_email", "is_active")

    def clean(self):
        data = super().clean()
        try:
            services.check_organisation_kind(
                kind=data.get("kind"), member_state=data.get("member_state"), organisation=self.instance
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                self.add_error(field, messages)
        return data


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    form = OrganisationAdminForm
    list_display = ("code", "name", "kind", "member_state", "is_active")
    list_filter = ("kind", "is_active", "member_state__kind")
    list_select_related = ("member_state",)
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        with admin_origin():
            if change:
                services.update_organisation(
                    actor=request.user, organisation=obj, name=obj.name, kind=obj.kind,
                    member_state=obj.member_state, contact_email=obj.contact_email, is_active=obj.is_active,
                )
            else:
                created = services.create_organisation(
                    actor=request.user, code=obj.code, name=obj.name, kind=obj.kind,
                    member_state=obj.member_state, contact_email=obj.contact_email,
                )
                obj.pk, obj.group_id = created.pk, created.group_id


# --- People -----------------------------------------------------------------------------------


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    fields = ("organisation", "role")
    autocomplete_fields = ("organisation",)


class PersonCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")

    def clean_email(self):
        """Stored lower-case like every other path (the login is case-insensitive)."""
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError("Someone with this e-mail already exists.")
        return email


class PersonPasswordForm(AdminPasswordChangeForm):
    """Sets the new password on the person without saving: ``UserAdmin.log_change`` saves it
    through ``services.save_password`` (audited)."""

    def save(self, commit=True):
        return super().save(commit=False)


class PersonChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """The e-mail-login user: no username; roles are memberships, groups are derived from them."""

    form = PersonChangeForm
    add_form = PersonCreationForm
    change_password_form = PersonPasswordForm
    inlines = [MembershipInline]
    list_display = ("email", "full_name", "is_active", "is_staff", "is_service_account", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "is_service_account", "memberships__role")
    search_fields = ("email", "full_name", "memberships__organisation__code")
    ordering = ("email",)
    filter_horizontal = ("user_permissions",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "timezone", "email_notifications")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "is_service_account", "user_permissions")}),
        ("Derived groups", {"fields": ("groups",), "description": "Computed from memberships; not edited here."}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "usable_password", "password1", "password2")}),
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = ["groups", "last_login", "date_joined", "is_service_account"]
        if not request.user.is_superuser:
            # A network admin manages people, not superuser powers (no self-escalation).
            readonly += ["is_staff", "is_superuser", "user_permissions"]
        return readonly

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead; audit entries keep referring to the person

    def save_model(self, request, obj, form, change):
        permissions = form.cleaned_data.get("user_permissions") if "user_permissions" in form.changed_data else None
        with admin_origin():
            services.save_account(actor=request.user, user=obj, permissions=permissions)

    def save_related(self, request, form, formsets, change):
        """The permissions went through ``save_account`` with the person (no ``form.save_m2m()``);
        groups are derived from memberships, which ``save_formset`` hands to the services."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        """Memberships change only through the services (audit entry, Event, derived groups)."""
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        user = form.instance
        with admin_origin():
            formset.save(commit=False)
            for membership in formset.deleted_objects:
                services.remove_membership(actor=request.user, membership=membership)
            for membership, _changed in formset.changed_objects:
                old = Membership.objects.select_related("organisation", "user").get(pk=membership.pk)
                services.remove_membership(actor=request.user, membership=old)
                services.add_membership(
                    actor=request.user, user=user, organisation=membership.organisation, role=membership.role
                )
            for membership in formset.new_objects:
                services.add_membership(
                    actor=request.user, user=user, organisation=membership.organisation, role=membership.role
                )

    def user_change_password(self, request, id, form_url=""):
        with transaction.atomic():
            return super().user_change_password(request, id, form_url)

    def log_change(self, request, obj, message):
        """The password view's form only sets the new password (``PersonPasswordForm``): save it here,
        through the service, inside the view's transaction."""
        match = getattr(request, "resolver_match", None)
        if request.method == "POST" and match and match.url_name.endswith("_password_change"):
            with admin_origin():
                services.save_password(actor=request.user, user=obj)
        return super().log_change(request, obj, message)


# --- Exercises (read-only; archived through the service) -------------------------------------


@admin.register(Exercise)
class ExerciseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every exercise of the network, to find and read; planned, run, edited and deleted on the Exercises pages by
    the organisation that runs it (``liaison.services``). The admin's one write is archiving, through the service,
    for those who may manage the exercise. Its status follows its clock (the sweep job ``exercise_status``)."""

    list_display = ("name", "kind", "status", "organisation", "starts_at", "ends_at", "time_scale")
    list_filter = ("status", "kind", "organisation")
    search_fields = ("name", "organisation__code")
    list_select_related = ("organisation",)
    ordering = ("-starts_at", "id")
    fields = ("name", "kind", "status", "organisation", "starts_at", "ends_at", "time_scale", "blueprint_version",
              "participants", "controllers", "created_by", "created_at")
    readonly_fields = fields
    actions = ["archive"]

    def has_archive_permission(self, request):
        return policy.is_network_admin(request.user) or bool(policy.exercise_owner_organisations(request.user))

    @admin.action(description="Archive the selected exercises (their data stays until deleted)", permissions=["archive"])
    def archive(self, request, queryset):
        done, refused = [], []
        with admin_origin():
            for exercise in queryset.select_related("organisation"):
                try:
                    services.archive_exercise(actor=request.user, exercise=exercise)
                    done.append(exercise.name)
                except PermissionDenied as refusal:
                    refused.append(f"{exercise.name}: {refusal}")
        if done:
            self.message_user(request, f"Archived: {', '.join(done)}.", messages.SUCCESS)
        for problem in refused:
            self.message_user(request, f"Not archived — {problem}", messages.ERROR)


# --- Logs and tokens (read-only) ------------------------------------------------------------


EVENT_PAYLOAD_REDACTED = {"redacted": "you may not read this event's subject"}


def readable_event_ids(user, events) -> set[int]:
    """Events whose payload the user may read: their subject passes its visibility check.

    Subjects without a registered check (network records, notices) are readable by the
    event's audience and by network admins, who administer the network records.
    """
    events = list(events)
    readable: set[int] = set()
    unchecked = []
    by_type: dict[str, list] = {}
    for event in events:
        if event_log.has_subject_check(event.subject_type):
            by_type.setdefault(event.subject_type, []).append(event)
        else:
            unchecked.append(event)
    for subject_type, group in by_type.items():
        ids = event_log.visible_subject_ids(user, subject_type, {e.subject_id for e in group})
        readable.update(e.id for e in group if e.subject_id in ids)
    if unchecked:
        if policy.is_network_admin(user):
            readable.update(e.id for e in unchecked)
        else:
            mine = set(
                EventAudience.objects.filter(event__in=unchecked, group__in=user.groups.all())
                .values_list("event_id", flat=True)
            )
            readable.update(mine)
    return readable


@admin.register(Event)
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The whole network's events, by kind, subject reference, actor and time; the payload only
    where the viewer may see the subject. Search covers the non-content fields only, so it is
    no oracle for a redacted payload."""

    list_display = ("id", "created_at", "kind", "subject_type", "subject_id", "actor", "exercise", "published_at")
    list_filter = ("kind", "subject_type", "exercise")  # "exercise: empty" is live work
    search_fields = ("kind", "subject_type", "subject_id")
    list_select_related = ("actor", "exercise")
    ordering = ("-id",)
    show_full_result_count = False
    fields = ("id", "created_at", "kind", "subject_type", "subject_id", "actor", "exercise", "payload", "published_at")
    readonly_fields = fields

    def get_object(self, request, object_id, from_field=None):
        event = super().get_object(request, object_id, from_field)
        if event is not None and event.id not in readable_event_ids(request.user, [event]):
            event.payload = EVENT_PAYLOAD_REDACTED  # in memory, for display only
        return event


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "organisation", "prefix", "scopes", "created_by", "created_at", "expires_at",
                    "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    list_select_related = ("organisation", "created_by")
    search_fields = ("name", "prefix", "organisation__code")
    exclude = ("secret_hash",)
    actions = ["revoke"]

    def has_revoke_permission(self, request):
        return policy.is_network_admin(request.user)

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request, queryset):
        with admin_origin():
            for token in queryset.select_related("organisation"):
                services.revoke_api_token(actor=request.user, token=token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.", messages.SUCCESS)


# --- Third-party admins: groups are derived, other writes audited ---------------------------

if admin.site.is_registered(Group):
    admin.site.unregister(Group)  # groups are computed from memberships (liaison.groups), never edited


def _audit_registered(model, prefix):
    """Re-register a third-party ModelAdmin with audited saves and deletes."""
    if not admin.site.is_registered(model):
        return
    base = type(admin.site._registry[model])
    admin.site.unregister(model)
    admin.site.register(model, type(f"Audited{base.__name__}", (AuditedAdminMixin, base), {"audit_prefix": prefix}))


def _audit_third_party_admins():
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _audit_registered(TOTPDevice, "totp_device")
    _audit_registered(AccessAttempt, "lockout")
    _audit_registered(AccessLog, "access_log")
    _audit_registered(AccessFailureLog, "access_failure_log")


_audit_third_party_admins()
