"""The visibility check is SQL written once (incidents.selectors._Granted): it must select what guardian's grants say."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from guardian.shortcuts import get_objects_for_group

from incidents import services
from incidents.models import Incident, Observable
from incidents.selectors import incidents_visible_to
from liaison.models import User
from liaison.services import service_account_for


@pytest.fixture
def spread(network):
    """Incidents of three organisations, one shared with ENISA, each with an observable."""
    people, orgs = network["people"], network["orgs"]
    made = []
    for person, code, tlp in [("de_analyst", "de-csirt", "amber"), ("de_analyst", "de-csirt", "green"),
                              ("fr_analyst", "fr-csirt", "amber")]:
        incident = services.report_incident(actor=people[person], organisation=orgs[code], title=f"{code} {tlp}",
                                            aware_at=timezone.now() - timedelta(hours=1), tlp=tlp)
        services.add_observable(actor=people[person], incident=incident, type="domain", value=f"{incident.pk}.example")
        made.append(incident)
    services.share_incident(actor=people["de_analyst"], incident=made[1], organisations=[orgs["enisa"]])
    return made


def _granted_by_guardian(user) -> set[int]:
    """What the user's groups hold a view grant on, read through guardian's own API."""
    ids = set()
    for group in Group.objects.filter(user=user):
        ids |= set(get_objects_for_group(group, "incidents.view_incident", klass=Incident).values_list("pk", flat=True))
    return ids


def test_each_principal_sees_exactly_the_incidents_its_groups_hold_a_view_grant_on(spread, network):
    principals = [*network["people"].values(), *map(service_account_for, network["orgs"].values())]
    assert any(_granted_by_guardian(p) for p in principals) and any(not _granted_by_guardian(p) for p in principals)
    for person in principals:
        expected = _granted_by_guardian(person)
        assert set(incidents_visible_to(person).values_list("pk", flat=True)) == expected, person
        assert set(incidents_visible_to(person, paged=True).values_list("pk", flat=True)) == expected, person


def test_nested_in_another_query_the_check_still_reads_the_outer_incident(spread, network):
    """Nested (``incident__in=``), the ORM renames the incident table U0: the grant's own alias must not collide."""
    for person in [network["people"]["de_analyst"], service_account_for(network["orgs"]["enisa"])]:
        visible = set(incidents_visible_to(person).values_list("pk", flat=True))
        observed = set(Observable.objects.filter(incident__in=incidents_visible_to(person))
                       .values_list("incident_id", flat=True))
        assert visible and observed == visible


def test_a_principal_in_no_group_sees_no_incident(spread):
    loner = User.objects.create_user(email="loner@example.test", password="x")
    assert not incidents_visible_to(loner).exists()
    assert not incidents_visible_to(loner, paged=True).exists()
