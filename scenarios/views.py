"""The scenario pages (the controllers' list of injects, their forms, "Release now") and the evaluation's
after-action report (page and PDF, the whole exercise or one participant's), with its lessons.

Thin: the form parses, ``scenarios.services`` checks and writes, ``scenarios.selectors`` reads.
A person who does not control the exercise gets a 404 on every one of them.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from awareness.downloads import pdf_response
from liaison.exercises import current_exercise_id
from liaison.forms import add_service_errors
from liaison.models import Exercise
from scenarios import policy, report, selectors, services, timing
from scenarios.forms import InjectForm, examples


def _exercise(request, exercise_id):
    return get_object_or_404(selectors.exercises_controlled_by(request.user), pk=exercise_id)


def _inject(exercise, inject_id):
    return get_object_or_404(selectors.scenario_of(exercise), pk=inject_id)


def _service_errors(form, error: ValidationError) -> None:
    """The service's errors on the fields they name; ``payload.severity`` goes on the payload, saying which."""
    if hasattr(error, "error_dict"):
        fields: dict[str, list[str]] = {}
        for field, errors in error.message_dict.items():
            name, key = ("payload", field.removeprefix("payload.")) if field.startswith("payload.") else (field, "")
            fields.setdefault(name, []).extend(f"{key}: {e}" if key else e for e in errors)
        error = ValidationError(fields)
    add_service_errors(form, error)


def _with_due(exercise, injects) -> list:
    for inject in injects:
        inject.due_at = timing.due_at(exercise, inject.offset) if inject.offset is not None else None
        inject.when = timing.format_offset(inject.offset)
    return injects


@login_required
def scenario(request, exercise_id):
    exercise = _exercise(request, exercise_id)
    injects = _with_due(exercise, list(selectors.scenario_of(exercise)))
    now = timezone.now()
    return render(request, "scenarios/scenario.html", {
        "exercise": exercise, "injects": injects,
        "counts": {status: sum(1 for i in injects if i.status == status) for status in ("pending", "released", "failed")},
        "may_prepare": policy.preparation_refusal(exercise) is None,
        "release_refusal": policy.release_refusal(exercise, now),
        "elapsed": timing.format_offset(timing.exercise_elapsed(exercise, now)) if now >= exercise.starts_at else "",
        "in_this_exercise": current_exercise_id() == exercise.pk,
    })


