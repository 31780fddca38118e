"""load_demo gives the Reserve its demo providers and a request in triage, once."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from csoa_portal.models import AuditEntry
from liaison.models import User
from reserve import selectors
from reserve.demo import DEMO_ENTITY, OFFER_ENTITY
from reserve.models import AssistanceRequest, ProviderCapacity, ProviderProfile

pytestmark = pytest.mark.django_db


def test_load_demo_registers_the_providers_and_puts_a_request_in_the_queue_once():
    call_command("load_demo", "--quiet")
    assert ProviderProfile.objects.count() >= 8
    assert ProviderCapacity.objects.count() == ProviderProfile.objects.count()
    request = AssistanceRequest.objects.get(affected_entity=DEMO_ENTITY)
    assert request.status == "submitted" and request.spoc_organisation.code == "de-spoc"
    triage = User.objects.get(email="triage@enisa.demo")
    assert [r.pk for r in selectors.triage_queue(triage)] == [request.pk]
    assert selectors.ranking_for(request).ranked  # some demo provider fits the demo request
    counts = (ProviderProfile.objects.count(), AssistanceRequest.objects.count(), AuditEntry.objects.count())
    call_command("load_demo", "--quiet")
    assert (ProviderProfile.objects.count(), AssistanceRequest.objects.count(), AuditEntry.objects.count()) == counts


def test_the_demo_provider_has_an_engagement_offer_waiting_with_its_clock():
    call_command("load_demo", "--quiet")
    request = AssistanceRequest.objects.get(affected_entity=OFFER_ENTITY)
    assert request.status == "approved"
    staff = User.objects.get(email="staff@provider-northwatch.demo")
    (offer,) = selectors.offers_waiting(staff).items
    assert offer.request == request and offer.status == "offered" and offer.respond_by > timezone.now()


def test_every_account_of_the_demo_banner_can_do_what_its_label_says(settings):
    """The banner's accounts, one per role, checked against the policies (not by their labels' words)."""
    from incidents import policy as incident_policy
    from incidents.models import Incident
    from incidents.selectors import active_blueprint
    from liaison.management.commands.load_demo import Command
    from reserve import policy
    from reserve.forms import requesting_organisations

    call_command("load_demo", "--quiet")
    accounts = dict((email, label) for label, email in Command().example_accounts())
    person = {email: User.objects.get(email=email) for email in accounts}
    incident = Incident.objects.filter(reporting_organisation__code="de-csirt").first()
    level = {lv.number: lv for lv in active_blueprint().levels.all()}
    triaged = AssistanceRequest.objects.get(affected_entity=DEMO_ENTITY)

    assert requesting_organisations(person["analyst@de-csirt.demo"])
    assert incident_policy.can_edit(person["analyst@de-csirt.demo"], incident)
    assert incident_policy.may_declare_level(person["liaison@de-authority.demo"], incident, level[2])
    assert incident_policy.may_propose_level(person["liaison@fr-authority.demo"], incident, level[3])
    assert incident_policy.may_declare_level(person["liaison@ie-authority.demo"], incident, level[3])
    assert "forward" not in policy.request_actions(person["spoc@de-spoc.demo"], triaged)  # already forwarded
    assert policy.Role.SPOC in policy.roles_for(person["spoc@de-spoc.demo"], triaged)
    assert "assess" in policy.request_actions(person["triage@enisa.demo"], triaged)
    assert policy.capabilities(person["decision@enisa.demo"]).decisions
    assert policy.capabilities(person["staff@provider-northwatch.demo"]).engagements
    assert "decision@ec.demo" not in accounts  # ENISA is the contracting authority: the Commission only follows

    settings.RESERVE_CONTRACTING_AUTHORITY = "ec"
    accounts = {email for _, email in Command().example_accounts()}
    assert "decision@ec.demo" in accounts and "decision@enisa.demo" not in accounts
    assert policy.capabilities(User.objects.get(email="decision@ec.demo")).decisions
