"""The audit log browser: filter and read entries; verify the chain on request.

Only users with ``csoa_portal.browse_audit`` (the network-admins group) see it; others
are told so (403, with who can). It shows who did what to which object, and when, for the whole network; the
content of an entry (object description, before/after) only where the viewer may read the
object itself (``audit.redact_unreadable``). Filters take only those non-content fields,
so a filter cannot be used to probe the content of a redacted entry. Verifying the chain walks every entry, so it runs only when asked (POST), never
on each page load.
"""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from csoa_portal import audit
from csoa_portal import forms as portal_forms
from csoa_portal.models import AuditEntry
from csoa_portal.views import PageRefused

ENTRIES_PER_PAGE = 50
VIA_CHOICES = [("", "Any"), ("session", "session"), ("token", "token"), ("command", "command"),
               ("admin", "admin"), ("system", "system")]


class AuditFilterForm(forms.Form):
    action = forms.CharField(required=False, max_length=64, help_text="Exact action or prefix, e.g. token.")
    actor = forms.CharField(required=False, max_length=254, label="Actor e-mail")
    organisation = forms.CharField(required=False, max_length=64, label="Organisation code")
    object_type = forms.CharField(required=False, max_length=64, label="Object type", help_text="e.g. liaison.organisation")
    object_id = forms.CharField(required=False, max_length=64, label="Object id")
    via = forms.ChoiceField(required=False, choices=VIA_CHOICES)
    date_from = portal_forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = portal_forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filter(self, entries):
        data = self.cleaned_data
        if data["action"]:
            entries = entries.filter(action__startswith=data["action"].strip())
        if data["actor"]:
            entries = entries.filter(actor_email__icontains=data["actor"].strip())
        if data["organisation"]:
            entries = entries.filter(organisation_code=data["organisation"].strip().lower())
        if data["object_type"]:
            entries = entries.filter(object_type=data["object_type"].strip().lower())
        if data["object_id"]:
            entries = entries.filter(object_id=data["object_id"].strip())
        if data["via"]:
            entries = entries.filter(via=data["via"])
        if data["date_from"]:
            entries = entries.filter(created_at__date__gte=data["date_from"])
        if data["date_to"]:
            entries = entries.filter(created_at__date__lte=data["date_to"])
        return entries


def _require_auditor(user):
    if not user.has_perm("csoa_portal.browse_audit"):
        raise PageRefused("Only the network administrators browse the audit log.",
                          who_can="ENISA's organisation admins, the network administrators.")


def diff(before, after) -> list[tuple[str, object, object]]:
    """The fields an entry changed: (field, before, after); all fields for a creation or removal."""
    before, after = before or {}, after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [("value", before, after)]
    keys = sorted(set(before) | set(after))
    return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


def _page(request, form):
    entries = AuditEntry.objects.order_by("-id")  # entries waiting to be sealed have no seq yet
    if form.is_valid():
        entries = form.filter(entries)
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = audit.redact_unreadable(request.user, page.object_list)
    for entry in page.object_list:
        entry.changes = [] if entry.redacted else diff(entry.before, entry.after)
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()


@login_required
@require_GET
def audit_list(request):
    _require_auditor(request.user)
    form = AuditFilterForm(request.GET or None)
    page, query = _page(request, form)
    status = 400 if form.errors else 200
    return render(request, "csoa_portal/audit_list.html", {"form": form, "page": page, "query": query}, status=status)


@login_required
@require_POST
def audit_verify(request):
    """Walk the whole chain once and show the result above the list."""
    _require_auditor(request.user)
    report = audit.verify_chain()
    form = AuditFilterForm(None)
    page, query = _page(request, form)
    return render(
        request, "csoa_portal/audit_list.html", {"form": form, "page": page, "query": query, "report": report}
    )
