"""Browser forms of the Reserve pages: they parse input; ``reserve.services`` validates the rules and writes.

Plain forms, never ModelForms (a ModelForm would save the row itself and bypass the
audited service). Field names are the services' argument names, so a service's
``ValidationError`` lands on the field it names (``liaison.forms.add_service_errors``).
A request's form requires nothing by itself: a draft may be saved incomplete, and
``services.submit_request`` names every missing field when it is submitted.
"""

from django import forms

from csoa_portal import forms as portal_forms
from csoa_portal.input_rules import INT64_MAX, is_digits
from incidents import policy as incident_policy
from incidents.models import Incident, Sector
from incidents.vocabulary import EntityType
from liaison.models import MemberState, Organisation
from liaison.policy import acting_organisation_ids
from liaison.roles import OrganisationKind
from reserve.models import ProviderProfile
from reserve.selectors import request_refusal
from reserve.vocabulary import (
    CertificationStatus,
    ClearanceLevel,
    MAX_COMMITTED_PERSON_DAYS,
    MAX_PERSON_DAYS,
    ImpactLevel,
    MeasuresLevel,
    Recommendation,
    Service,
    SpillOverRisk,
    Urgency,
)
from reserve.workflow import RequestStatus

INCIDENTS_OFFERED = 100  # the picker lists the newest visible incidents (and those already linked)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def _blank(choices) -> list:
    return [("", "—"), *choices]


def requesting_organisations(user):
    """The user's organisations that may request Reserve support (CSoA Art. 14(3)), by the selector's rule."""
    organisations = Organisation.objects.filter(pk__in=acting_organisation_ids(user)).select_related(
        "member_state").order_by("name")
    return [o for o in organisations if request_refusal(o) is None]


class IncidentPicker(portal_forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Incident) -> str:
        return f"{obj.reference} — {obj.title}"


