"""Setting a password by e-mail link: for new people (created without one) and forgotten ones.

Django's reset views, with two changes: people whose password is still unusable (just
added by an admin) can receive the link too, service accounts never; and the new
password is recorded in the audit log.
"""

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.urls import reverse_lazy

from csoa_portal import audit


class PasswordSetForm(auth_forms.PasswordResetForm):
    def get_users(self, email):
        return get_user_model()._default_manager.filter(
            email__iexact=email, is_active=True, is_service_account=False
        )


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordSetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")
    use_https = settings.PRODUCTION


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            audit.record(actor=form.user, action="password.set", obj=form.user)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
