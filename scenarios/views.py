"""The scenario pages: the controllers' list of injects, their forms, and "Release now".

Thin: the form parses, ``scenarios.services`` checks and writes, ``scenarios.selectors`` reads.
A person who does not control the exercise gets a 404 on every one of them.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from liaison.exercises import current_exercise_id
from scenarios import policy, selectors, services, timing
from scenarios.forms import InjectForm, examples


def _exercise(request, exercise_id):
    return get_object_or_404(selectors.exercises_controlled_by(request.user), pk=exercise_id)


def _inject(exercise, inject_id):
    return get_object_or_404(selectors.scenario_of(exercise), pk=inject_id)


def _service_errors(form, error: ValidationError) -> None:
    """The service's errors on the fields they name (``payload.severity`` on the payload, saying which)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.message_dict.items():
        if field.startswith("payload."):
            form.add_error("payload", [f"{field.removeprefix('payload.')}: {e}" for e in errors])
        else:
            form.add_error(field if field in form.fields else None, errors)


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
