"""Provider isolation and request visibility on every read path the Reserve owns, the event stream included."""

import pytest
from django.http import Http404

from liaison.selectors import events_visible_to
from reserve import selectors, services
from reserve.workflow import RequestStatus
from tests.reserve.factories import confirm_agreement, request_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_providers(reserve):
    """An approved request worked by ACME (incident response) and BETA (forensics); GAMMA never engaged."""
    p, orgs = reserve["people"], reserve["orgs"]
    request = request_in(RequestStatus.APPROVED, reserve)
    before_engagement = selectors.requests_visible_to(p["provider"]).filter(pk=request.pk).exists()
    acme = services.engage_provider(actor=p["enisa_triage"], request=request, provider=orgs["provider-acme"],
                                    services=["incident_response"], person_days=10)
    beta = services.engage_provider(actor=p["enisa_triage"], request=request, provider=orgs["provider-beta"],
                                    services=["digital_forensics"], person_days=10)
    services.accept_engagement(actor=p["provider"], engagement=acme)
    services.accept_engagement(actor=p["beta"], engagement=beta)
    confirm_agreement(reserve, beta, sides=("beta", "de_analyst"))  # CSoA Art. 16: before any work
    services.log_work(actor=p["beta"], engagement=beta, day=beta.offered_at.date(), person_days="1.5",
                      activity="Disk images of the SCADA historian")
    services.post_update(actor=p["beta"], engagement=beta, text="Found the initial access vector")
    services.post_update(actor=p["de_analyst"], engagement=acme, text="OT network isolated")
    return {"request": request, "acme": acme, "beta": beta, "before_engagement": before_engagement}


def _seen_via_feed(user):
    events, _ = events_visible_to(user, after=0, limit=10_000)
    return events


def test_a_provider_sees_the_request_only_once_engaged_and_only_its_own_engagement(reserve, two_providers):
    p = reserve["people"]
    request, acme, beta = two_providers["request"], two_providers["acme"], two_providers["beta"]
    assert two_providers["before_engagement"] is False
    assert list(selectors.engagements_visible_to(p["provider"])) == [acme]
    assert list(selectors.engagements_of(p["provider"], request)) == [acme]
    assert list(selectors.engagements_of(p["beta"], request)) == [beta]
    with pytest.raises(Http404):
        selectors.engagement_visible_to(p["provider"], beta.pk)
    assert selectors.visible_engagement_ids(p["provider"], {str(acme.pk), str(beta.pk)}) == {str(acme.pk)}
    assert selectors.request_visible_to(p["provider"], request.pk) == request
    with pytest.raises(Http404):
        selectors.request_visible_to(p["gamma"], request.pk)
    assert selectors.provider_profiles_visible_to(p["provider"]).get().organisation.code == "provider-acme"


def test_requester_enisa_and_commission_see_every_engagement_with_the_work_logged(reserve, two_providers):
    request = two_providers["request"]
    for who in ("de_analyst", "de_spoc", "enisa_triage", "enisa_decision", "ec_decision"):
        rows = list(selectors.engagements_of(reserve["people"][who], request))
        assert [e.provider.code for e in rows] == ["provider-acme", "provider-beta"], who
    beta_row = selectors.engagements_of(reserve["people"]["enisa_triage"], request).get(provider__code="provider-beta")
    assert str(beta_row.logged_days) == "1.5"


def test_other_organisations_see_neither_the_request_nor_its_engagements(reserve, two_providers):
    request = two_providers["request"]
    for who in ("fr_analyst", "pt_analyst", "cert_eu", "gamma", "de_hub"):
        user = reserve["people"][who]
        assert not selectors.requests_visible_to(user).exists(), who
        assert not selectors.engagements_visible_to(user).exists(), who
        with pytest.raises(Http404):
            selectors.request_visible_to(user, request.pk)