class RequestForm(forms.Form):
    """What a request states (CSoA Art. 15(4)); ``action`` says save as draft or submit."""

    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none(), to_field_name="code",
                                          label="Requesting organisation", empty_label=None)
    affected_entity = forms.CharField(required=False, max_length=200, label="Affected entity",
                                      widget=forms.TextInput(attrs={"autofocus": True}))
    entity_type = forms.ChoiceField(required=False, choices=_blank(EntityType.choices), label="Type of entity")
    sector = forms.ModelChoiceField(required=False, queryset=Sector.objects.none(), to_field_name="code",
                                    label="Sector (NIS2)", empty_label="—")
    incidents = IncidentPicker(
        required=False, queryset=Incident.objects.none(), label="Incidents it concerns",
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="Only incidents your organisation reported are offered; hold Ctrl (⌘) to choose several.",
        error_messages={"invalid_choice": "Incident %(value)s cannot be linked: only its originating organisation "
                                          "may link an incident to a Reserve request, and only incidents it may see."},
    )
    impact_description = forms.CharField(required=False, max_length=20000, label="Potential impact",
                                         widget=forms.Textarea(attrs={"rows": 3}))
    impact_level = forms.ChoiceField(required=False, choices=_blank(ImpactLevel.choices), label="Impact level")
    spill_over_risk = forms.ChoiceField(required=False, choices=_blank(SpillOverRisk.choices),
                                        label="Risk of spill-over")
    planned_use = forms.CharField(required=False, max_length=20000, label="Planned use of the support",
                                  widget=forms.Textarea(attrs={"rows": 3}))
    services = forms.MultipleChoiceField(required=False, choices=Service.choices, label="Services needed",
                                         widget=forms.CheckboxSelectMultiple)
    person_days = forms.IntegerField(required=False, min_value=1, max_value=MAX_PERSON_DAYS,
                                     label="Estimated effort (person-days)")
    window_start = portal_forms.DateField(required=False, widget=DateInput, label="Support needed from")
    window_end = portal_forms.DateField(required=False, widget=DateInput, label="Support needed until")
    mitigation_measures = forms.CharField(required=False, max_length=20000, label="Mitigation measures already taken",
                                          widget=forms.Textarea(attrs={"rows": 3}))
    measures_level = forms.ChoiceField(required=False, choices=_blank(MeasuresLevel.choices),
                                       label="How far the measures go")
    measures_confirmed = forms.BooleanField(
        required=False, label="We confirm that all appropriate mitigation measures have been taken (CSoA Art. 15(2))")
    other_support = forms.CharField(
        required=False, max_length=20000, label="Other support available", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Existing incident-response contracts, insurance covering the incident; “none” if there is none.")
    urgency = forms.ChoiceField(required=False, choices=_blank(Urgency.choices))
    languages = forms.CharField(required=False, max_length=200, label="Working languages",
                                help_text="ISO 639-1 codes, e.g. “de, en”.")
    security_clearance = forms.ChoiceField(
        required=False, choices=[("", "None needed"), *ClearanceLevel.choices],
        label="Security clearance the deployed staff must hold",
        help_text="Only providers with staff cleared to this level are matched (CSoA Art. 17(2)).")
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    SECTIONS = (
        ("The affected entity", ("affected_entity", "entity_type", "sector", "incidents")),
        ("Impact", ("impact_description", "impact_level", "spill_over_risk")),
        ("Support needed", ("planned_use", "services", "person_days", "window_start", "window_end", "urgency",
                            "languages", "security_clearance")),
        ("Measures taken and other support", ("mitigation_measures", "measures_level", "measures_confirmed",
                                              "other_support")),
    )
    CONTENT = tuple(name for _, names in SECTIONS for name in names)

    def __init__(self, data=None, *, user, assistance_request=None, **kwargs):
        if assistance_request is not None and data is None:
            kwargs.setdefault("initial", self.initial_for(assistance_request))
        super().__init__(data, **kwargs)
        self.assistance_request = assistance_request
        organisations = (requesting_organisations(user) if assistance_request is None
                         else [assistance_request.requester_organisation])
        codes = [o.code for o in organisations]
        self.fields["organisation"].queryset = Organisation.objects.filter(code__in=codes).order_by("name")
        self.may_request = bool(organisations)
        self.sole_organisation = organisations[0] if len(organisations) == 1 else None
        if self.sole_organisation:  # nothing to choose: the request is the organisation's
            self.fields["organisation"].widget = forms.HiddenInput()
            self.fields["organisation"].required = False
            self.fields["organisation"].initial = self.sole_organisation.code
        self.fields["sector"].queryset = Sector.objects.select_related("parent").order_by("code")
        visible = incident_policy.linkable_incidents(user)  # a recipient does not pass an incident on
        self.fields["incidents"].queryset = visible
        self.fields["incidents"].widget.choices = self._incident_choices(visible)

    def _incident_choices(self, visible) -> list[tuple[int, str]]:
        """The newest visible incidents and those already chosen: the list stays short, validation covers all."""
        if self.is_bound:
            chosen = self.data.getlist("incidents") if hasattr(self.data, "getlist") else self.data.get("incidents", [])
        else:
            chosen = self.initial.get("incidents") or []
        chosen = [int(v) for v in chosen if is_digits(str(v)) and int(v) <= INT64_MAX]  # others are refused in clean
        newest = list(visible.order_by("-created_at", "-id").values_list("pk", flat=True)[:INCIDENTS_OFFERED])
        rows = visible.filter(pk__in={*newest, *chosen}).order_by("-created_at", "-id").only(
            "pk", "title", "created_at")
        return [(i.pk, f"{i.reference} — {i.title}") for i in rows]

    def clean_organisation(self):
        return self.cleaned_data["organisation"] or self.sole_organisation

    @staticmethod
    def initial_for(request) -> dict:
        return {
            "organisation": request.requester_organisation.code,
            **{name: getattr(request, name) for name in (
                "affected_entity", "entity_type", "impact_description", "impact_level", "spill_over_risk",
                "planned_use", "services", "person_days", "window_start", "window_end", "mitigation_measures",
                "measures_level", "measures_confirmed", "other_support", "urgency", "security_clearance")},
            "sector": request.sector.code if request.sector_id else None,
            "incidents": [i.pk for i in request.incidents.all()],
            "languages": ", ".join(request.languages or []),
            "version": request.version,
        }

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]

    def content(self) -> dict:
        """The content fields as the services take them."""
        data = self.cleaned_data
        content = {name: data[name] for name in self.CONTENT}
        content["incidents"] = list(data["incidents"])
        return content


class RequestFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search",
                        help_text="Reference (RSV-…) or affected entity.")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *RequestStatus.choices])
    member_state = forms.ModelChoiceField(required=False, queryset=MemberState.objects.order_by("code"),
                                          to_field_name="code", empty_label="Any member state",
                                          label="Requesting member state")


class TriageFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[
        ("", "Every open request"), (RequestStatus.SUBMITTED, "Awaiting assessment"),
        (RequestStatus.INFO_REQUESTED, "Waiting for the requester"), (RequestStatus.ASSESSED, "Awaiting decision")])
    urgency = forms.ChoiceField(required=False, choices=[("", "Any urgency"), *Urgency.choices])
    member_state = forms.ModelChoiceField(required=False, queryset=MemberState.objects.order_by("code"),
                                          to_field_name="code", empty_label="Any member state",
                                          label="Requesting member state")


