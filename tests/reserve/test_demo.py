"""load_demo gives the Reserve its demo providers and a request in triage, once."""

import pytest
from django.core.management import call_command

from csoa_portal.models import AuditEntry
from liaison.models import User
from reserve import selectors
from reserve.models import AssistanceRequest, ProviderCapacity, ProviderProfile

pytestmark = pytest.mark.django_db


def test_load_demo_registers_the_providers_and_puts_a_request_in_the_queue_once():
    call_command("load_demo", "--quiet")
    assert ProviderProfile.objects.count() >= 8
    assert ProviderCapacity.objects.count() == ProviderProfile.objects.count()
    (request,) = AssistanceRequest.objects.all()
    assert request.status == "submitted" and request.spoc_organisation.code == "de-spoc"
    triage = User.objects.get(email="triage@enisa.demo")
    assert [r.pk for r in selectors.triage_queue(triage)] == [request.pk]
    assert selectors.ranking_for(request).ranked  # some demo provider fits the demo request
    counts = (ProviderProfile.objects.count(), AssistanceRequest.objects.count(), AuditEntry.objects.count())
    call_command("load_demo", "--quiet")
    assert (ProviderProfile.objects.count(), AssistanceRequest.objects.count(), AuditEntry.objects.count()) == counts
