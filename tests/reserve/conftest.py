"""The Reserve's network on top of the shared one: a SPOC, decision-makers, providers, a third country."""

import pytest

from incidents.models import Incident
from liaison import services as liaison_services
from liaison.models import Organisation, User
from reserve.models import ProviderProfile
from tests import factories, snapshots
from tests.reserve import factories as reserve_factories

_reserve_replayer = snapshots.Replayer()
PROFILES = {"acme": "provider-acme", "beta": "provider-beta", "gamma": "provider-gamma"}


@pytest.fixture
def reserve(network):
    """``network`` plus de-spoc, ENISA and Commission decision-makers, three registered providers,
    a DEP-associated third country (Norway, eligible for the Reserve) with its CSIRT and its Art. 19(9)
    single point of contact, a refused kind (national hub) and an incident of de-csirt.

    Built through the services the first time on a database state, replayed after (tests/snapshots.py).
    """
    return _reserve_replayer(lambda: _build(network), lambda: _fetch(network))


# What the last build returned, by organisation code and by person's e-mail, to read the same back after a replay.
_built = {"orgs": [], "people": {}, "incident": None}


def _fetch(network) -> dict:
    orgs = {o.code: o for o in Organisation.objects.filter(code__in=_built["orgs"]).select_related("member_state")}
    users = {u.email: u for u in User.objects.filter(email__in=_built["people"].values())}
    profiles = {p.organisation.code: p for p in ProviderProfile.objects.select_related("organisation")}
    return {"orgs": {code: orgs[code] for code in _built["orgs"]},
            "people": {key: users[email] for key, email in _built["people"].items()},
            "profiles": {name: profiles[code] for name, code in PROFILES.items()},
            "incident": Incident.objects.get(pk=_built["incident"])}


def _build(network) -> dict:
    f = factories
    orgs, people = dict(network["orgs"]), dict(network["people"])
    orgs["de-spoc"] = f.organisation("de-spoc", "spoc", "DE", "BSI — NIS2 single point of contact")
    orgs["de-hub"] = f.organisation("de-hub", "national_hub", "DE", "German national cyber hub")
    # ENISA records that Norway's association agreement provides for the Reserve (CSoA Art. 19).
    norway = f.member_state("NO")
    liaison_services.update_member_state(actor=people["enisa_admin"], member_state=norway, name=norway.name,
                                         kind=norway.kind, reserve_eligible=True)
    orgs["no-csirt"] = f.organisation("no-csirt", "national_csirt", "NO", "NCSC Norway")
    orgs["no-spoc"] = f.organisation("no-spoc", "spoc", "NO", "NSM — Norway's single point of contact")
    people["de_spoc"] = f.person("spoc@de-spoc.example", orgs["de-spoc"], ["analyst"])
    people["de_hub"] = f.person("analyst@de-hub.example", orgs["de-hub"], ["analyst"])
    people["no_analyst"] = f.person("analyst@no-csirt.example", orgs["no-csirt"], ["analyst"])
    people["no_spoc"] = f.person("spoc@no-spoc.example", orgs["no-spoc"], ["analyst"])
    people["cert_eu"] = f.person("analyst@cert-eu.example", orgs["cert-eu"], ["analyst"])
    people["enisa_decision"] = f.person("decision@enisa.example", orgs["enisa"], ["decision_maker"])
    people["ec_decision"] = f.person("decision@ec.example", orgs["ec"], ["decision_maker"])
    admin = people["enisa_admin"]
    acme = reserve_factories.provider(admin, "provider-acme", "DE", member_states=("DE", "FR", "EU", "NO"))
    beta = reserve_factories.provider(admin, "provider-beta", "FR", staff_email="staff@beta.example",
                                      response_hours=8, person_days=60)
    gamma = reserve_factories.provider(admin, "provider-gamma", "PT", staff_email="staff@gamma.example",
                                       response_hours=24, person_days=40)
    orgs["provider-beta"], orgs["provider-gamma"] = beta.organisation, gamma.organisation
    people["beta"] = beta.organisation.memberships.get().user
    people["gamma"] = gamma.organisation.memberships.get().user
    incident = reserve_factories.incident(people["de_analyst"], orgs["de-csirt"])
    _built.update(orgs=list(orgs), people={key: user.email for key, user in people.items()}, incident=incident.pk)
    return {"orgs": orgs, "people": people, "profiles": {"acme": acme, "beta": beta, "gamma": gamma},
            "incident": incident}
