"""The incident page's links to this app's products, each shown by the product's own policy."""

from django.urls import reverse

from incidents.related import RelatedLink, register_related


def register() -> None:
    register_related("awareness", links_for)


def links_for(user, incident) -> list[RelatedLink]:
    from awareness.policy import reviews as review_policy
    from awareness.policy import sitreps as sitrep_policy
    from awareness.policy import warnings as warning_policy
    from awareness.selectors.sitreps import reports_visible_to

    links = []
    count = reports_visible_to(user).filter(incident=incident).count()
    if count:
        links.append(RelatedLink("Situation reports", f"{reverse('awareness:sitrep-list')}?incident={incident.pk}",
                                 count))
    if incident.crisis_level >= sitrep_policy.MIN_LEVEL and sitrep_policy.may_draft(user, incident):
        links.append(RelatedLink("Draft a situation report",
                                 f"{reverse('awareness:sitrep-new')}?incident={incident.pk}"))
    affected = len(incident.affected_member_states.all())
    if (warning_policy.is_cross_border(affected_count=affected, cross_border_impact=incident.cross_border_impact)
            and warning_policy.drafting_organisation_ids(user, incident)):
        links.append(RelatedLink("Draft a public warning",
                                 f"{reverse('awareness:warning_new')}?incident={incident.pk}"))
    if review_policy.is_significant_or_large_scale(incident) and review_policy.requester_body(user):
        links.append(RelatedLink("Request an incident review", reverse("awareness:review_new", args=[incident.pk])))
    return links
