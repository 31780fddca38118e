"""Browser forms of the incident pages: they parse and validate input; ``incidents.services`` writes.

Plain forms rather than ModelForms: a ModelForm would save the row itself and bypass the
audited service. Rules that depend on the incident or on who acts (awareness in the
future, TLP of a share, who may edit) stay in the services; the view puts their
``ValidationError`` on the field it names with ``add_service_errors``.

Times typed into ``datetime-local`` inputs carry no zone: Django reads them in the
current time zone, which ``UserTimezoneMiddleware`` set to the user's own.
"""

import csv
import io
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from csoa_portal import forms as portal_forms
from csoa_portal import input_rules
from incidents import tlp as tlp_rules
from incidents.imports import FORMATS, MAX_IMPORT_BYTES
from incidents.models import Incident, IncidentCategory, Observable, Report, Sector
from incidents.services import (
    MAX_ATTACHMENTS,
    MAX_OBSERVABLES_PER_CALL,
    OPTIONAL_SECTIONS,
    REPORT_SECTIONS,
)
from incidents.vocabulary import (
    NOT_ASSESSED,
    SITUATION_TAXONOMY,
    TLP,
    EntityType,
    Severity,
    Significance,
    SignificanceGround,
)
from liaison.models import MemberState, Organisation, User
from liaison.policy import acting_organisation_ids
from liaison.roles import Community


YES_NO_UNKNOWN = [("", "Not known yet"), ("true", "Yes"), ("false", "No")]
SECTION_LABELS = {
    "summary": "Summary",
    "initial_assessment": "Initial assessment (severity, impact)",
    "impact": "Impact",
    "status_update": "Status update",
    "detailed_description": "Detailed description",
    "root_cause": "Type of threat or root cause",
    "mitigation": "Mitigation measures applied and ongoing",
    "cross_border_impact": "Cross-border impact",
    "indicators_of_compromise": "Indicators of compromise",
    "threat_type": "Type of threat",
    "notes": "Notes",
}
ART_23_4_A_QUESTIONS = {
    "suspected_malicious": "Suspected of being caused by unlawful or malicious acts? (Art. 23(4)(a))",
    "cross_border_impact": "Could it have a cross-border impact? (Art. 23(4)(a))",
}
MAX_CSV_BYTES = 5 * 1024 * 1024
CSV_COLUMNS = ("type", "value", "tlp", "first_seen", "last_seen", "note")


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


class DateTimeLocalField(portal_forms.DateTimeField):
    """A ``datetime-local`` value, read in the user's time zone; within the portal's range."""

    widget = DateTimeLocalInput
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _tristate(value):
    return {"true": True, "false": False}.get(value)


def _sector_choices():
    return Sector.objects.select_related("parent").order_by("code")


# How each picker groups its choices: (heading of an object, its full name, order of the headings or None for
# first appearance). The value is always the code; the text never a bare code like ``energy.electricity``.
PICKER_GROUPS = {
    "sector": (lambda s: s.get_annex_display(), str, lambda heading: heading),
    "member_state": (lambda s: s.get_kind_display(), lambda s: f"{s.name} ({s.display_code})", None),
    # Organisations by member state, the EU level last.
    "organisation": (lambda o: o.member_state.name if o.member_state_id else "EU level",
                     lambda o: f"{o.name} — {o.get_kind_display()}", lambda heading: (heading == "EU level", heading)),
}


def grouped_choices(objects, kind: str) -> list:
    """The searchable pickers' choices (``data-picker``): under headings, sorted by full name within each."""
    heading_of, label_of, heading_order = PICKER_GROUPS[kind]
    groups: dict[str, list] = {}
    for obj in objects:
        groups.setdefault(heading_of(obj), []).append((obj.code, label_of(obj)))
    ordered = sorted(groups.items(), key=lambda g: heading_order(g[0])) if heading_order else groups.items()
    return [(heading, sorted(items, key=lambda item: item[1])) for heading, items in ordered]


def _category_choices():
    return IncidentCategory.objects.order_by("code")