class ForwardForm(forms.Form):
    prefix = "forward"
    note = forms.CharField(required=False, max_length=4000, label="Endorsement note (optional)",
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReasonForm(forms.Form):
    """A reason the service requires (returning to the requester, withdrawing, declining, cancelling)."""

    reason = forms.CharField(max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, prefix: str, label: str = "Reason", **kwargs):
        super().__init__(*args, prefix=prefix, **kwargs)
        self.fields["reason"].label = label


class QuestionForm(forms.Form):
    prefix = "info"
    question = forms.CharField(max_length=8000, label="What the requester should add or clarify",
                               widget=forms.Textarea(attrs={"rows": 3}))


class AnswerForm(forms.Form):
    prefix = "answer"
    answer = forms.CharField(max_length=20000, label="Your answer", widget=forms.Textarea(attrs={"rows": 3}))


class AssessmentForm(forms.Form):
    prefix = "assess"
    complete = forms.TypedChoiceField(
        choices=[("true", "Complete: everything Art. 15(4) asks for is there"),
                 ("false", "Incomplete or unclear")],
        coerce=lambda v: v == "true", widget=forms.RadioSelect, label="Completeness")
    missing = forms.CharField(required=False, max_length=8000, widget=forms.Textarea(attrs={"rows": 2}),
                              label="What is missing or unclear", help_text="One item per line.")
    recommendation = forms.ChoiceField(choices=Recommendation.choices, widget=forms.RadioSelect)
    reasons = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 4}),
                              label="Reasons for the recommendation")

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {"complete": data["complete"], "recommendation": data["recommendation"], "reasons": data["reasons"],
                "missing": [line.strip() for line in data["missing"].splitlines() if line.strip()]}


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("approved", "Approve"), ("rejected", "Reject")])
    reasons = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 4}),
                              label="Reasons for the decision")


class EngageForm(forms.Form):
    """Engage one provider for the whole need, or for a share of it (ENISA may engage several)."""

    provider = forms.ModelChoiceField(queryset=Organisation.objects.filter(kind=OrganisationKind.RESERVE_PROVIDER),
                                      to_field_name="code", widget=forms.HiddenInput)
    services = forms.MultipleChoiceField(required=False, choices=Service.choices, widget=forms.CheckboxSelectMultiple,
                                         label="Only these services", help_text="None chosen: all the request asks for.")
    person_days = forms.IntegerField(required=False, min_value=1, max_value=MAX_PERSON_DAYS, label="Person-days to book",
                                     help_text="Empty: the request's estimate.")
    window_start = portal_forms.DateField(required=False, widget=DateInput, label="From")
    window_end = portal_forms.DateField(required=False, widget=DateInput, label="Until")

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {"provider": data["provider"], "services": data["services"] or None,
                "person_days": data["person_days"], "window_start": data["window_start"],
                "window_end": data["window_end"]}


class AgreementForm(forms.Form):
    """A side's confirmation of the specific agreement between the provider and the user (CSoA Art. 16)."""

    prefix = "agreement"
    template_reference = forms.CharField(max_length=100, label="ENISA template reference",
                                         help_text="The reference of ENISA's specific-agreement template used.")
    agreement_date = portal_forms.DateField(widget=DateInput, label="Date of the agreement")
    liability_accepted = forms.BooleanField(required=False, label="We accept the liability terms of the agreement")


class WorkLogForm(forms.Form):
    prefix = "work"
    day = portal_forms.DateField(widget=DateInput, label="Day worked")
    person_days = forms.DecimalField(min_value=0.1, max_digits=6, decimal_places=1, label="Person-days",
                                     help_text="e.g. 1 or 1.5")
    activity = forms.CharField(max_length=8000, widget=forms.Textarea(attrs={"rows": 2}), label="What was done")


class UpdateForm(forms.Form):
    prefix = "update"
    text = forms.CharField(max_length=20000, widget=forms.Textarea(attrs={"rows": 3}), label="Update")


