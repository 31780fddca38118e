"""The provider registry's admin writes through the registry services: same checks, audit entry and Event."""

import json

import pytest
from django.contrib.messages import get_messages

from csoa_portal.models import AuditEntry
from liaison.models import Event, User
from reserve.models import ProviderCapacity
from reserve.workflow import RequestStatus
from tests.conftest import verified_client
from tests.reserve import factories as rf

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_session(reserve):
    """ENISA's organisation admin (a network admin) in the Django admin."""
    user = reserve["people"]["enisa_admin"]
    User.objects.filter(pk=user.pk).update(is_staff=True)
    user.refresh_from_db()
    return verified_client(user)


def _form(profile, **changes) -> dict:
    """The admin change form of a profile as a browser posts it, with its committed periods inline."""
    data = {
        "services": json.dumps(profile.services), "languages": json.dumps(profile.languages),
        "sectors": [s.pk for s in profile.sectors.all()], "member_states": [m.pk for m in profile.member_states.all()],
        "certification_status": profile.certification_status,
        "certified_from": profile.certified_from.isoformat(), "certified_until": profile.certified_until.isoformat(),
        "security_clearances": json.dumps(profile.security_clearances),
        "conflicts_of_interest": json.dumps(profile.conflicts_of_interest),
        "response_hours": profile.response_hours, "is_active": "on" if profile.is_active else "",
    }
    capacities = list(profile.capacities.order_by("period_start"))
    data.update({"capacities-TOTAL_FORMS": len(capacities), "capacities-INITIAL_FORMS": len(capacities),
                 "capacities-MIN_NUM_FORMS": 0, "capacities-MAX_NUM_FORMS": 1000})
    for n, c in enumerate(capacities):
        data.update({f"capacities-{n}-id": c.pk, f"capacities-{n}-provider": profile.pk,
                     f"capacities-{n}-period_start": c.period_start.isoformat(),
                     f"capacities-{n}-period_end": c.period_end.isoformat(),
                     f"capacities-{n}-person_days": c.person_days})
    data.update(changes)
    return data


def _url(profile) -> str:
    return f"/admin/reserve/providerprofile/{profile.pk}/change/"


def test_admin_refuses_a_capacity_below_what_is_booked_and_changes_nothing(reserve, admin_session):
    rf.request_in(RequestStatus.DEPLOYED, reserve)  # acme is deployed for 20 person-days
    acme = reserve["profiles"]["acme"]
    audit_before, events_before = AuditEntry.objects.count(), Event.objects.count()
    response = admin_session.post(_url(acme), _form(acme, **{"capacities-0-person_days": 5, "response_hours": 9}))
    assert response.status_code == 302 and response["Location"] == _url(acme)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("20 person-days are already booked" in m for m in said), said
    assert ProviderCapacity.objects.get(provider=acme).person_days == 100
    acme.refresh_from_db()
    assert acme.response_hours == 4  # the profile change in the same save is undone too
    assert (AuditEntry.objects.count(), Event.objects.count()) == (audit_before, events_before)


def test_admin_save_goes_through_the_service_with_its_audit_entry_and_event(reserve, admin_session):
    beta = reserve["profiles"]["beta"]
    response = admin_session.post(_url(beta), _form(beta, response_hours=6, **{"capacities-0-person_days": 80}))
    assert response.status_code == 302 and response["Location"] == "/admin/reserve/providerprofile/"
    beta.refresh_from_db()
    assert beta.response_hours == 6 and beta.capacities.get().person_days == 80
    updated = AuditEntry.objects.filter(action="provider.updated").latest("pk")
    assert updated.after["response_hours"] == 6 and updated.actor_id == reserve["people"]["enisa_admin"].pk
    assert AuditEntry.objects.filter(action="provider.capacity_set").latest("pk").after["person_days"] == 80
    event = Event.objects.filter(kind="provider.updated", subject_id=str(beta.pk)).latest("id")
    assert "capacity" in event.payload["changed"]
    assert any("response_hours" in e.payload["changed"]
               for e in Event.objects.filter(kind="provider.updated", subject_id=str(beta.pk)))


def test_admin_refuses_a_certification_without_its_dates_with_the_services_message(reserve, admin_session):
    gamma = reserve["profiles"]["gamma"]
    response = admin_session.post(_url(gamma), _form(gamma, certified_from=""))
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("certified_from: Say from when the certification" in m for m in said), said
    gamma.refresh_from_db()
    assert gamma.certified_from is not None


def test_a_provider_cannot_be_deleted_in_the_admin_only_deactivated(reserve, admin_session):
    acme = reserve["profiles"]["acme"]
    assert admin_session.post(f"/admin/reserve/providerprofile/{acme.pk}/delete/", {"post": "yes"}).status_code == 403
    assert type(acme).objects.filter(pk=acme.pk).exists()


def test_admin_refuses_to_remove_a_committed_period_with_bookings(reserve, admin_session):
    rf.request_in(RequestStatus.DEPLOYED, reserve)  # acme's period holds 20 booked person-days
    acme = reserve["profiles"]["acme"]
    # Network admins may not delete periods at all; a superuser may, through the service that refuses this one.
    User.objects.filter(pk=reserve["people"]["enisa_admin"].pk).update(is_superuser=True)
    response = admin_session.post(_url(acme), _form(acme, **{"capacities-0-DELETE": "on"}))
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("cannot be removed" in m for m in said), said
    assert ProviderCapacity.objects.filter(provider=acme).count() == 1