SIGNIFICANCE_CHOICES = [("", "Not stated yet (treated as significant: the clocks run)"), *Significance.choices]


class _FactsMixin(forms.Form):
    """The fields an incident's facts are made of, shared by the report and edit forms."""

    significance = forms.ChoiceField(
        required=False, choices=SIGNIFICANCE_CHOICES, label="Significant incident? (NIS2 Art. 23(3))",
        help_text="Only a significant incident carries the mandatory reporting clocks; a voluntary notification "
                  "or a near miss (Art. 30) is recorded and shared like any other.",
    )
    significance_grounds = forms.MultipleChoiceField(
        required=False, choices=SignificanceGround.choices, widget=forms.CheckboxSelectMultiple,
        label="Why it is significant", help_text="At least one, for a significant incident.",
    )
    significance_explanation = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2}), label="Explanation",
        help_text="What makes it significant, or why it is not (voluntary notification, near miss).",
    )

    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 5}))
    affected_member_states = forms.ModelMultipleChoiceField(
        required=False, queryset=MemberState.objects.filter(is_active=True).order_by("code"), to_field_name="code",
        widget=forms.SelectMultiple(attrs={"size": 8, "data-picker": "member states"}),
        help_text="Two or more member states start the Art. 23(6) clock to inform the others and ENISA.",
    )
    sectors = forms.ModelMultipleChoiceField(
        required=False, queryset=Sector.objects.none(), to_field_name="code", label="Sectors and sub-sectors",
        widget=forms.SelectMultiple(attrs={"size": 8, "data-picker": "sectors"}),
        help_text="NIS2 Annex I (high criticality) and Annex II.",
    )
    entity_type = forms.ChoiceField(required=False, choices=[("", "—"), *EntityType.choices])
    category = forms.ModelChoiceField(
        required=False, queryset=IncidentCategory.objects.none(), to_field_name="code",
        label="Incident category (RSIT)", empty_label="—",
    )
    national_capacity_exceeded = forms.BooleanField(
        required=False, label="National capacity to respond is exceeded",
        help_text="NIS2 Art. 6(7): makes this a large-scale cybersecurity incident.",
    )
    technical_cooperation_requested = forms.BooleanField(
        required=False, label="Ask the CSIRTs Network for technical cooperation",
        help_text="Brings the incident to the technical level (Blueprint level 1): indicators, analysis, "
                  "situational awareness with the other member states' CSIRTs.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sectors"].queryset = _sector_choices()
        self.fields["sectors"].choices = grouped_choices(self.fields["sectors"].queryset, "sector")
        self.fields["affected_member_states"].choices = grouped_choices(
            self.fields["affected_member_states"].queryset, "member_state")
        self.fields["category"].queryset = _category_choices()


class ReportIncidentForm(_FactsMixin):
    """A minimal early warning first (fast under stress); the rest under "more details"."""

    QUICK_FIELDS = ("organisation", "title", "aware_at", "tlp", "severity", "significance", "significance_grounds",
                    "suspected_malicious", "cross_border_impact", "summary")

    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none(), label="Reporting organisation",
                                          to_field_name="code", empty_label=None)
    title = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autofocus": True}))
    aware_at = DateTimeLocalField(label="When the entity became aware",
                                  help_text="Starts the NIS2 clocks: early warning due 24 h later, notification 72 h.")
    tlp = forms.ChoiceField(choices=TLP.choices, initial=TLP.AMBER, label="TLP")
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    suspected_malicious = forms.TypedChoiceField(choices=YES_NO_UNKNOWN, coerce=_tristate, empty_value=None,
                                                 required=False, label="Suspected unlawful or malicious cause?")
    cross_border_impact = forms.TypedChoiceField(choices=YES_NO_UNKNOWN, coerce=_tristate, empty_value=None,
                                                 required=False, label="Possible cross-border impact?")
    summary = forms.CharField(
        required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}), label="Short summary",
        help_text="If given, it is submitted as the NIS2 early warning (Art. 23(4)(a)) at once.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        organisations = Organisation.objects.filter(
            pk__in=acting_organisation_ids(user)).order_by("name")
        self.fields["organisation"].queryset = organisations
        self.sole_organisation = organisations.first() if organisations.count() == 1 else None
        if self.sole_organisation:  # nothing to choose: the user reports for their organisation
            self.fields["organisation"].widget = forms.HiddenInput()
            self.fields["organisation"].required = False
            self.fields["organisation"].initial = self.sole_organisation.code
        if not self.is_bound:
            self.initial.setdefault("aware_at", timezone.localtime().replace(second=0, microsecond=0))

    def clean_organisation(self):
        return self.cleaned_data["organisation"] or self.sole_organisation

    def quick_fields(self):
        return [self[name] for name in self.QUICK_FIELDS if not self[name].is_hidden]

    def detail_fields(self):
        return [self[name] for name in self.fields if name not in self.QUICK_FIELDS]

    def service_arguments(self) -> dict:
        data = dict(self.cleaned_data)
        summary = data.pop("summary")
        data["early_warning"] = {"summary": summary} if summary else None
        data["affected_member_states"] = list(data["affected_member_states"])
        data["sectors"] = list(data["sectors"])
        return data


