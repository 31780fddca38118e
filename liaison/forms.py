"""Browser forms of the network pages: they validate input; liaison.services does the writing.

Plain forms rather than ModelForms: a ModelForm would save the row itself and bypass
the audited service. ``add_service_errors`` puts a service's ValidationError on the
field it names, so the page shows the message where the user can fix it.
"""

import zoneinfo

from django import forms
from django.core.exceptions import ValidationError

from csoa_portal import tokens
from csoa_portal.models import ApiToken
from liaison.models import MemberState, Organisation
from liaison.roles import OrganisationKind, Role

# Roles given to people in the browser; the SOC tooling role belongs to service accounts only.
PERSON_ROLE_CHOICES = [(value, label) for value, label in Role.choices if value != Role.SOC_TOOLING]


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Attach a service's ValidationError to the form fields it names (others to the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _timezone_choices():
    return [(name, name) for name in sorted(zoneinfo.available_timezones()) if "/" in name]


# --- Directory filters -------------------------------------------------------------------


class OrganisationFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=100)
    kind = forms.ChoiceField(required=False, choices=[("", "All kinds"), *OrganisationKind.choices])
    member_state = forms.ModelChoiceField(
        required=False,
        queryset=MemberState.objects.order_by("code"),
        to_field_name="code",
        empty_label="All member states",
    )


# --- Network management --------------------------------------------------------------------


class MemberStateForm(forms.Form):
    code = forms.CharField(max_length=2, help_text="ISO 3166 alpha-2, e.g. DE. It cannot change later.")
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=MemberState.Kind.choices)
    eu_label = forms.CharField(
        max_length=2, required=False, label="EU label", help_text="Only when EU texts use another code (EL for GR)."
    )
    time_zone = forms.CharField(
        max_length=64, label="Time zone",
        help_text="IANA name, e.g. Europe/Berlin: NIS2 calendar-month deadlines are counted in it.",
    )
    reserve_eligible = forms.BooleanField(
        required=False, label="Eligible for the Reserve under its association agreement",
        help_text="DEP-associated third countries only (CSoA Art. 19): tick when the association agreement provides "
                  "for Reserve support; its competent authorities may then request it, through their SPOC.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            # The code is the identifier scripts rely on: never editable.
            del self.fields["code"]
        else:
            del self.fields["is_active"]


class OrganisationForm(forms.Form):
    code = forms.CharField(
        max_length=64, help_text="Lower-case letters, digits and hyphens, e.g. de-csirt. It cannot change later."
    )
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=OrganisationKind.choices)
    member_state = forms.ModelChoiceField(
        required=False,
        queryset=MemberState.objects.order_by("code"),
        to_field_name="code",
        empty_label="— none (EU level) —",
    )
    contact_email = forms.EmailField(required=False)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]
        else:
            del self.fields["is_active"]


class PersonCreateForm(forms.Form):
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200)
    roles = forms.MultipleChoiceField(choices=PERSON_ROLE_CHOICES, widget=forms.CheckboxSelectMultiple)


class PersonUpdateForm(forms.Form):
    full_name = forms.CharField(max_length=200)
    timezone = forms.ChoiceField(choices=_timezone_choices)
    is_active = forms.BooleanField(required=False, label="Active (unticked: the person can no longer sign in)")


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=PERSON_ROLE_CHOICES)


# --- API tokens ----------------------------------------------------------------------------


class TokenCreateForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The tool that will use it, e.g. 'SOC ticketing sync'.")
    scopes = forms.MultipleChoiceField(
        choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[ApiToken.Scope.READ]
    )
    days = forms.IntegerField(
        min_value=1, max_value=tokens.MAX_DAYS, initial=tokens.DEFAULT_DAYS, label="Valid for (days)"
    )


class TokenOrganisationForm(forms.Form):
    """Network admins choose whose tokens they manage."""

    org = forms.ModelChoiceField(queryset=Organisation.objects.none(), to_field_name="code", label="Organisation")

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = queryset


class ExerciseForm(forms.Form):
    """An exercise's plan: the service (``create_exercise``/``update_exercise``) checks the rest."""

    organisation = forms.ModelChoiceField(queryset=None, label="Run by")
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=[])
    starts_at = forms.DateTimeField(label="Starts (UTC)", help_text="e.g. 2026-06-10 08:00")
    ends_at = forms.DateTimeField(label="Ends (UTC)")
    participants = forms.ModelMultipleChoiceField(queryset=None, help_text="The organisations that take part.")
    controllers = forms.ModelMultipleChoiceField(queryset=None, required=False,
                                                 help_text="People of participating organisations who run it.")
    blueprint_version = forms.IntegerField(min_value=1, required=False,
                                           help_text="Empty: the active Blueprint; or the number of a draft to test.")
    time_scale = forms.DecimalField(
        label="Exercise time", initial=1, required=False, decimal_places=2,
        help_text="Exercise minutes per real minute: every clock of the exercise (NIS2, alerts, Reserve, situation "
                  "updates) runs this much faster. 1 is real time; 6 is one exercise hour in 10 real minutes; "
                  "more than 0, at most 1440 (empty: real time).")

    def __init__(self, *args, owners, **kwargs):
        from liaison.models import Exercise, Organisation, User

        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(pk__in=[o.pk for o in owners])
        self.fields["kind"].choices = Exercise.Kind.choices
        self.fields["participants"].queryset = Organisation.objects.filter(is_active=True).order_by("code")
        self.fields["controllers"].queryset = User.objects.filter(is_active=True, is_service_account=False,
                                                                  memberships__isnull=False).distinct()

    def clean(self):
        data = super().clean()
        if data.get("starts_at") and data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            self.add_error("ends_at", "The exercise ends after it starts.")
        if data.get("time_scale") is not None:
            from liaison.models import time_scale_problem

            problem = time_scale_problem(data["time_scale"])
            if problem:
                self.add_error("time_scale", problem)
        return data
