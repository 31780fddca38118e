"""Pages of incident reviews (CSoA Art. 21): thin over ``awareness.services.reviews`` and its selectors.

A review the person may not see is 404 on every page (the PDF included). A POST the person may
not make answers 403 with the service's reason; bad input re-renders the page, 400, with the
error naming the field, and changes nothing.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from awareness.downloads import pdf_response
from awareness.models import ReviewSection
from awareness.policy import lessons as lesson_policy
from awareness.policy import reviews as policy
from awareness.selectors import reviews as selectors
from awareness.services import reviews as services
from csoa_portal.views import PageRefused
from incidents.selectors import incident_visible_to
from liaison.models import MemberState


class RequestForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Why a review is requested")


class AnswerForm(forms.Form):
    member_state = forms.ModelChoiceField(queryset=MemberState.objects.all(), to_field_name="code")
    agree = forms.TypedChoiceField(choices=[("yes", "Agree"), ("no", "Refuse")], coerce=lambda v: v == "yes")
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class SectionForm(forms.Form):
    kind = forms.ChoiceField(choices=ReviewSection.Kind.choices)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}))
    confidential = forms.BooleanField(required=False, label="Confidential to its source state")
    source_state = forms.ModelChoiceField(queryset=MemberState.objects.all(), to_field_name="code", required=False,
                                          label="Source (member state)")


class CommentForm(forms.Form):
    member_state = forms.ModelChoiceField(queryset=MemberState.objects.all(), to_field_name="code")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}))


def _error_lines(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{field}: {message}" for field, errors in error.message_dict.items() for message in errors]
    return list(error.messages)


def _render_detail(request, review, *, status=200, errors=(), **forms_):
    actions = policy.actions_for(request.user, review)
    context = {
        "review": review, "actions": actions, "report": selectors.report_for(request.user, review),
        "incident_heading": selectors.incident_heading(request.user, review),
        "clocks": selectors.clocks_of(review),
        "may_propose_lesson": lesson_policy.may_propose_from(request.user, "incident_review", review),
        "agreements": list(review.agreements.all()), "errors": list(errors),
        "answer_form": forms_.get("answer_form") or AnswerForm(),
        "section_form": forms_.get("section_form") or SectionForm(),
        "comment_form": forms_.get("comment_form") or CommentForm(),
    }
    return render(request, "awareness/reviews/detail.html", context, status=status)


@login_required
@require_GET
def review_list(request):
    reviews = selectors.reviews_visible_to(request.user).select_related("incident", "requester_organisation")[:200]
    return render(request, "awareness/reviews/list.html", {
        "reviews": reviews, "may_request": policy.requester_body(request.user) is not None})


@login_required
@require_http_methods(["GET", "POST"])
def review_new(request, incident_pk):
    incident = incident_visible_to(request.user, incident_pk)
    if policy.requester_body(request.user) is None:
        raise PageRefused("Only the Commission or EU-CyCLONe requests an incident review.", who_can=policy.WHO_REQUESTS)
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            review = services.request_review(actor=request.user, incident=incident, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            for line in _error_lines(exc):
                form.add_error(None, line)
        else:
            messages.success(request, f"Review {review.reference} requested: the states concerned are asked to agree.")
            return redirect("awareness:review_detail", review.pk)
    status = 400 if form.errors else 200
    return render(request, "awareness/reviews/new.html", {"incident": incident, "form": form}, status=status)


@login_required
@require_GET
def review_detail(request, pk):
    return _render_detail(request, selectors.review_visible_to(request.user, pk))


def _post_action(form_class, form_name: str, perform, success: str):
    """A POST on a review: parse the form, call the service, say what happened; 400 and nothing changed on bad input."""

    @login_required
    @require_POST
    def view(request, pk, **kwargs):
        review = selectors.review_visible_to(request.user, pk)
        form = form_class(request.POST) if form_class else None
        if form is not None and not form.is_valid():
            return _render_detail(request, review, status=400, **{form_name: form})
        try:
            perform(request, review, form.cleaned_data if form else {}, **kwargs)
        except ValidationError as exc:
            return _render_detail(request, review, status=400, errors=_error_lines(exc),
                                  **({form_name: form} if form else {}))
        messages.success(request, success)
        return redirect("awareness:review_detail", review.pk)

    return view


review_answer = _post_action(AnswerForm, "answer_form", lambda request, review, data: services.answer_agreement(
    actor=request.user, review=review, member_state=data["member_state"], agree=data["agree"], note=data["note"]),
    "Your state's answer is recorded.")
review_section_add = _post_action(SectionForm, "section_form", lambda request, review, data: services.add_section(
    actor=request.user, review=review, kind=data["kind"], text=data["text"], confidential=data["confidential"],
    source_state=data["source_state"]), "Section added to the draft.")
review_circulate = _post_action(None, "", lambda request, review, data: services.circulate_draft(
    actor=request.user, review=review), "Draft sent to the states that agreed, for their comments.")
review_comment = _post_action(CommentForm, "comment_form", lambda request, review, data: services.add_comment(
    actor=request.user, review=review, member_state=data["member_state"], text=data["text"]), "Comment added.")
review_deliver = _post_action(None, "", lambda request, review, data: services.deliver_review(
    actor=request.user, review=review), "Report delivered to the requester.")


@login_required
@require_GET
def review_pdf(request, pk):
    """The report as this reader may read it, laid out by ``awareness.pdf`` (written alongside this product)."""
    review = selectors.review_visible_to(request.user, pk)
    if not policy.may_read_sections(request.user, review):
        raise PageRefused("The report is read by ENISA and the states that agreed while it is drafted, and by the "
                          "requester once delivered.")
    return pdf_response(selectors.print_document(request.user, review), filename=f"{review.reference}.pdf",
                        inline=True)