class EditIncidentForm(_FactsMixin):
    """The reporting organisation completes or corrects the facts; ``version`` detects a colleague's save."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    title = forms.CharField(max_length=200)
    aware_at = DateTimeLocalField(label="When the entity became aware")
    severity = forms.ChoiceField(choices=Severity.choices)
    suspected_malicious = forms.TypedChoiceField(choices=YES_NO_UNKNOWN, coerce=_tristate, empty_value=None,
                                                 required=False, label="Suspected unlawful or malicious cause?")
    cross_border_impact = forms.TypedChoiceField(choices=YES_NO_UNKNOWN, coerce=_tristate, empty_value=None,
                                                 required=False, label="Possible cross-border impact?")

    field_order = ["version", "title", "aware_at", "severity", "significance", "significance_grounds",
                   "significance_explanation", "suspected_malicious", "cross_border_impact", "description", "affected_member_states", "sectors", "entity_type", "category",
                   "national_capacity_exceeded", "technical_cooperation_requested"]

    @staticmethod
    def initial_for(incident: Incident) -> dict:
        def tri(value):
            return "" if value is None else ("true" if value else "false")

        return {
            "version": incident.version, "title": incident.title, "description": incident.description,
            "aware_at": timezone.localtime(incident.aware_at), "severity": incident.severity,
            "suspected_malicious": tri(incident.suspected_malicious), "cross_border_impact": tri(incident.cross_border_impact),
            "affected_member_states": [ms.code for ms in incident.affected_member_states.all()],
            "sectors": [s.code for s in incident.sectors.all()], "entity_type": incident.entity_type,
            "category": incident.category.code if incident.category_id else None,
            "national_capacity_exceeded": incident.national_capacity_exceeded,
            "technical_cooperation_requested": incident.technical_cooperation_requested,
            "significance": incident.significance, "significance_grounds": list(incident.significance_grounds),
            "significance_explanation": incident.significance_explanation,
        }

    def changes_from(self, incident: Incident) -> dict:
        """The submitted values that differ from the incident as saved now (awareness compared to the minute)."""
        data = self.cleaned_data
        changes = {}
        for name in ("title", "description", "severity", "suspected_malicious", "cross_border_impact", "entity_type",
                     "category", "national_capacity_exceeded", "technical_cooperation_requested", "significance",
                     "significance_explanation"):
            if data[name] != getattr(incident, name):
                changes[name] = data[name]
        if sorted(data["significance_grounds"]) != sorted(incident.significance_grounds):
            changes["significance_grounds"] = list(data["significance_grounds"])
        if data["aware_at"] != incident.aware_at.replace(second=0, microsecond=0):
            changes["aware_at"] = data["aware_at"]
        for name in ("affected_member_states", "sectors"):
            if {o.pk for o in data[name]} != {o.pk for o in getattr(incident, name).all()}:
                changes[name] = list(data[name])
        return changes


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Incident.Status.choices)
    reason = forms.CharField(required=False, max_length=2000)


class TlpForm(forms.Form):
    prefix = "tlpchange"

    tlp = forms.ChoiceField(choices=TLP.choices, label="TLP")


class ReportForm(forms.Form):
    """One NIS2 report kind (given by the URL): its required sections (REPORT_SECTIONS) and the optional ones."""

    def __init__(self, *args, kind: str, incident: Incident | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.report_kind = kind
        self.kind_label = Report.Kind(kind).label
        self.prefix = f"report-{kind}"
        for name in REPORT_SECTIONS[kind]:
            self.fields[name] = forms.CharField(label=SECTION_LABELS.get(name, name), max_length=20000,
                                                widget=forms.Textarea(attrs={"rows": 3}))
        for name in OPTIONAL_SECTIONS:
            self.fields[name] = forms.CharField(label=f"{SECTION_LABELS.get(name, name)} (optional)", required=False,
                                                max_length=20000, widget=forms.Textarea(attrs={"rows": 2}))
        if kind == Report.Kind.EARLY_WARNING:
            # NIS2 Art. 23(4)(a): the early warning says whether the cause is suspected unlawful or malicious
            # and whether the incident could have a cross-border impact ("not known yet" is an answer).
            for name, label in ART_23_4_A_QUESTIONS.items():
                self.fields[name] = forms.TypedChoiceField(choices=YES_NO_UNKNOWN, coerce=_tristate, empty_value=None,
                                                           required=False, label=label)
                if incident is not None:
                    value = getattr(incident, name)
                    self.fields[name].initial = "" if value is None else ("true" if value else "false")

    def content(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if v and k not in ART_23_4_A_QUESTIONS}

    def answers(self) -> dict:
        """The early warning's answers to the two questions of Art. 23(4)(a) (none for other reports)."""
        return {k: self.cleaned_data[k] for k in ART_23_4_A_QUESTIONS if k in self.fields}


