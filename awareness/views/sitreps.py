"""Pages of the sitreps product: thin over ``awareness.services.sitreps`` and ``awareness.selectors.sitreps``."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from awareness.downloads import pdf_response
from awareness.policy import lessons as lesson_policy
from awareness.policy import sitreps as policy
from awareness.selectors import sitreps as selectors
from awareness.services import sitreps as services
from csoa_portal.views import PageRefused
from incidents.models import Incident
from incidents.selectors import incidents_visible_to
from incidents.vocabulary import TLP
from liaison.selectors import group_labels

TEXT_HELP = {
    "summary_what": "What happened (ISAA, level 3: first page).",
    "summary_where": "Where: member states, sectors, entities.",
    "summary_impact": "Impact so far.",
    "summary_outlook": "Outlook.",
    "summary_options": "Options for the political level.",
}


class ReportForm(forms.Form):
    title = forms.CharField(max_length=200, required=False)
    related_incidents = forms.CharField(required=False, help_text="Ids of related incidents, separated by commas.")
    tlp = forms.ChoiceField(choices=TLP.choices, label="TLP",
                            help_text="At least as strict as the incidents the report covers.")
    audience = forms.MultipleChoiceField(choices=(), widget=forms.CheckboxSelectMultiple,
                                         help_text="Who receives the published report.")
    summary_what = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="What")
    summary_where = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Where")
    summary_impact = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Impact")
    summary_outlook = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Outlook")
    summary_options = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Options")
    assessment = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False)
    next_steps = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)

    def __init__(self, *args, choices=(), level=2, **kwargs):
        super().__init__(*args, **kwargs)
        labels = group_labels(choices)
        self.fields["audience"].choices = [(c, labels.get(c, c)) for c in choices]
        if level < 3:
            for name in TEXT_HELP:
                del self.fields[name]

    def clean_related_incidents(self):
        raw = self.cleaned_data["related_incidents"]
        return [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]


def _apply_errors(form, exc: ValidationError) -> None:
    for name, errors in exc.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


DRAFTABLE_SHOWN = 50


def _draftable_incidents(user) -> list[Incident]:
    """The live incidents at level 2 or 3 on which the person may draft a report (the list offers each)."""
    if not policy.may_draft_any(user):
        return []
    candidates = (incidents_visible_to(user).filter(crisis_level__gte=policy.MIN_LEVEL)
                  .exclude(status__in=[Incident.Status.RESOLVED, Incident.Status.CLOSED])
                  .select_related("reporting_organisation").order_by("-crisis_level", "-updated_at", "-id"))
    return [incident for incident in candidates[:DRAFTABLE_SHOWN] if policy.may_draft(user, incident)]


@login_required
@require_GET
def report_list(request):
    reports = selectors.reports_visible_to(request.user).order_by("-created_at", "-id")
    incident_id = request.GET.get("incident", "")
    if incident_id.isdigit():  # from the incident page's link: that incident's reports (none if not visible)
        reports = reports.filter(incident_id=int(incident_id))
    reports = reports[:200]
    return render(request, "awareness/sitreps/list.html", {"reports": reports,
                                                           "may_draft": policy.may_draft_any(request.user),
                                                           "draftable": _draftable_incidents(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request):
    incident = selectors.draftable_incident(request.user, request.GET.get("incident") or request.POST.get("incident"))
    if incident.crisis_level < policy.MIN_LEVEL:
        raise PageRefused(f"{incident.reference} is at crisis level {incident.crisis_level}: situation reports are "
                          "drafted at levels 2 and 3 only.")
    if not policy.may_draft(request.user, incident):
        raise PageRefused("You may not draft situation reports on this incident.",
                          who_can=policy.drafting_bodies_sentence(incident.crisis_level))
    organisation = policy.drafting_organisation_of(request.user, incident, incident.crisis_level)
    choices = sorted(set(selectors.audience_choices(incident)) | {organisation.group.name})
    form = ReportForm(request.POST or None, choices=choices, level=incident.crisis_level,
                      initial={"tlp": incident.tlp, "audience": choices})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            report = services.draft_report(actor=request.user, incident=incident,
                                           related_incidents=data.pop("related_incidents"), **data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, f"{report.label} drafted.")
            return redirect("awareness:sitrep-detail", report.pk)
    return render(request, "awareness/sitreps/edit.html", {"form": form, "incident": incident, "report": None})


@login_required
@require_http_methods(["GET", "POST"])
def report_edit(request, pk):
    report = selectors.report_visible_to(request.user, pk)
    if not policy.may_edit(request.user, report):
        raise PageRefused("Only a draft is edited, by the drafting people of its author's organisation.")
    choices = sorted(set(selectors.audience_choices(report.incident)) | {report.author_organisation.group.name})
    initial = {f: getattr(report, f) for f in ("title", "tlp", "audience", *services.TEXT_FIELDS)}
    initial["related_incidents"] = ", ".join(str(i.pk) for i in report.related_incidents.all())
    form = ReportForm(request.POST or None, choices=choices, level=report.level, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.edit_report(actor=request.user, report=report, **data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, "Draft saved.")
            return redirect("awareness:sitrep-detail", report.pk)
    return render(request, "awareness/sitreps/edit.html", {"form": form, "incident": report.incident, "report": report})


@login_required
@require_GET
def report_detail(request, pk):
    report = selectors.report_visible_to(request.user, pk)
    reader = selectors.report_for_reader(report=report, user=request.user)
    return render(request, "awareness/sitreps/detail.html", {
        "report": report, "reader": reader, "capabilities": policy.capabilities(request.user, report),
        "versions": selectors.versions_of(request.user, report),
        "may_propose_lesson": lesson_policy.may_propose_from(request.user, "situation_report", report),
    })


@login_required
@require_GET
def report_pdf(request, pk):
    report = selectors.report_visible_to(request.user, pk)
    document = selectors.print_document(selectors.report_for_reader(report=report, user=request.user))
    return pdf_response(document, filename=selectors.pdf_filename(report))


def _action(service, done: str):
    @login_required
    @require_POST
    def view(request, pk):
        report = selectors.report_visible_to(request.user, pk)
        try:
            result = service(actor=request.user, report=report)
        except ValidationError as exc:
            messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
            return redirect("awareness:sitrep-detail", report.pk)
        except PermissionDenied as exc:
            raise PageRefused(str(exc)) from None
        messages.success(request, done)
        return redirect("awareness:sitrep-detail", (result or report).pk)
    return view


report_submit = _action(services.submit_report, "Submitted for review.")
report_return = _action(services.return_to_draft, "Returned to draft.")
report_publish = _action(services.publish_report, "Published: its audience has been told.")
report_correct = _action(services.correct_report, "A correction was drafted as a new version.")