def _form_page(request, exercise, form, inject=None):
    status = 400 if request.method == "POST" and form.errors else 200
    return render(request, "scenarios/inject_form.html",
                  {"exercise": exercise, "form": form, "inject": inject, "examples": examples()}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def inject_create(request, exercise_id):
    exercise = _exercise(request, exercise_id)
    form = InjectForm(request.POST or None, exercise=exercise)
    if request.method == "POST" and form.is_valid():
        try:
            inject = services.create_inject(actor=request.user, exercise=exercise, **form.cleaned_data)
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(request, f"Inject #{inject.pk} “{inject.title}” added to the scenario.")
            return redirect("scenarios:scenario", exercise.pk)
    return _form_page(request, exercise, form)


@login_required
@require_http_methods(["GET", "POST"])
def inject_edit(request, exercise_id, inject_id):
    exercise = _exercise(request, exercise_id)
    inject = _inject(exercise, inject_id)
    form = InjectForm(request.POST or None, exercise=exercise, initial=InjectForm.initial_for(inject))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_inject(actor=request.user, inject=inject, **form.cleaned_data)
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(request, f"Inject #{inject.pk} saved.")
            return redirect("scenarios:scenario", exercise.pk)
    return _form_page(request, exercise, form, inject)


@login_required
@require_POST
def inject_delete(request, exercise_id, inject_id):
    exercise = _exercise(request, exercise_id)
    inject = _inject(exercise, inject_id)
    try:
        services.delete_inject(actor=request.user, inject=inject)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Inject #{inject_id} deleted.")
    return redirect("scenarios:scenario", exercise.pk)


@login_required
@require_POST
def inject_release(request, exercise_id, inject_id):
    exercise = _exercise(request, exercise_id)
    inject = _inject(exercise, inject_id)
    try:
        inject = services.release_inject(actor=request.user, inject=inject)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("scenarios:scenario", exercise.pk)
    if inject.status == inject.Status.FAILED:
        messages.error(request, f"Inject #{inject.pk} failed: {inject.error}")
    else:
        messages.success(request, f"Inject #{inject.pk} “{inject.title}” released in {exercise.name}.")
    return redirect("scenarios:scenario", exercise.pk)


# --- The evaluation and after-action report ---------------------------------------------------------------


def _evaluated(request, exercise_id, code=None):
    """The exercise and its evaluation (a participant's own with ``code``), or 404 for anyone not shown it."""
    from scenarios.evaluation import for_organisation

    exercise = get_object_or_404(Exercise.objects.select_related("organisation"), pk=exercise_id)
    now = timezone.now()
    if code is None:
        if not policy.sees_whole_evaluation(request.user, exercise):
            raise Http404("No such evaluation.")
    elif code not in policy.evaluation_organisations(request.user, exercise, now):
        raise Http404("No such evaluation.")
    evaluation = selectors.evaluation_of(exercise, now=now)
    if code is not None:
        evaluation = for_organisation(evaluation, code)
    names = selectors.evaluation_names(exercise, evaluation)
    return exercise, report.report_for(exercise, evaluation, names), names


def _evaluation_page(request, exercise, the_report, names, code=None):
    participants = sorted(policy.evaluation_organisations(request.user, exercise, timezone.now()))
    return render(request, "scenarios/evaluation.html", {
        "exercise": exercise, "report": the_report, "code": code,
        "participants": [(c, names.get(c, c)) for c in participants] if code is None else [],
        "may_propose": code is None and policy.may_propose_lessons(request.user, exercise),
        "pdf_url": reverse("scenarios:evaluation_participant_pdf", args=[exercise.pk, code]) if code
        else reverse("scenarios:evaluation_pdf", args=[exercise.pk]),
    })


def _pdf(the_report, filename):
    return pdf_response(report.print_document(the_report, generated_at=timezone.now()), filename=filename,
                        inline=True)


@login_required
@require_GET
def evaluation(request, exercise_id):
    exercise, the_report, names = _evaluated(request, exercise_id)
    return _evaluation_page(request, exercise, the_report, names)


@login_required
@require_GET
def participant_evaluation(request, exercise_id, code):
    exercise, the_report, names = _evaluated(request, exercise_id, code)
    return _evaluation_page(request, exercise, the_report, names, code)


@login_required
@require_GET
def evaluation_pdf(request, exercise_id):
    _, the_report, _ = _evaluated(request, exercise_id)
    return _pdf(the_report, f"exercise-{exercise_id}-after-action-report.pdf")


@login_required
@require_GET
def participant_evaluation_pdf(request, exercise_id, code):
    _, the_report, _ = _evaluated(request, exercise_id, code)
    return _pdf(the_report, f"exercise-{exercise_id}-after-action-report-{code}.pdf")


@login_required
@require_POST
def evaluation_lesson(request, exercise_id):
    """Propose one lesson line of the report (or the person's own words) as a Blueprint change."""
    exercise = get_object_or_404(Exercise, pk=exercise_id)
    if not policy.may_propose_lessons(request.user, exercise):
        raise Http404("No such evaluation.")
    try:
        lesson = services.propose_lesson_from_evaluation(
            actor=request.user, exercise=exercise, rationale=request.POST.get("rationale", ""),
            target=request.POST.get("target") or "other", change=_change(request.POST.get("change", "")))
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, "The lesson was not proposed: " + " ".join(
            getattr(error, "messages", None) or [str(error)]))
        return redirect("scenarios:evaluation", exercise.pk)
    messages.success(request, f"Lesson {lesson.pk} proposed to ENISA as a Blueprint change (in live work: "
                              "Lessons learned).")
    return redirect("scenarios:evaluation", exercise.pk)


def _change(raw: str) -> dict | None:
    import json

    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise ValidationError({"change": "The structured change is not valid JSON."}) from None