def report_service_errors(form: forms.Form, error: ValidationError) -> None:
    """submit_report names sections ``content.<name>``: put them on the section's field."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        name = field.removeprefix("content.")
        form.add_error(name if name in form.fields else None, errors)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        if len(files) > MAX_ATTACHMENTS:
            raise ValidationError(f"At most {MAX_ATTACHMENTS} attachments per update.")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def _assessment_fields() -> dict[str, forms.ChoiceField]:
    """The NIS Cooperation Group's four assessments of a situation update, each optional ("Not assessed")."""
    return {field: forms.ChoiceField(required=False, label=label, choices=[("", NOT_ASSESSED), *vocabulary.choices])
            for field, (label, vocabulary) in SITUATION_TAXONOMY.items()}


class _AssessmentMixin(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(_assessment_fields())

    @property
    def assessment_fields(self) -> list:
        return [self[field] for field in SITUATION_TAXONOMY]

    def assessment(self) -> dict[str, str]:
        return {field: self.cleaned_data.get(field) or "" for field in SITUATION_TAXONOMY}


class TimelineEntryForm(_AssessmentMixin):
    """An update on the incident page; a situation update may carry the assessment (the service refuses it on
    a plain update, naming the field)."""

    prefix = "timeline"

    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=20000, label="Update")
    kind = forms.ChoiceField(choices=[("update", "Update"), ("situation", "Situation update")], initial="update")
    tlp = forms.ChoiceField(choices=TLP.choices, label="TLP", help_text="No less strict than the incident.")
    files = MultipleFileField(required=False, label=f"Attachments (up to {MAX_ATTACHMENTS})",
                              help_text="PDF, PNG, JPEG, GIF, ZIP or plain text; 10 MiB each.")

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, **kwargs)
        floor = TLP.rank(incident.tlp)
        self.fields["tlp"].choices = [(v, label) for v, label in TLP.choices if TLP.rank(v) >= floor]
        self.fields["tlp"].initial = incident.tlp