class ReportForm(forms.Form):
    """The user's summary report to the contracting authority and the Commission (CSoA Art. 16)."""

    service_provided = forms.CharField(max_length=40000, widget=forms.Textarea(attrs={"rows": 4}),
                                       label="Service provided")
    results = forms.CharField(max_length=40000, widget=forms.Textarea(attrs={"rows": 4}))
    lessons_learned = forms.CharField(max_length=40000, widget=forms.Textarea(attrs={"rows": 4}),
                                      label="Lessons learned")


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class ProviderForm(forms.Form):
    """A provider's profile as ENISA registers it (CSoA Art. 17(2)); the organisation only when registering."""

    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none(), to_field_name="code",
                                          label="Provider organisation", empty_label=None)
    services = forms.MultipleChoiceField(required=False, choices=Service.choices, widget=forms.CheckboxSelectMultiple,
                                         label="Services offered")
    sectors = forms.ModelMultipleChoiceField(required=False, queryset=Sector.objects.none(), to_field_name="code",
                                             label="Sectors of expertise", widget=forms.CheckboxSelectMultiple)
    languages = forms.CharField(required=False, max_length=200, label="Working languages",
                                help_text="ISO 639-1 codes, e.g. “en, de, fr”.")
    member_states = forms.ModelMultipleChoiceField(
        required=False, queryset=MemberState.objects.none(), to_field_name="code", label="Member states covered",
        widget=forms.CheckboxSelectMultiple, help_text="“EU” covers the EU institutions, bodies and agencies.")
    certification_status = forms.ChoiceField(choices=CertificationStatus.choices, label="Certification or vetting")
    certified_from = portal_forms.DateField(required=False, widget=DateInput, label="Valid from")
    certified_until = portal_forms.DateField(required=False, widget=DateInput, label="Valid until")
    security_clearances = forms.CharField(required=False, max_length=8000, widget=forms.Textarea(attrs={"rows": 2}),
                                          help_text="One per line, e.g. “EU SECRET (4 staff)”.")
    conflicts_of_interest = forms.CharField(required=False, max_length=8000, widget=forms.Textarea(attrs={"rows": 2}),
                                            label="Declared conflicts of interest",
                                            help_text="Entities or organisation codes, one per line.")
    response_hours = forms.IntegerField(min_value=1, max_value=32767, label="Committed response time (hours)")
    is_active = forms.BooleanField(required=False, initial=True, label="Active in the Reserve")

    def __init__(self, data=None, *, profile: ProviderProfile | None = None, **kwargs):
        if profile is not None and data is None:
            kwargs.setdefault("initial", self.initial_for(profile))
        super().__init__(data, **kwargs)
        self.profile = profile
        self.fields["sectors"].queryset = Sector.objects.select_related("parent").order_by("code")
        self.fields["member_states"].queryset = MemberState.objects.filter(is_active=True).order_by("code")
        if profile is None:
            self.fields["organisation"].queryset = Organisation.objects.filter(
                kind=OrganisationKind.RESERVE_PROVIDER, reserve_profile__isnull=True).order_by("name")
        else:
            del self.fields["organisation"]

    @staticmethod
    def initial_for(profile: ProviderProfile) -> dict:
        return {
            "services": profile.services, "sectors": [s.code for s in profile.sectors.all()],
            "languages": ", ".join(profile.languages), "member_states": [m.code for m in profile.member_states.all()],
            "certification_status": profile.certification_status, "certified_from": profile.certified_from,
            "certified_until": profile.certified_until,
            "security_clearances": "\n".join(profile.security_clearances),
            "conflicts_of_interest": "\n".join(profile.conflicts_of_interest),
            "response_hours": profile.response_hours, "is_active": profile.is_active,
        }

    def profile_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "services": data["services"], "sectors": list(data["sectors"]), "languages": data["languages"],
            "member_states": list(data["member_states"]), "certification_status": data["certification_status"],
            "certified_from": data["certified_from"], "certified_until": data["certified_until"],
            "security_clearances": _lines(data["security_clearances"]),
            "conflicts_of_interest": _lines(data["conflicts_of_interest"]),
            "response_hours": data["response_hours"], "is_active": data["is_active"],
        }


class CapacityForm(forms.Form):
    """Person-days committed for one period; a period already recorded (same start) is changed."""

    prefix = "capacity"
    period_start = portal_forms.DateField(widget=DateInput, label="Period from")
    period_end = portal_forms.DateField(widget=DateInput, label="Period until")
    person_days = forms.IntegerField(min_value=0, max_value=MAX_COMMITTED_PERSON_DAYS, label="Committed person-days")

    def __init__(self, *args, optional: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.optional = optional
        if optional:
            for field in self.fields.values():
                field.required = False

    def given(self) -> bool:
        return any(self.cleaned_data.get(name) not in (None, "") for name in self.fields)

    def clean(self):
        data = super().clean()
        if self.optional and self.given():
            for name in self.fields:
                if data.get(name) in (None, "") and name not in self.errors:
                    self.add_error(name, "Give all three values of the capacity period, or none.")
        return data