def test_the_event_feed_never_gives_a_provider_another_providers_engagement(reserve, two_providers):
    acme, beta = two_providers["acme"], two_providers["beta"]
    seen = _seen_via_feed(reserve["people"]["provider"])
    engagement_ids = {e.subject_id for e in seen if e.subject_type == "engagement"}
    assert engagement_ids == {str(acme.pk)}
    kinds = {e.kind for e in seen if e.subject_type == "engagement"}
    assert {"provider.engaged", "engagement.accepted", "deployment.updated"} <= kinds
    # Nothing about the request from before ACME was engaged (submission, assessment, decision).
    request_kinds = {e.kind for e in seen if e.subject_type == "assistance_request"}
    assert not request_kinds & {"request.drafted", "request.submitted", "request.assessed", "request.decided"}
    beta_seen = _seen_via_feed(reserve["people"]["beta"])
    assert {e.subject_id for e in beta_seen if e.subject_type == "engagement"} == {str(beta.pk)}
    assert not [e for e in _seen_via_feed(reserve["people"]["gamma"]) if e.subject_type in (
        "engagement", "assistance_request")]


def test_closing_tells_engaged_providers_but_the_report_stays_with_enisa_and_the_commission(reserve, two_providers):
    p = reserve["people"]
    request = two_providers["request"]
    services.close_deployment(actor=p["enisa_triage"], request=request)
    services.submit_report(actor=p["de_analyst"], request=request, service_provided="IR and forensics",
                           results="Grid control restored", lessons_learned="Segment OT from IT")
    acme_kinds = {e.kind for e in _seen_via_feed(p["provider"]) if e.subject_type == "assistance_request"}
    assert "deployment.closed" in acme_kinds and "report.submitted" not in acme_kinds
    assert selectors.report_visible_to(p["provider"], request) is None
    for who in ("enisa_triage", "enisa_decision", "ec_decision", "de_analyst"):
        assert selectors.report_visible_to(p[who], request).results == "Grid control restored", who
        assert "report.submitted" in {e.kind for e in _seen_via_feed(p[who])}, who


def test_the_networks_get_the_notice_of_a_request_but_not_the_request(reserve, two_providers):
    fr = reserve["people"]["fr_analyst"]  # CERT-FR: a member of the CSIRTs Network
    notices = [e for e in _seen_via_feed(fr) if e.kind == "request.submitted"]
    assert [e.subject_type for e in notices] == ["reserve_notice"]
    assert notices[0].payload["reference"] == two_providers["request"].reference
    assert not [e for e in _seen_via_feed(fr) if e.subject_type in ("assistance_request", "engagement")]


def test_a_draft_is_the_requesters_alone(reserve):
    request = request_in(RequestStatus.DRAFT, reserve)
    for who in ("de_spoc", "enisa_triage", "ec_decision", "provider"):
        assert not selectors.requests_visible_to(reserve["people"][who]).filter(pk=request.pk).exists(), who
    assert selectors.requests_visible_to(reserve["people"]["de_liaison"]).count() == 0  # de-authority: another org
    assert selectors.request_visible_to(reserve["people"]["de_analyst"], request.pk) == request


def test_the_live_streams_batched_request_check_matches_the_per_user_one(reserve, two_providers,
                                                                          django_assert_max_num_queries):
    """One query for every connected user answers as the per-user selector does: GAMMA, never engaged, sees nothing."""
    from liaison.events import visible_subject_ids_for_users

    draft = request_in(RequestStatus.DRAFT, reserve, affected_entity="Another utility")
    ids = {str(two_providers["request"].pk), str(draft.pk), "0", "x"}
    people = list(reserve["people"].values())
    users = {u.pk: (u, set(u.groups.values_list("id", flat=True))) for u in people}
    with django_assert_max_num_queries(2):  # not a query per user
        batched = visible_subject_ids_for_users(users, "assistance_request", ids)
    assert batched == {u.pk: selectors.visible_request_ids(u, ids) for u in people}
    assert batched[reserve["people"]["gamma"].pk] == set()
    assert str(two_providers["request"].pk) in batched[reserve["people"]["provider"].pk]
    assert str(draft.pk) not in batched[reserve["people"]["enisa_triage"].pk]  # a draft stays with its author
