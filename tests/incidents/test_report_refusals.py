"""A refused report leaves nothing written and its caller's transaction usable.

``report_incident`` checks what may refuse a report before its first write and takes a savepoint
only for its tags (a free tag is created with the incident): a scenario, an import or a test that
reports inside its own transaction and catches the refusal carries on in that transaction.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from incidents import services
from incidents.models import Incident, Tag
from liaison.models import Event


def _report(network, **extra):
    fields = {"title": "DDoS on TSO", "aware_at": timezone.now() - timedelta(hours=1), **extra}
    return services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                    **fields)


@pytest.mark.parametrize("refused,names", [
    ({"aware_at": timezone.now() + timedelta(days=1)}, "aware_at"),
    ({"significance": "significant", "significance_grounds": []}, "significance_grounds"),
    ({"early_warning": {"notes": "no summary"}}, "early_warning.summary"),
    ({"tags": ["free-word", "foo:bar"]}, "tags"),
    ({"severity": "apocalyptic"}, "severity"),
])
@pytest.mark.django_db(transaction=True)
def test_a_refused_report_inside_a_transaction_writes_nothing_and_the_transaction_goes_on(network, refused, names):
    incidents, events, tags = Incident.objects.count(), Event.objects.count(), Tag.objects.count()
    with transaction.atomic():
        with pytest.raises(ValidationError) as refusal:
            _report(network, **refused)
        assert names in refusal.value.message_dict
        # The caller's transaction is still usable: the next report in it is written.
        kept = _report(network, tags=["free-word"])
    assert Incident.objects.filter(pk=kept.pk).exists()
    assert Incident.objects.count() == incidents + 1
    assert Event.objects.count() == events + 1
    assert set(Tag.objects.filter(name="free-word").values_list("name", flat=True)) == {"free-word"}
    assert Tag.objects.count() == tags + 1