class ObservableCsvForm(forms.Form):
    prefix = "csv"

    file = forms.FileField(label="CSV file",
                           help_text="Header row required: type,value[,tlp,first_seen,last_seen,note]. "
                                     "Times in ISO 8601 with a zone.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise ValidationError(f"The file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MiB.")
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("The file is not UTF-8 text.") from None
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if not header:
            raise ValidationError("The file is empty: it needs a header row and at least one row.")
        header = [input_rules.printable(h.strip().lower()) for h in header]
        unknown = [h for h in header if h not in CSV_COLUMNS]
        if "type" not in header or "value" not in header or unknown:
            detail = f" Unknown column(s): {', '.join(unknown)}." if unknown else ""
            raise ValidationError(
                f"Line 1 must be a header naming the columns type,value[,tlp,first_seen,last_seen,note].{detail}"
            )
        # (line number, row for add_observables or None, error found here or None)
        self.entries = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                self.entries.append((reader.line_num, None, f"{len(row)} cells but the header names {len(header)}."))
                continue
            cells = {name: cell.strip() for name, cell in zip(header, row, strict=False) if cell.strip()}
            refused = [f"{name}: {problem}" for name, cell in cells.items() if (problem := input_rules.text_problem(cell))]
            self.entries.append((reader.line_num, None, " ".join(refused)) if refused else (reader.line_num, cells, None))
        if not self.entries:
            raise ValidationError("The file has a header but no observables.")
        if len(self.entries) > MAX_OBSERVABLES_PER_CALL:
            raise ValidationError(f"At most {MAX_OBSERVABLES_PER_CALL} observables per upload; got {len(self.entries)}.")
        return upload


class ObservableImportForm(forms.Form):
    """A MISP event or a STIX 2.1 bundle to import into the incident (``services.import_file``: all or nothing)."""

    prefix = "import"

    file = forms.FileField(label="MISP event or STIX 2.1 bundle (JSON)",
                           help_text=f"Up to {MAX_IMPORT_BYTES // (1024 * 1024)} MiB.")
    format = forms.ChoiceField(choices=[("", "Recognise it"), *FORMATS.items()], required=False, label="Format")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB.")
        self.content = upload.read()
        return upload


class ShareForm(forms.Form):
    organisations = forms.ModelMultipleChoiceField(
        required=False, queryset=Organisation.objects.none(), to_field_name="code",
        widget=forms.SelectMultiple(attrs={"size": 8, "data-picker": "organisations"}),
    )
    member_states = forms.ModelMultipleChoiceField(
        required=False, queryset=MemberState.objects.filter(is_active=True).order_by("code"), to_field_name="code",
        widget=forms.SelectMultiple(attrs={"size": 8, "data-picker": "member states"}),
        help_text="Every authority of the member state sees it.",
    )
    communities = forms.MultipleChoiceField(required=False, choices=list(Community.LABELS.items()),
                                            widget=forms.CheckboxSelectMultiple)
    people = forms.CharField(required=False, label="Named people", widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="E-mail addresses, one per line or separated by commas.")

    # Which field shares with which kind of target (incidents/tlp.py).
    TARGET_FIELDS = {"organisations": "organisation", "member_states": "member_state", "communities": "community",
                     "people": "person"}

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisations"].queryset = (
            Organisation.objects.filter(is_active=True).exclude(pk=incident.reporting_organisation_id)
            .select_related("member_state").order_by("name")
        )
        self.fields["organisations"].choices = grouped_choices(self.fields["organisations"].queryset, "organisation")
        self.fields["member_states"].choices = grouped_choices(self.fields["member_states"].queryset, "member_state")
        # Only what the incident's TLP allows is offered; a forbidden kind posted anyway is refused by the service.
        allowed = tlp_rules.ALLOWED_TARGETS[TLP(incident.tlp)]
        self.offered = [name for name, kind in self.TARGET_FIELDS.items() if kind in allowed]

    def clean_people(self):
        emails = [e.strip().lower() for e in self.cleaned_data["people"].replace(",", "\n").splitlines() if e.strip()]
        people = list(User.objects.filter(email__in=emails, is_active=True, is_service_account=False))
        missing = sorted(set(emails) - {p.email.lower() for p in people})
        if missing:
            raise ValidationError(f"No active person with the e-mail address {', '.join(missing)}.")
        return people

    def clean(self):
        data = super().clean()
        if not self.errors and not any(data.get(n) for n in ("organisations", "member_states", "communities", "people")):
            raise ValidationError("Choose at least one recipient.")
        return data


