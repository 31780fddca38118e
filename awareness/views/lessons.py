"""Pages of lessons learned: propose from a source, ENISA decides, the next Blueprint draft, versions and lessons.

A lesson or a source the person may not read is 404. A POST the person may not make is 403
with the service's reason; bad input re-renders the page, 400, naming the problem, and changes nothing.
"""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from awareness.models import LessonProposal
from awareness.policy import lessons as policy
from awareness.selectors import lessons as selectors
from awareness.services import lessons as services
from csoa_portal.views import PageRefused


class ProposeForm(forms.Form):
    source_kind = forms.CharField(widget=forms.HiddenInput)
    source_id = forms.CharField(widget=forms.HiddenInput)
    target = forms.ChoiceField(choices=LessonProposal.Target.choices, label="What it changes")
    change = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Structured change (JSON)",
                             help_text='e.g. {"level": 2, "field": "ack_minutes", "value": 60} or '
                                       '{"rule": "…", "fact": "affected_member_states", "value": 3}; empty for text only.')
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="The lesson, and why")

    def clean_change(self):
        raw = self.cleaned_data["change"].strip()
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            raise ValidationError("The structured change is not valid JSON.") from None


class DecideForm(forms.Form):
    accept = forms.TypedChoiceField(choices=[("yes", "Accept for the next draft"), ("no", "Reject")],
                                    coerce=lambda v: v == "yes")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        form.add_error(None, exc)


@login_required
@require_GET
def lesson_list(request):
    if not (policy.sees_all_lessons(request.user) or policy.proposing_organisation(request.user)):
        raise PageRefused("Lessons learned are proposed by member states' authorities, ENISA and the Commission.")
    state = request.GET.get("state") if request.GET.get("state") in LessonProposal.State.values else None
    return render(request, "awareness/lessons/list.html", {
        "rows": selectors.lesson_queue(request.user, state=state), "state": state,
        "states": LessonProposal.State.choices, "may_build": policy.may_build_draft(request.user),
        "awaiting": selectors.awaiting_draft().count() if policy.may_build_draft(request.user) else 0})


@login_required
@require_http_methods(["GET", "POST"])
def lesson_new(request):
    data = request.POST if request.method == "POST" else request.GET
    try:
        source, obj = policy.readable_source(request.user, data.get("source_kind", ""), data.get("source_id", ""))
    except ValidationError:  # not a kind of source: a page about no such thing
        raise Http404("No such source.") from None
    form = ProposeForm(request.POST or None, initial={"source_kind": source.kind, "source_id": obj.pk})
    if request.method == "POST" and form.is_valid():
        try:
            lesson = services.propose_lesson(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Lesson proposed to ENISA.")
            return redirect("awareness:lesson_detail", lesson.pk)
    return render(request, "awareness/lessons/new.html", {
        "form": form, "source": {"label": source.describe(obj), "url": source.url(obj)}},
        status=400 if form.errors else 200)


def _render_detail(request, lesson, *, form=None, status=200):
    return render(request, "awareness/lessons/detail.html", {
        "row": selectors.rows_for(request.user, [lesson])[0], "lesson": lesson,
        "may_decide": policy.may_decide(request.user) and lesson.state == LessonProposal.State.PROPOSED,
        "form": form or DecideForm()}, status=status)


@login_required
@require_GET
def lesson_detail(request, pk):
    return _render_detail(request, selectors.lesson_visible_to(request.user, pk))


@login_required
@require_POST
def lesson_decide(request, pk):
    lesson = selectors.lesson_visible_to(request.user, pk)
    form = DecideForm(request.POST)
    if form.is_valid():
        try:
            services.decide_lesson(actor=request.user, lesson=lesson, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Decision recorded.")
            return redirect("awareness:lesson_detail", lesson.pk)
    return _render_detail(request, lesson, form=form, status=400)


@login_required
@require_POST
def lesson_build_draft(request):
    try:
        draft = services.build_blueprint_draft(actor=request.user, title=request.POST.get("title", "").strip())
    except ValidationError as exc:
        messages.error(request, " · ".join(m for ms in getattr(exc, "message_dict", {"": exc.messages}).values()
                                           for m in ms))
        return redirect("awareness:lesson_list")
    messages.success(request, f"Blueprint draft v{draft.version} built from the accepted lessons; activate it from "
                              "the Blueprint's administration once reviewed.")
    return redirect("awareness:blueprint_versions")


@login_required
@require_GET
def blueprint_versions(request):
    """Blueprint versions and the lessons they answer (the Blueprint's rolling annex)."""
    if not (policy.sees_all_lessons(request.user) or policy.proposing_organisation(request.user)):
        raise PageRefused("Lessons learned are proposed by member states' authorities, ENISA and the Commission.")
    return render(request, "awareness/lessons/versions.html", {"versions": selectors.blueprint_versions(request.user)})
