from django.urls import path

from csoa_portal.accounts import passwords, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("verify/", views.verify_view, name="verify"),
    path("enrol/", views.enrol_view, name="enrol"),
    path("password/", passwords.PasswordResetView.as_view(), name="password_reset"),
    path("password/sent/", passwords.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password/<uidb64>/<token>/", passwords.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("password/done/", passwords.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
