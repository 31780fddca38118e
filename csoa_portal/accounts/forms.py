"""Login forms: the password step and the TOTP step.

The e-mail field is named ``username`` because django-axes reads the attempted
login from ``AXES_USERNAME_FORM_FIELD`` (= "username") when it records failures.
"""

from django import forms


class PasswordLoginForm(forms.Form):
    username = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TokenField(forms.RegexField):
    """Six digits; spaces are forgiven because apps show codes as "123 456"."""

    def to_python(self, value):
        return "".join(super().to_python(value).split())


class TokenForm(forms.Form):
    code = TokenField(
        label="Six-digit code from your authenticator app",
        regex=r"^\d{6}$",
        error_messages={"invalid": "Enter the six digits your authenticator app shows, e.g. 123456."},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "maxlength": 7,
                "autofocus": True,
            }
        ),
    )
