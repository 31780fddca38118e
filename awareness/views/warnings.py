"""Pages of the public-warnings product, and its public copies (no login).

Thin: forms parse, ``awareness.services.warnings`` writes, the selectors decide what the
person sees (a warning they may not see is 404 on every page), ``awareness.policy.warnings``
what they may do. A refused POST on a visible warning is 403 with the service's reason; bad
input re-renders the page with the error on the field it names, 400, nothing written.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Rss201rev2Feed
from django.views.decorators.http import require_GET, require_POST

from awareness.models import WarningParticipation
from awareness.policy import warnings as policy
from awareness.selectors import warnings as selectors
from awareness.services import warnings as services
from csoa_portal.views import PageRefused
from incidents.forms import DateTimeLocalField
from incidents.selectors import incident_visible_to, incidents_visible_to
from liaison.forms import add_service_errors

# --- Forms ---------------------------------------------------------------------------------------


class WarningForm(forms.Form):
    title = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False,
                           help_text="Your own words: what happened, who is affected.")
    recommendations = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    facts = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                      help_text="Facts of the incident to quote: only TLP:CLEAR ones may be used.")

    def __init__(self, *args, facts=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Every fact the drafter sees is a valid choice here: the service refuses a non-CLEAR one by name.
        self.fields["facts"].choices = [(f.key, f.text) for f in facts]


class CirculateForm(forms.Form):
    response_deadline = DateTimeLocalField(label="Answers due by")


class RespondForm(forms.Form):
    response = forms.ChoiceField(choices=[c for c in WarningParticipation.Response.choices if c[0] != "pending"],
                                 widget=forms.RadioSelect)
    member_state = forms.CharField(required=False, widget=forms.HiddenInput)
    proposed_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False,
                                    label="Changes you propose")
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    own_language = forms.CharField(max_length=8, required=False, label="Own-language version: language code")
    own_title = forms.CharField(max_length=200, required=False, label="Title in your language")
    own_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, label="Text in your language")


class ScheduleForm(forms.Form):
    publish_at = DateTimeLocalField(label="Release all together at (embargo)")


class WithdrawForm(forms.Form):
    reason = forms.CharField(max_length=2000, required=False)


# --- Pages ---------------------------------------------------------------------------------------


@login_required
@require_GET
def warning_list(request):
    rows = list(selectors.warnings_visible_to(request.user).select_related("drafter_organisation")[:200])
    return render(request, "awareness/warnings/list.html", {
        "rows": rows, "incidents": selectors.incidents_to_warn_about(request.user)})


def _facts_context(user, incident, cited_keys=()):
    facts = selectors.citable_facts(user, incident)
    return facts, {"fact_groups": selectors.grouped_facts(facts), "cited_keys": set(cited_keys)}


def _refused(exc: PermissionDenied):
    return PageRefused(str(exc) or "You may not do this.", who_can=f"{policy.WHO_DRAFTS} drafts public warnings; "
                                                                   "the concerned states' authorities answer.")


@login_required
def warning_new(request):
    incident_id = request.GET.get("incident") or request.POST.get("incident")
    if not incident_id:
        return warning_list(request)
    incident = incident_visible_to(request.user, incident_id)
    if not policy.drafting_organisation_ids(request.user, incident):
        raise PageRefused("You may not draft a public warning about this incident.",
                          who_can=f"{policy.WHO_DRAFTS} of an organisation that sees it.")
    facts, facts_ctx = _facts_context(request.user, incident, request.POST.getlist("facts"))
    form = WarningForm(request.POST or None, facts=facts)
    return _edit_page(request, form, {"incident": incident, "warning": None, **facts_ctx}, done="drafted",
                      save=lambda **fields: services.draft_warning(actor=request.user, incident=incident, **fields))


@login_required
def warning_edit(request, pk):
    warning = selectors.warning_visible_to(request.user, pk)
    caps = _capabilities(request.user, warning)
    if not caps.edit:
        raise PageRefused(f"{warning.reference} is {warning.get_status_display().lower()}: only its drafting "
                          "organisation edits it, before release.")
    incident = incident_visible_to(request.user, warning.incident_id)
    cited = request.POST.getlist("facts") if request.method == "POST" else list(
        warning.facts.values_list("key", flat=True))
    facts, facts_ctx = _facts_context(request.user, incident, cited)
    initial = {"title": warning.title, "body": warning.body, "recommendations": warning.recommendations,
               "facts": cited}
    form = WarningForm(request.POST or None, initial=initial, facts=facts)
    return _edit_page(request, form, {"incident": incident, "warning": warning, **facts_ctx}, done="revised",
                      save=lambda **fields: services.revise_warning(actor=request.user, warning=warning, **fields))


def _edit_page(request, form, context: dict, *, save, done: str):
    """The draft's form page, new or edited: a valid POST saves through ``save`` and goes on to the warning;
    otherwise the form again, 400 once posted, with what the service refused shown on its fields."""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                warning = save(**form.cleaned_data)
            except PermissionDenied as exc:
                raise _refused(exc) from None
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"{warning.reference} {done}.")
                return redirect("awareness:warning_detail", warning.pk)
        status = 400
    return render(request, "awareness/warnings/edit.html", {"form": form, **context}, status=status)


def _capabilities(user, warning, participations=None):
    participations = selectors.participations_of(warning) if participations is None else participations
    return policy.warning_capabilities(user, warning, participations=participations, now=timezone.now())


def _render_detail(request, warning, *, status=200, **forms_):
    participations = selectors.participations_of(warning)
    caps = _capabilities(request.user, warning, participations)
    context = {
        "warning": warning, "participations": participations, "capabilities": caps,
        "facts": list(warning.facts.all()),
        "sees_incident": incidents_visible_to(request.user).filter(pk=warning.incident_id).exists(),
        "agreed": sum(p.response == "agreed" for p in participations),
        "circulate_form": forms_.get("circulate_form") or CirculateForm(),
        "respond_form": forms_.get("respond_form") or RespondForm(),
        "schedule_form": forms_.get("schedule_form") or ScheduleForm(),
        "withdraw_form": forms_.get("withdraw_form") or WithdrawForm(),
        "mine": [p for p in participations if p.pk in caps.respond_for],
    }
    return render(request, "awareness/warnings/detail.html", context, status=status)


@login_required
@require_GET
def warning_detail(request, pk):
    return _render_detail(request, selectors.warning_visible_to(request.user, pk))


def _action(request, pk, form_class, name, call, message):
    warning = selectors.warning_visible_to(request.user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(warning, form.cleaned_data)
        except PermissionDenied as exc:
            raise _refused(exc) from None
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, message.format(ref=warning.reference))
            return redirect("awareness:warning_detail", warning.pk)
    return _render_detail(request, warning, status=400, **{name: form})


@login_required
@require_POST
def warning_circulate(request, pk):
    return _action(request, pk, CirculateForm, "circulate_form", lambda w, d: services.circulate_warning(
        actor=request.user, warning=w, response_deadline=d["response_deadline"]),
        "{ref} circulated to the concerned member states.")


@login_required
@require_POST
def warning_respond(request, pk):
    def call(warning, data):
        code = data.pop("member_state") or None
        state = selectors.member_state_by_code(code) if code else None
        if code and state is None:
            raise ValidationError({"member_state": f"No member state {code!r}."})
        services.respond_to_warning(actor=request.user, warning=warning, member_state=state, **data)

    return _action(request, pk, RespondForm, "respond_form", call, "Your answer on {ref} is recorded.")


@login_required
@require_POST
def warning_schedule(request, pk):
    return _action(request, pk, ScheduleForm, "schedule_form", lambda w, d: services.schedule_release(
        actor=request.user, warning=w, publish_at=d["publish_at"]), "{ref} scheduled for release.")


@login_required
@require_POST
def warning_withdraw(request, pk):
    return _action(request, pk, WithdrawForm, "withdraw_form", lambda w, d: services.withdraw_warning(
        actor=request.user, warning=w, reason=d["reason"]), "{ref} withdrawn.")


# --- The public copies: no login, released warnings only -----------------------------------------


def public_item(p: WarningParticipation, request=None) -> dict:
    warning = p.warning
    url = reverse("awareness:warning_public_json", args=[warning.pk])
    return {
        "id": f"{warning.reference}/{p.member_state.code}/{p.released_language}",
        "url": request.build_absolute_uri(url) if request else url,
        "title": p.released_title,
        "content_text": p.released_text,
        "language": p.released_language,
        "date_published": p.published_at.isoformat(),
        "authors": [{"name": p.responding_organisation.name if p.responding_organisation_id else
                     p.member_state.name}],
        "tags": ["TLP:CLEAR", p.member_state.code],
        "_csoa": {"warning": warning.reference, "member_state": p.member_state.code,
                  "released_at": p.released_at.isoformat()},
    }


@require_GET
def warning_public_json(request, pk):
    warning = selectors.released_warning(pk)
    participations = list(warning.participations.all())
    return JsonResponse({
        "reference": warning.reference, "tlp": "TLP:CLEAR", "title": warning.title, "language": warning.language,
        "body": warning.body, "recommendations": warning.recommendations,
        "released_at": warning.released_at.isoformat(),
        "facts": [{"kind": f.kind, "label": f.label, "text": f.text} for f in warning.facts.all()],
        "versions": [{
            "member_state": p.member_state.code, "authority": p.responding_organisation.name
            if p.responding_organisation_id else "", "language": p.released_language, "title": p.released_title,
            "text": p.released_text, "released_at": p.released_at.isoformat(),
            "published_at": p.published_at.isoformat()} for p in participations],
    }, json_dumps_params={"ensure_ascii": False})


@require_GET
def warnings_json_feed(request):
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1): one item per participating authority's version."""
    items = [public_item(p, request) for p in selectors.released_participations()]
    response = JsonResponse({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "CSoA Portal: synchronised public warnings (TLP:CLEAR)",
        "home_page_url": request.build_absolute_uri("/"),
        "feed_url": request.build_absolute_uri(reverse("awareness:warnings_json_feed")),
        "items": items,
    }, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/feed+json"
    return response


class WarningsRssFeed(Feed):
    """RSS 2.0 of the same items."""

    feed_type = Rss201rev2Feed
    title = "CSoA Portal: synchronised public warnings (TLP:CLEAR)"
    description = "Public warnings released together by the member states' authorities."

    def link(self):
        return reverse("awareness:warnings_json_feed")

    def items(self):
        return selectors.released_participations()

    def item_title(self, item):
        return f"[{item.member_state.code}] {item.released_title}"

    def item_description(self, item):
        return item.released_text

    def item_link(self, item):
        return reverse("awareness:warning_public_json", args=[item.warning_id])

    def item_guid(self, item):
        return f"{item.warning.reference}/{item.member_state.code}/{item.released_language}"

    item_guid_is_permalink = False

    def item_pubdate(self, item):
        return item.published_at

    def item_author_name(self, item):
        return item.responding_organisation.name if item.responding_organisation_id else item.member_state.name


warnings_rss_feed = require_GET(WarningsRssFeed())

