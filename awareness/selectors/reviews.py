"""Reads of the reviews product, through the permission rules (``awareness.policy.reviews``).

One definition of "visible" (``reviews_visible_to``) for pages, API, the live stream and the
audit log; one read model of the report per reader (``report_for``) for the page, the API and
the printable document.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from awareness.documents import PrintDocument, PrintSection
from awareness.models import IncidentReview, ReviewAgreement, ReviewClock, ReviewComment, ReviewSection
from awareness.policy import reviews as policy
from incidents.selectors import incidents_visible_to
from liaison.exercises import in_current
from liaison.policy import acting_memberships

OMITTED = "Parts of this report are confidential to the member state they come from and were left out for you."


def reviews_visible_to(user) -> QuerySet[IncidentReview]:
    """The requesting organisation, ENISA, and the authorities of every state concerned."""
    if not getattr(user, "is_authenticated", False) or not acting_memberships(user).exists():
        return IncidentReview.objects.none()
    if policy.is_enisa(user):
        return in_current(IncidentReview.objects.all())
    org_ids = [m.organisation_id for m in policy.memberships_of(user)]
    states = policy.reader_state_ids(user)
    concerned = ReviewAgreement.objects.filter(review=OuterRef("pk"), member_state_id__in=states)
    return in_current(IncidentReview.objects.filter(Q(requester_organisation_id__in=org_ids) | Exists(concerned)))


def review_visible_to(user, review_id) -> IncidentReview:
    """The review, or 404 whether it does not exist or is not the user's to see."""
    try:
        return (reviews_visible_to(user)
                .select_related("incident", "requester_organisation", "requested_by", "exercise")
                .prefetch_related(Prefetch("agreements", ReviewAgreement.objects.select_related(
                    "member_state", "organisation")))
                .get(pk=review_id))
    except (IncidentReview.DoesNotExist, ValueError, TypeError):
        raise Http404("No such review.") from None


def visible_review_ids(user, ids: set[str]) -> set[str]:
    """Event subject check: which of these reviews the user may still see."""
    numeric = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk) for pk in reviews_visible_to(user).filter(pk__in=numeric).values_list("pk", flat=True)}


def clocks_of(review) -> list[ReviewClock]:
    return list(review.clocks.all())


@dataclass(frozen=True)
class ReportPart:
    kind: str
    label: str
    sections: tuple = ()
    omitted: bool = False


@dataclass(frozen=True)
class ReviewReport:
    """The report as one reader may read it: the sections they may read, what was left out, the comments."""

    review: IncidentReview
    readable: bool
    parts: tuple[ReportPart, ...] = ()
    comments: tuple = ()
    omitted: bool = False
    generated_at: datetime = field(default_factory=timezone.now)

    @property
    def omitted_note(self) -> str:
        return OMITTED if self.omitted else ""


def report_for(user, review: IncidentReview) -> ReviewReport:
    """Per reader: confidential parts of other sources are left out, with a note that something was (never what)."""
    if not policy.may_read_sections(user, review):
        return ReviewReport(review=review, readable=False)
    sections = list(ReviewSection.objects.filter(review=review).select_related("source_state"))
    parts, omitted_any = [], False
    for kind, label in ReviewSection.Kind.choices:
        mine = [s for s in sections if s.kind == kind]
        readable = tuple(s for s in mine if policy.may_read_section(user, s, review=review))
        omitted = len(readable) < len(mine)
        omitted_any |= omitted
        parts.append(ReportPart(kind=kind, label=label, sections=readable, omitted=omitted))
    comments = tuple(ReviewComment.objects.filter(review=review).select_related("member_state", "organisation"))
    return ReviewReport(review=review, readable=True, parts=tuple(parts), comments=comments, omitted=omitted_any)


def incident_heading(user, review: IncidentReview) -> str:
    """"INC-… — title" for a person who sees the incident; its reference alone for a state concerned (or the
    requester) who takes part in the review without the incident having been shared with them (TLP still holds)."""
    if incidents_visible_to(user).filter(pk=review.incident_id).exists():
        return f"{review.incident.reference} — {review.incident.title}"
    return review.incident.reference


def print_document(user, review: IncidentReview) -> PrintDocument:
    """The printable report for this reader (``awareness.pdf.render_pdf`` lays it out)."""
    report = report_for(user, review)
    if not report.readable:
        raise Http404("No such review.")
    agreements = list(review.agreements.all())
    sections = []
    for part in report.parts:
        paragraphs = tuple(
            (f"[Confidential — {s.source_state.display_code}] " if s.confidential else "") + s.text
            for s in part.sections)
        sections.append(PrintSection(heading=part.label, paragraphs=paragraphs,
                                     omitted_note=OMITTED if part.omitted else ""))
    if report.comments:
        sections.append(PrintSection(heading="Comments of the member states concerned", table=(
            ("Member state", "Organisation", "Comment"),
            *((c.member_state.display_code, c.organisation.name, c.text) for c in report.comments))))
    delivered = review.delivered_at.strftime("%Y-%m-%d %H:%M UTC") if review.delivered_at else "not yet delivered"
    return PrintDocument(
        title=f"Incident review {review.reference}",
        subtitle=incident_heading(user, review),
        tlp="amber",
        generated_at=report.generated_at,
        summary=(("Requested by", f"{review.requester_organisation.name} ({review.get_requester_body_display()})"),
                 ("Status", review.get_state_display()), ("Delivered", delivered),
                 ("Legal basis", "Regulation (EU) 2025/38 (Cyber Solidarity Act), Art. 21")),
        sections=tuple(sections),
        map_states={a.member_state.code: ("agreed" if a.answer == "agreed" else "concerned") for a in agreements},
        omitted_note=report.omitted_note,
    )

