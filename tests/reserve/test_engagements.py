"""Engaging providers: the matching rules refuse the wrong provider with a clear error and nothing changed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from csoa_portal.models import AuditEntry
from liaison.models import Event
from reserve import selectors, services, workflow
from reserve.models import AssistanceRequestGroupObjectPermission, Engagement, ReserveDeadline, WorkLog
from reserve.workflow import RequestStatus
from tests.reserve.factories import provider, request_in

pytestmark = pytest.mark.django_db


def _counts():
    return (Engagement.objects.count(), AuditEntry.objects.count(), Event.objects.count(),
            ReserveDeadline.objects.count(), AssistanceRequestGroupObjectPermission.objects.count())


def _refused(reserve, request, org_code, match, **share):
    before = _counts()
    with pytest.raises(ValidationError, match=match) as excinfo:
        services.engage_provider(actor=reserve["people"]["enisa_triage"], request=request,
                                 provider=reserve["orgs"].get(org_code) or _org(org_code), **share)
    assert _counts() == before
    return excinfo.value.message_dict["provider"][0]


def _org(code):
    from liaison.models import Organisation

    return Organisation.objects.get(code=code)


def test_a_provider_whose_certification_expires_inside_the_window_is_refused(reserve):
    request = request_in(RequestStatus.APPROVED, reserve)
    provider(reserve["people"]["enisa_admin"], "provider-lapsing", "DE",
             certified_until=request.window_start + timedelta(days=3))
    message = _refused(reserve, request, "provider-lapsing", "certification")
    assert f"expires on {request.window_start + timedelta(days=3)}, before the window ends" in message


def test_an_uncertified_provider_is_refused_with_its_standing(reserve):
    request = request_in(RequestStatus.APPROVED, reserve)
    provider(reserve["people"]["enisa_admin"], "provider-newcomer", "DE", certified=False)
    message = _refused(reserve, request, "provider-newcomer", "certification")
    assert "No valid certification or vetting (standing: pending)" in message


def test_capacity_overbooking_is_refused(reserve):
    p = reserve["people"]
    first = request_in(RequestStatus.APPROVED, reserve, affected_entity="First utility")
    services.engage_provider(actor=p["enisa_triage"], request=first, provider=reserve["orgs"]["provider-gamma"],
                             person_days=30)  # GAMMA committed 40
    second = request_in(RequestStatus.APPROVED, reserve, affected_entity="Second utility")
    message = _refused(reserve, second, "provider-gamma", "capacity")
    assert "Only 10 free person-days" in message and "20 needed" in message


def test_a_declared_conflict_of_interest_is_refused(reserve):
    request = request_in(RequestStatus.APPROVED, reserve)
    provider(reserve["people"]["enisa_admin"], "provider-conflicted", "DE", conflicts=["stadtwerke beispiel gmbh"])
    assert "conflict of interest with the affected entity" in _refused(reserve, request, "provider-conflicted",
                                                                      "conflict")


def test_service_and_language_gaps_are_refused(reserve):
    request = request_in(RequestStatus.APPROVED, reserve)
    provider(reserve["people"]["enisa_admin"], "provider-comms", "DE", services_offered=["crisis_communication"])
    provider(reserve["people"]["enisa_admin"], "provider-lusophone", "PT", languages=["pt"])
    assert "none of the requested services" in _refused(reserve, request, "provider-comms", "service")
    assert "none of the requested languages" in _refused(reserve, request, "provider-lusophone", "language")


def test_the_ranking_gives_a_reason_for_every_rank_and_exclusion(reserve):
    request = request_in(RequestStatus.APPROVED, reserve)
    provider(reserve["people"]["enisa_admin"], "provider-comms", "DE", services_offered=["crisis_communication"])
    ranking = selectors.ranking_for(request)
    assert [r.provider for r in ranking.ranked] == ["provider-acme", "provider-beta", "provider-gamma"]
    assert all(r.reasons for r in ranking.ranked)
    assert [(e.provider, e.code) for e in ranking.excluded] == [("provider-comms", "service")]


def test_engagement_out_of_order_or_by_the_wrong_role_changes_nothing(reserve):
    p = reserve["people"]
    assessed = request_in(RequestStatus.ASSESSED, reserve)
    before = _counts()
    with pytest.raises(workflow.TransitionRefused, match="only on approved requests"):
        services.engage_provider(actor=p["enisa_triage"], request=assessed, provider=reserve["orgs"]["provider-acme"])
    approved = request_in(RequestStatus.APPROVED, reserve, affected_entity="Another")
    with pytest.raises(PermissionDenied, match="ENISA triage"):
        services.engage_provider(actor=p["enisa_decision"], request=approved, provider=reserve["orgs"]["provider-acme"])
    before = _counts()
    with pytest.raises(ValidationError, match="services the request asks for"):
        services.engage_provider(actor=p["enisa_triage"], request=approved, provider=reserve["orgs"]["provider-acme"],
                                 services=["threat_hunting"])
    assert _counts() == before
    engagement = services.engage_provider(actor=p["enisa_triage"], request=approved,
                                          provider=reserve["orgs"]["provider-acme"])
    with pytest.raises(ValidationError, match="already engaged"):
        services.engage_provider(actor=p["enisa_triage"], request=approved, provider=reserve["orgs"]["provider-acme"])
    with pytest.raises(PermissionDenied, match="provider's staff"):
        services.accept_engagement(actor=p["beta"], engagement=engagement)
    services.accept_engagement(actor=p["provider"], engagement=engagement)
    with pytest.raises(workflow.TransitionRefused, match="accepted"):
        services.decline_engagement(actor=p["provider"], engagement=engagement, reason="Changed our mind")


def test_work_is_logged_against_the_booking_and_never_beyond_it(reserve):
    p = reserve["people"]
    request = request_in(RequestStatus.DEPLOYED, reserve)
    engagement = Engagement.objects.get(request=request)
    today = timezone.localdate()
    services.log_work(actor=p["provider"], engagement=engagement, day=today, person_days=Decimal("19.5"),
                      activity="Triage of 40 hosts")
    before = (WorkLog.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationError, match="19.5 of the 20 booked person-days are already logged"):
        services.log_work(actor=p["provider"], engagement=engagement, day=today, person_days=1, activity="More")
    with pytest.raises(ValidationError) as excinfo:
        services.log_work(actor=p["provider"], engagement=engagement, day=today + timedelta(days=1),
                          person_days="-1", activity=" ")
    assert set(excinfo.value.message_dict) == {"day", "person_days", "activity"}
    with pytest.raises(PermissionDenied):
        services.log_work(actor=p["de_analyst"], engagement=engagement, day=today, person_days="0.5", activity="x")
    assert (WorkLog.objects.count(), AuditEntry.objects.count()) == before
    services.log_work(actor=p["provider"], engagement=engagement, day=today, person_days="0.5", activity="Report")


def test_updates_come_from_the_requester_and_the_provider_only_while_deployed(reserve):
    p = reserve["people"]
    request = request_in(RequestStatus.DEPLOYED, reserve)
    engagement = Engagement.objects.get(request=request)
    services.post_update(actor=p["de_analyst"], engagement=engagement, text="Backups verified")
    update = services.post_update(actor=p["provider"], engagement=engagement, text="Eradication done")
    assert update.organisation.code == "provider-acme"
    with pytest.raises(PermissionDenied):
        services.post_update(actor=p["beta"], engagement=engagement, text="Hello")
    services.close_deployment(actor=p["de_analyst"], request=request)
    engagement.refresh_from_db()
    assert engagement.status == "completed"
    with pytest.raises(workflow.TransitionRefused, match="only while the provider is deployed"):
        services.post_update(actor=p["provider"], engagement=engagement, text="Late")


def test_closing_cancels_offers_still_unanswered(reserve):
    p = reserve["people"]
    request = request_in(RequestStatus.DEPLOYED, reserve)
    offer = services.engage_provider(actor=p["enisa_triage"], request=request, provider=reserve["orgs"]["provider-beta"],
                                     person_days=5)
    services.close_deployment(actor=p["enisa_triage"], request=request)
    offer.refresh_from_db()
    assert offer.status == "cancelled"
    assert not selectors.requests_visible_to(p["beta"]).filter(pk=request.pk).exists()
    assert ReserveDeadline.objects.get(engagement=offer).met_at is not None
