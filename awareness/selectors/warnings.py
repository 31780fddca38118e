"""Reads of the warnings product, through the permission rules.

``warnings_visible_to`` is the one definition of who sees a warning (pages, API, events,
audit); ``citable_facts`` is the facts panel of the editor; ``fact_now`` re-reads a cited
fact's current label for the release check; the ``released_*`` reads are the public feeds'.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from awareness.models import PublicWarning, WarningFact, WarningParticipation
from awareness.policy import warnings as policy
from incidents.models import Incident, Observable, TimelineEntry
from incidents.selectors import incidents_visible_to, observables_visible_to, timeline_visible_to
from incidents.vocabulary import TLP
from liaison.models import Organisation
from liaison.roles import OrganisationKind
from liaison.exercises import in_current
from liaison.policy import acting_organisation_ids

CLEAR = TLP.CLEAR


def warnings_visible_to(user) -> QuerySet[PublicWarning]:
    """The drafter's organisation; once circulated, the concerned states' authorities and ENISA."""
    if not getattr(user, "is_authenticated", False):
        return PublicWarning.objects.none()
    org_ids = list(acting_organisation_ids(user).values_list("organisation_id", flat=True))
    seen = Q(drafter_organisation_id__in=org_ids)
    if not org_ids:
        return PublicWarning.objects.none()
    shown = Q(**policy.CIRCULATED)
    if policy.is_enisa(user):
        seen |= shown
    state_ids = list(policy.reading_state_ids(user))
    if state_ids:
        concerned = WarningParticipation.objects.filter(warning=OuterRef("pk"), member_state_id__in=state_ids)
        seen |= shown & Q(Exists(concerned))
    return in_current(PublicWarning.objects.filter(seen))


def warning_visible_to(user, pk) -> PublicWarning:
    """The warning, or 404 whether it does not exist or is not the user's to see."""
    try:
        return warnings_visible_to(user).select_related(
            "incident__reporting_organisation", "drafter_organisation", "drafted_by", "exercise").get(pk=pk)
    except (PublicWarning.DoesNotExist, ValueError, TypeError):
        raise Http404("No such warning.") from None


def visible_warning_ids(user, ids: set[str]) -> set[str]:
    numeric = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk) for pk in warnings_visible_to(user).filter(pk__in=numeric).values_list("pk", flat=True)}


def participations_of(warning: PublicWarning) -> list[WarningParticipation]:
    return list(warning.participations.select_related("member_state", "responded_by", "responding_organisation"))


def incidents_to_warn_about(user) -> list[Incident]:
    """Cross-border incidents the user sees and may draft a warning about (newest first, a page's worth)."""
    rows = list(incidents_visible_to(user).select_related("reporting_organisation").prefetch_related(
        "affected_member_states")[:200])
    return [i for i in rows if policy.is_cross_border(affected_count=len(i.affected_member_states.all()),
                                                      cross_border_impact=i.cross_border_impact)
            and policy.drafting_organisation_ids(user, i)]


def concerned_authorities(warning: PublicWarning) -> list[Organisation]:
    """The organisations that act for the concerned member states."""
    return list(Organisation.objects.filter(
        is_active=True, kind__in=policy.PARTICIPANT_KINDS,
        member_state_id__in=warning.participations.values("member_state_id")).order_by("code"))


def audience_organisations(warning: PublicWarning) -> list[Organisation]:
    """Who is told of a warning's steps: the drafter, the concerned authorities, ENISA (once circulated)."""
    orgs = [warning.drafter_organisation]
    if policy.was_circulated(warning):
        orgs += concerned_authorities(warning)
        orgs += list(Organisation.objects.filter(is_active=True, kind=OrganisationKind.ENISA))
    return list({o.pk: o for o in orgs}.values())


# --- The facts panel -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    key: str  # "incident:12:title", "sector:3", "state:DE", "observable:7", "timeline:9"
    group: str  # the panel's section
    label: str
    text: str
    tlp: str

    @property
    def clear(self) -> bool:
        return self.tlp == CLEAR

    @property
    def tlp_label(self) -> str:
        return TLP(self.tlp).label

    @property
    def why_not(self) -> str:
        return "" if self.clear else f"{self.tlp_label}: only TLP:CLEAR content may go into a public warning."


