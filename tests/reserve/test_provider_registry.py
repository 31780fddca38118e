"""ENISA keeps the provider registry: profiles, certification, conflicts, committed capacity."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from csoa_portal.models import AuditEntry
from liaison.models import Event
from reserve import selectors, services
from reserve.models import ProviderCapacity, ProviderProfile
from reserve.workflow import RequestStatus
from tests import factories
from tests.reserve.factories import request_in

pytestmark = pytest.mark.django_db


def _counts():
    return ProviderProfile.objects.count(), ProviderCapacity.objects.count(), AuditEntry.objects.count()


def _register(actor, org, **overrides):
    values = dict(services=["malware_analysis"], languages=["et", "en"], member_states=[factories.member_state("EE")],
                  response_hours=6, certification_status="vetted", certified_from=timezone.localdate(),
                  certified_until=timezone.localdate() + timedelta(days=400))
    values.update(overrides)
    return services.register_provider(actor=actor, organisation=org, **values)


@pytest.mark.parametrize("who", ["enisa_admin", "enisa_triage"])
def test_enisa_registers_a_provider_with_its_profile(reserve, who):
    org = factories.organisation("provider-baltic", "reserve_provider", "EE", "Baltic Shield")
    profile = _register(reserve["people"][who], org, conflicts_of_interest="Eesti Energia\n  \nElering",
                        security_clearances=["NATO SECRET (3 staff)"])
    assert profile.conflicts_of_interest == ["Eesti Energia", "Elering"]
    assert AuditEntry.objects.filter(action="provider.registered", object_id=str(profile.pk)).exists()
    event = Event.objects.get(kind="provider.registered", subject_id=str(profile.pk))
    assert set(event.audience.values_list("name", flat=True)) == {"org:provider-baltic", "role:enisa_triage",
                                                                  "network-admins"}


@pytest.mark.parametrize("who", ["de_analyst", "provider", "ec_decision", "enisa_decision"])
def test_only_enisa_network_admins_and_triage_keep_the_registry(reserve, who):
    org = factories.organisation("provider-baltic", "reserve_provider", "EE", "Baltic Shield")
    before = _counts()
    with pytest.raises(PermissionDenied, match="provider registry"):
        _register(reserve["people"][who], org)
    with pytest.raises(PermissionDenied):
        services.update_provider(actor=reserve["people"][who], profile=reserve["profiles"]["acme"], is_active=False)
    assert _counts() == before


def test_only_provider_organisations_are_registered(reserve):
    with pytest.raises(ValidationError, match="not a Reserve provider organisation"):
        _register(reserve["people"]["enisa_admin"], reserve["orgs"]["fr-csirt"])
    with pytest.raises(ValidationError, match="already registered"):
        _register(reserve["people"]["enisa_admin"], reserve["orgs"]["provider-acme"])


def test_bad_profile_values_are_refused_naming_each_field(reserve):
    org = factories.organisation("provider-baltic", "reserve_provider", "EE", "Baltic Shield")
    before = _counts()
    with pytest.raises(ValidationError) as excinfo:
        _register(reserve["people"]["enisa_admin"], org, services=["pentest"], languages=["estonian"],
                  member_states=[], response_hours=0, certification_status="certified", certified_from=None,
                  certified_until=None)
    assert set(excinfo.value.message_dict) == {"services", "languages", "member_states", "response_hours",
                                               "certified_from", "certified_until"}
    assert _counts() == before


def test_an_update_is_audited_with_before_and_after(reserve):
    acme = reserve["profiles"]["acme"]
    services.update_provider(actor=reserve["people"]["enisa_admin"], profile=acme, certification_status="suspended")
    entry = AuditEntry.objects.filter(action="provider.updated").get()
    assert entry.before["certification_status"] == "certified" and entry.after["certification_status"] == "suspended"
    assert Event.objects.filter(kind="provider.updated").last().payload["changed"] == ["certification_status"]
    with pytest.raises(ValidationError, match="cannot be changed here"):
        services.update_provider(actor=reserve["people"]["enisa_admin"], profile=acme, organisation=None)


def test_booked_capacity_comes_from_engagements_and_commitments_cannot_drop_below_it(reserve):
    p = reserve["people"]
    gamma = reserve["profiles"]["gamma"]
    request = request_in(RequestStatus.APPROVED, reserve)
    window = request.window_start
    assert selectors.free_person_days(gamma, window) == 40
    services.engage_provider(actor=p["enisa_triage"], request=request, provider=reserve["orgs"]["provider-gamma"],
                             person_days=15)
    assert selectors.free_person_days(gamma, window) == 25
    capacity = gamma.capacities.get()
    with pytest.raises(ValidationError, match="15 person-days are already booked"):
        services.set_capacity(actor=p["enisa_admin"], profile=gamma, period_start=capacity.period_start,
                              period_end=capacity.period_end, person_days=10)
    with pytest.raises(ValidationError, match="overlaps the committed period"):
        services.set_capacity(actor=p["enisa_admin"], profile=gamma, period_start=capacity.period_start
                              + timedelta(days=1), period_end=capacity.period_end, person_days=10)
    services.set_capacity(actor=p["enisa_admin"], profile=gamma, period_start=capacity.period_start,
                          period_end=capacity.period_end, person_days=55)
    assert selectors.free_person_days(gamma, window) == 40
    overview = {row["provider"]: row for row in selectors.capacity_overview()}
    assert (overview["provider-gamma"]["committed"], overview["provider-gamma"]["booked"]) == (55, 15)
    assert (overview["provider-acme"]["committed"], overview["provider-acme"]["booked"]) == (100, 0)


def test_no_committed_period_means_no_free_capacity(reserve):
    gamma = reserve["profiles"]["gamma"]
    assert selectors.free_person_days(gamma, timezone.localdate() + timedelta(days=400)) == 0
