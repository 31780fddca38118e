"""Filters of the incident list, one definition for the API and the page (NetBox style).

The API's ``DjangoFilterBackend`` and the incident list page both use ``IncidentFilterSet``:
the same parameters select the same incidents. An unknown code is a 400 naming the
filter, not an empty list. Multi-valued relations are filtered with EXISTS subqueries, so
an incident never appears twice and the page costs the same whatever the filter.

Id-taking filters (``AlertFilterSet.incident``) resolve against what the caller may see:
an invisible incident is answered exactly like a missing one (no oracle).
"""

import functools
import re

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.utils.choices import CallableChoiceIterator

from csoa_portal.api.filters import DateTimeFilter, VisibleIdFilter
from incidents import selectors
from incidents.models import Alert, Incident, IncidentCategory, Sector, Tag, TagVocabulary
from incidents.selectors import overdue_incidents
from incidents.tags import InvalidTag, canonical, namespace_of, tlp_of
from incidents.vocabulary import RSIT, SITUATION_TAXONOMY, TLP, Severity
from liaison.models import MemberState

REFERENCE = re.compile(r"^\s*INC-\d{4}-(\d{1,12})\s*$", re.IGNORECASE | re.ASCII)


class IncidentFilterForm(forms.Form):
    """Validates and normalises the codes (so the page and the API refuse alike) and renders the page's filters.

    The select boxes' choices are read when the page renders them, not when the form is made: the API
    builds this form on every list request and never renders it (five queries saved per request,
    bench/list_queries.py).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fields = self.fields
        fields["q"].widget = forms.TextInput(attrs={"type": "search", "placeholder": "Title, description or INC-…"})
        fields["member_state"].widget = forms.Select(choices=_when_rendered(lambda: [("", "Any member state")] + [
            (ms.code, str(ms)) for ms in MemberState.objects.order_by("code")]))
        fields["sector"].widget = forms.Select(choices=_when_rendered(lambda: [("", "Any sector")] + [
            (s.code, str(s)) for s in Sector.objects.select_related("parent").order_by("code")]))
        categories = [("", "Any category")]
        for klass, types in RSIT.items():
            categories.append((klass, [(klass, f"{klass} (all)"), *((f"{klass}/{t}", f"{klass}/{t}") for t in types)]))
        fields["category"].widget = forms.Select(choices=categories)
        fields["crisis_level"].widget = forms.Select(choices=_when_rendered(lambda: [("", "Any crisis level")] + [
            (lv.number, f"{lv.number} — {lv.name}") for lv in selectors.active_blueprint().levels.all()]))
        fields["overdue"].widget = forms.Select(
            choices=[("", "Overdue or not"), ("true", "Overdue"), ("false", "Not overdue")])
        fields["updated_since"].widget = forms.DateInput(attrs={"type": "date"})
        fields["tag"].widget = forms.TextInput(attrs={"placeholder": 'rsit:malicious-code, nis:…, or a word'})

    def clean_member_state(self):
        code = (self.cleaned_data.get("member_state") or "").strip().upper()
        if code and not MemberState.objects.filter(code=code).exists():
            raise forms.ValidationError(f"No member state with code '{code}'.")
        return code

    def clean_sector(self):
        code = (self.cleaned_data.get("sector") or "").strip().lower()
        if code and not Sector.objects.filter(code=code).exists():
            raise forms.ValidationError(f"No sector with code '{code}'.")
        return code

    def clean_tag(self):
        """A tag of a known vocabulary: an unknown namespace or controlled tag is refused naming it. An unknown
        free word is not (it selects nothing): whether another organisation uses a word is not told."""
        raw = self.cleaned_data.get("tag") or ""
        if not raw.strip():
            return ""
        try:
            name = canonical(raw)
        except InvalidTag as exc:
            raise forms.ValidationError(str(exc)) from None
        namespace = namespace_of(name)
        vocabulary = TagVocabulary.objects.filter(namespace=namespace).first()
        if vocabulary is None:
            raise forms.ValidationError(f"Tag '{name}': unknown vocabulary '{namespace}'. Use tlp:, rsit:, nis: or a "
                                        f"plain word.")
        if namespace == "tlp":
            known = tlp_of(name) is not None
        else:
            known = vocabulary.free or Tag.objects.filter(name=name).exists()
        if not known:
            raise forms.ValidationError(f"Tag '{name}' is not in the {vocabulary.name} ({namespace}) vocabulary.")
        return name

    def clean_category(self):
        code = (self.cleaned_data.get("category") or "").strip().lower()
        if code and "/" in code and not IncidentCategory.objects.filter(code=code).exists():
            raise forms.ValidationError(f"No RSIT category '{code}'.")
        if code and "/" not in code and not IncidentCategory.objects.filter(klass=code).exists():
            raise forms.ValidationError(f"No RSIT class '{code}'.")
        return code


def _when_rendered(build) -> CallableChoiceIterator:
    """Choices read from the database once, the first time the widget iterates them."""
    return CallableChoiceIterator(functools.cache(build))


def _choice(choices, label, empty_label, **kwargs):
    return django_filters.ChoiceFilter(
        choices=choices, empty_label=empty_label, label=label[0].upper() + label[1:], **kwargs,
        error_messages={"invalid_choice": f"Unknown {label} '%(value)s'. Choose one of: "
                        + ", ".join(value for value, _ in choices) + "."},
    )


def _situation(field: str):
    label, vocabulary = SITUATION_TAXONOMY[field]
    return _choice(vocabulary.choices, label.lower(), f"Any {label.lower()}", method="filter_latest_situation",
                   help_text=f"{label} of the latest situation update you may read (NIS Cooperation Group taxonomy).")


class IncidentFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label="Search", max_length=200,
                                  help_text="Text in the title or description, or a reference.")
    status = _choice(Incident.Status.choices, "status", "Any status")
    crisis_level = django_filters.NumberFilter(min_value=0, max_value=9, label="Crisis level")
    member_state = django_filters.CharFilter(method="filter_member_state", label="Member state",
                                             help_text="Affected member state (ISO code).")
    sector = django_filters.CharFilter(method="filter_sector", label="Sector",
                                       help_text="NIS2 sector or sub-sector code; a sector includes its sub-sectors.")
    category = django_filters.CharFilter(method="filter_category", label="Category",
                                         help_text="RSIT class (e.g. availability) or class/type.")
    severity = _choice(Severity.choices, "severity", "Any severity")
    tlp = _choice(TLP.choices, "TLP label", "Any TLP")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="Overdue",
                                           help_text="Only incidents with (true) or without (false) a missed deadline.")
    updated_since = DateTimeFilter(
        field_name="updated_at", lookup_expr="gte", label="Updated since",
        help_text="ISO 8601 date-time, or a date (its start in the portal's time zone).")
    # The latest situation update the caller may read (an entry stricter than its incident counts for its
    # author's organisation only): the current assessment, not any earlier one.
    tag = django_filters.CharFilter(
        method="filter_tag", label="Tag", max_length=200,
        help_text='A machine tag (rsit:malicious-code also selects its types, rsit:malicious-code="…"; '
                  'nis:impact-severity="red"; tlp:amber selects by label) or a free word.')
    impact_severity = _situation("impact_severity")
    impact_outlook = _situation("impact_outlook")
    root_cause = _situation("root_cause")
    threat_severity = _situation("threat_severity")

    class Meta:
        model = Incident
        fields = ["q", "status", "crisis_level", "member_state", "sector", "category", "severity", "tlp",
                  "overdue", "updated_since", "tag", *SITUATION_TAXONOMY]
        form = IncidentFilterForm

    def filter_latest_situation(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if not getattr(user, "is_authenticated", False):
            return queryset.none()
        return selectors.filter_by_latest_situation(queryset, user, {name: value})

    def filter_member_state(self, queryset, name, value):
        through = Incident.affected_member_states.through
        return queryset.filter(Exists(through.objects.filter(incident=OuterRef("pk"), memberstate__code=value)))

    def filter_sector(self, queryset, name, value):
        through = Incident.sectors.through
        in_sector = Q(sector__code=value) | Q(sector__parent__code=value)
        return queryset.filter(Exists(through.objects.filter(in_sector, incident=OuterRef("pk"))))

    def filter_category(self, queryset, name, value):
        return queryset.filter(**{"category__code" if "/" in value else "category__klass": value})

    def filter_tag(self, queryset, name, value):
        if label := tlp_of(value):
            return queryset.filter(tlp=label)  # an incident's TLP tag is its label
        matches = Q(tag__name=value)
        if "=" not in value and namespace_of(value) != "free":
            matches |= Q(tag__name__startswith=f'{value}="')  # a predicate selects its values too
        through = Incident.tags.through
        return queryset.filter(Exists(through.objects.filter(matches, incident=OuterRef("pk"))))

    def filter_overdue(self, queryset, name, value):
        overdue = overdue_incidents(queryset)
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))

    def filter_text(self, queryset, name, value):
        value = value.strip()
        condition = Q(title__icontains=value) | Q(description__icontains=value)
        if match := REFERENCE.match(value):
            condition |= Q(pk=int(match.group(1)))
        return queryset.filter(condition)


def _incidents_alerted_or_visible(user):
    """Incidents the caller may read, and those its own alerts name: a TLP:RED or AMBER+STRICT
    incident is alerted only, and its alert already shows the id, so filtering by it tells nothing new."""
    if not getattr(user, "is_authenticated", False):
        return Incident.objects.none()
    return Incident.objects.filter(
        Q(pk__in=selectors.incidents_visible_to(user).values("pk"))
        | Q(pk__in=selectors.alerts_visible_to(user).values("incident_id"))
    )


class AlertFilterSet(django_filters.FilterSet):
    """Alerts by state, level and incident; an incident the caller may not see is answered as a missing one."""

    incident = VisibleIdFilter(visible=_incidents_alerted_or_visible, label="incident",
                               help_text="Only the alerts of this incident (its id).")

    class Meta:
        model = Alert
        fields = ["state", "incident", "level"]
