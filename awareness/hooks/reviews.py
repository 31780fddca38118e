"""Registrations of the reviews product (events, inbox, sweep, menu, audit)."""

INBOX_KINDS = {
    "review.requested": "Incident review requested: your state's agreement is needed",
    "review.agreement_answered": "A state answered a review request",
    "review.drafting_started": "Incident review to draft",
    "review.declined": "Incident review not agreed by any state concerned",
    "review.draft_circulated": "Draft review report: your comments are invited",
    "review.commented": "A state commented on a draft review report",
    "review.delivered": "Incident review report delivered",
    "review.reminder": "Incident review deadline approaching",
    "review.overdue": "Incident review deadline passed",
}


def _label(kind: str):
    def label(event) -> str:
        clock = event.payload.get("label")
        return f"{INBOX_KINDS[kind]}{f' ({clock})' if clock else ''}:"

    return label


def register() -> None:
    """Called from AwarenessConfig.ready()."""
    from csoa_portal import audit
    from liaison.events import register_subject_check, register_subject_url, visible_subject_ids
    from liaison.inbox import register_inbox_kinds
    from awareness.hooks.menu import register_menu

    from awareness.selectors.reviews import visible_review_ids
    from awareness.services.reviews import SUBJECT, register_sweep

    # The live stream and the inbox re-check each review against who may see it now.
    register_subject_check(SUBJECT, visible_review_ids)
    register_subject_url(SUBJECT, _url)
    register_inbox_kinds("awareness.reviews", INBOX_KINDS, labels={k: _label(k) for k in INBOX_KINDS})
    register_sweep()
    review = lambda user, ids: visible_subject_ids(user, SUBJECT, ids)  # noqa: E731
    audit.register_read_check("awareness.incidentreview", review)
    # A section's or a comment's content: those who see the review (a confidential part's text is never audited).
    audit.register_read_check("awareness.reviewsection",
                              audit.via_parent("awareness.reviewsection", "review_id", review))
    audit.register_read_check("awareness.reviewcomment",
                              audit.via_parent("awareness.reviewcomment", "review_id", review))
    register_menu("awareness-reviews", _menu, order=40)


def _url(pk: str) -> str:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("awareness:review_detail", args=[pk])
    except NoReverseMatch:
        return f"/awareness/reviews/{pk}/"


def _menu(user) -> list:
    from django.urls import reverse

    from awareness.policy import reviews as policy
    from liaison.menu import MenuLink

    if policy.is_enisa(user) or policy.requester_body(user) or policy.reader_state_ids(user):
        return [MenuLink("Incident reviews", reverse("awareness:review_list"),
                         title="Incident reviews (CSoA Art. 21): requests, agreement, drafts, reports")]
    return []