class InitialResponseForm(forms.Form):
    prefix = "response"

    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=20000, label="Response to the entity")


class IntermediateRequestForm(forms.Form):
    prefix = "intermediate"

    due_at = DateTimeLocalField(label="Intermediate report due")


class ObservableSearchForm(forms.Form):
    q = forms.CharField(max_length=2048, label="Observable",
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "IP, domain, URL, hash, e-mail, CVE…"}))


class LevelChangeForm(forms.Form):
    """Declare a higher level or de-escalate: always with a reason (the Blueprint's rule)."""

    level = forms.TypedChoiceField(coerce=int, choices=[])
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)

    def __init__(self, *args, levels, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = levels


class DeclareLevelForm(LevelChangeForm):
    """Declaring a level; at the political level the Presidency may start in another IPCR mode than the first."""

    ipcr_mode = forms.ChoiceField(required=False, label="IPCR mode (political level only)")

    def __init__(self, *args, modes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ipcr_mode"].choices = [("", "The level's first mode"), *[(m["code"], m["name"]) for m in modes]]
        if not modes:
            self.fields["ipcr_mode"].widget = forms.HiddenInput()


class ProposeLevelForm(LevelChangeForm):
    """EU-CyCLONe proposes the political level to the Council Presidency, with its reasons."""


class ProposalDecisionForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000,
                             error_messages={"required": "Say why."})
    ipcr_mode = forms.ChoiceField(required=False, label="IPCR mode")

    def __init__(self, *args, modes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ipcr_mode"].choices = [("", "The level's first mode"), *[(m["code"], m["name"]) for m in modes]]


class IpcrModeForm(forms.Form):
    ipcr_mode = forms.ChoiceField(label="IPCR mode")
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)

    def __init__(self, *args, modes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ipcr_mode"].choices = [(m["code"], m["name"]) for m in modes]


# --- The crisis board ---------------------------------------------------------------------------

class SituationUpdateForm(_AssessmentMixin):
    """A liaison officer's situation update from the crisis board.

    It becomes a timeline entry of kind "situation" (the kind that restarts the level's
    situation-update clock) at the incident's own TLP, so the incident's whole audience reads it,
    with the NIS Cooperation Group's assessment as fields of its own.
    """

    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=20000, label="Situation update",
                           error_messages={"required": "Write the situation update: what changed, what is being done."})

    def __init__(self, *args, incident: Incident, **kwargs):
        kwargs.setdefault("auto_id", f"situation-{incident.pk}-%s")  # one form per incident card
        super().__init__(*args, **kwargs)
        self.incident = incident


# Board filters: parameter -> TimelineEntry field, on the latest situation update the user may read.
BOARD_FILTERS = {"impact": "impact_severity", "outlook": "impact_outlook", "root_cause": "root_cause",
                 "threat": "threat_severity"}


class BoardFilterForm(forms.Form):
    """``?impact=red&outlook=worsening…``: keep the incidents whose latest situation update says so."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "board-filter-%s")
        super().__init__(*args, **kwargs)
        for param, field in BOARD_FILTERS.items():
            label, vocabulary = SITUATION_TAXONOMY[field]
            allowed = ", ".join(vocabulary.values)
            self.fields[param] = forms.ChoiceField(
                required=False, label=label, choices=[("", "Any"), *vocabulary.choices],
                error_messages={"invalid_choice": f"Unknown {param} '%(value)s'; choose one of: {allowed}."})

    def criteria(self) -> dict[str, str]:
        """The chosen values by TimelineEntry field; empty when nothing is chosen."""
        return {BOARD_FILTERS[param]: value for param, value in self.cleaned_data.items() if value}

    def query(self) -> str:
        """The chosen filters as a query string, for the parts board.js re-fetches."""
        return urlencode([(param, value) for param, value in self.cleaned_data.items() if value])


class AlertAnswerForm(forms.Form):
    """Acknowledge an alert, or say the organisation is not affected (the service requires the note then)."""

    answer = forms.ChoiceField(choices=[("acknowledged", "Acknowledged"), ("not_affected", "Not affected")],
                               error_messages={"required": "Choose acknowledge or not affected.",
                                               "invalid_choice": "Answer acknowledged or not_affected."})
    note = forms.CharField(required=False, max_length=2000)


# --- The analyst's basics: tags, one observable, tasks ---------------------------------------------


def split_tags(text: str) -> list[str]:
    """Tags typed in one box, separated by commas (no tag holds one)."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


class TagForm(forms.Form):
    """Add tags (comma-separated) or remove one; the service checks them against the vocabularies."""

    prefix = "tags"

    add = forms.CharField(required=False, max_length=2000, label="Add tags",
                          help_text='Comma-separated: rsit:malicious-code="infected-system", nis:impact-severity="red", '
                                    "or plain words (free tags).")
    remove = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if not self.errors and not split_tags(data.get("add")) and not (data.get("remove") or "").strip():
            raise ValidationError("Type a tag to add.")
        return data


class _ObservableLabelMixin(forms.Form):
    tlp = forms.ChoiceField(choices=TLP.choices, label="TLP",
                            help_text="No less strict than the incident; stricter keeps it with your organisation.")
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    tags = forms.CharField(required=False, max_length=2000, label="Tags",
                           help_text="Comma-separated machine tags or words.")

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, **kwargs)
        floor = TLP.rank(incident.tlp)
        self.fields["tlp"].choices = [(v, label) for v, label in TLP.choices if TLP.rank(v) >= floor]
        self.fields["tlp"].initial = incident.tlp

    def clean_tags(self) -> list[str]:
        return split_tags(self.cleaned_data.get("tags"))