GROUPS = ("Incident", "Sectors", "Affected member states", "Observables", "Timeline and situation updates")


def _incident_facts(incident: Incident) -> list[Fact]:
    facts = [Fact(f"incident:{incident.pk}:title", "Incident", "Incident title", incident.title, incident.tlp)]
    if incident.description:
        facts.append(Fact(f"incident:{incident.pk}:summary", "Incident", "Incident summary", incident.description,
                          incident.tlp))
    facts += [Fact(f"sector:{incident.pk}:{s.pk}", "Sectors", "Sector", str(s), incident.tlp)
              for s in incident.sectors.select_related("parent")]
    facts += [Fact(f"state:{incident.pk}:{m.code}", "Affected member states", "Affected member state", m.name,
                   incident.tlp) for m in incident.affected_member_states.all()]
    return facts


def _observable_fact(o: Observable) -> Fact:
    return Fact(f"observable:{o.pk}", "Observables", f"Observable ({o.get_type_display()})", o.value, o.tlp)


def _timeline_fact(e: TimelineEntry) -> Fact:
    return Fact(f"timeline:{e.pk}", "Timeline and situation updates",
                f"{e.get_kind_display()} of {e.created_at:%Y-%m-%d %H:%M} UTC", e.text, e.tlp)


def citable_facts(user, incident: Incident) -> list[Fact]:
    """Everything of the incident the drafter sees that a warning could cite, each with its label (CLEAR or not)."""
    facts = _incident_facts(incident)
    facts += [_observable_fact(o) for o in observables_visible_to(user, incident).order_by("id")]
    facts += [_timeline_fact(e) for e in timeline_visible_to(user, incident).order_by("created_at", "id")]
    return facts


def grouped_facts(facts: list[Fact]) -> list[tuple[str, list[Fact]]]:
    return [(g, [f for f in facts if f.group == g]) for g in GROUPS if any(f.group == g for f in facts)]


def fact_now(key: str, incident: Incident) -> Fact | None:
    """The fact as it is now, whoever asks (the release check), or None if it is gone or not of this incident."""
    kind, _, rest = key.partition(":")
    try:
        if kind in ("incident", "sector", "state"):
            incident = Incident.objects.get(pk=incident.pk)
            return next((f for f in _incident_facts(incident) if f.key == key), None)
        if kind == "observable":
            return _observable_fact(Observable.objects.get(pk=int(rest), incident=incident))
        if kind == "timeline":
            return _timeline_fact(TimelineEntry.objects.get(pk=int(rest), incident=incident))
    except (Observable.DoesNotExist, TimelineEntry.DoesNotExist, Incident.DoesNotExist, ValueError):
        return None
    return None


# --- The public copies ---------------------------------------------------------------------------


def released_participations(*, limit: int = 50) -> list[WarningParticipation]:
    """Every participating authority's released version, newest first: the public feeds' items."""
    # The public never sees an exercise's warnings, whatever the reader's context.
    return list(WarningParticipation.objects.filter(
        warning__exercise__isnull=True, released_at__isnull=False, warning__status=PublicWarning.Status.RELEASED).select_related(
        "warning", "member_state", "responding_organisation").order_by("-released_at", "-warning_id",
                                                                        "member_state__code")[:limit])


def released_warning(pk) -> PublicWarning:
    """A released warning for anyone, signed in or not; 404 before release, exactly like a missing one."""
    try:
        return PublicWarning.objects.filter(status=PublicWarning.Status.RELEASED, exercise__isnull=True).prefetch_related(
            Prefetch("participations", WarningParticipation.objects.filter(released_at__isnull=False).select_related(
                "member_state", "responding_organisation")),
            Prefetch("facts", WarningFact.objects.order_by("id"))).get(pk=pk)
    except (PublicWarning.DoesNotExist, ValueError, TypeError):
        raise Http404("No such warning.") from None


def due_warning_ids(now) -> list[int]:
    return list(PublicWarning.objects.filter(status=PublicWarning.Status.SCHEDULED, publish_at__lte=now)
                .order_by("publish_at", "id").values_list("id", flat=True)[:100])


def member_state_by_code(code: str):
    from liaison.models import MemberState

    return MemberState.objects.filter(code=(code or "").upper()).first()