class ObservableForm(_ObservableLabelMixin):
    """One observable typed in; bulk lists go through the CSV upload."""

    prefix = "observable"

    type = forms.ChoiceField(choices=Observable._meta.get_field("type").choices, label="Type")
    value = forms.CharField(max_length=2048, label="Value", help_text="Defanged values (hxxp, [.]) are refanged.")
    field_order = ["type", "value", "tlp", "note", "tags"]


class ObservableEditForm(_ObservableLabelMixin):
    prefix = "observable"

    @staticmethod
    def initial_for(observable: Observable, tags: list[str]) -> dict:
        return {"tlp": observable.tlp, "note": observable.note, "tags": ", ".join(t for t in tags if
                                                                                  not t.startswith("tlp:"))}


class TaskForm(forms.Form):
    """A task of the person's organisation: what, who (a member, or anyone of it), by when."""

    prefix = "task"

    title = forms.CharField(max_length=200, label="Task",
                            error_messages={"required": "Give the task a title: what is to be done."})
    description = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2}))
    assignee = forms.ModelChoiceField(required=False, queryset=User.objects.none(), label="Assigned to")
    due_at = DateTimeLocalField(required=False, label="Due")
    organisation = forms.ModelChoiceField(required=False, queryset=Organisation.objects.none(), to_field_name="code",
                                          label="For", empty_label=None)

    def __init__(self, *args, user, organisation: Organisation | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        own = Organisation.objects.filter(pk__in=acting_organisation_ids(user)).order_by("name")
        self.fields["organisation"].queryset = own
        chosen = organisation or (own.filter(code=self.data.get(self.add_prefix("organisation"))).first()
                                  if self.is_bound else None) or own.first()
        if organisation is not None or own.count() < 2:
            self.fields["organisation"].widget = forms.HiddenInput()
        self.fields["organisation"].initial = chosen.code if chosen else None
        members = User.objects.filter(memberships__organisation=chosen, is_active=True,
                                      is_service_account=False).distinct().order_by("full_name", "email")
        self.fields["assignee"].queryset = members
        self.fields["assignee"].empty_label = f"Anyone of {chosen.name}" if chosen else "Anyone"
        self.fields["assignee"].label_from_instance = lambda person: f"{person.full_name or person.email}"
