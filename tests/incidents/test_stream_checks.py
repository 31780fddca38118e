"""The live stream's batched re-check answers exactly as the per-user selectors do, for many users at once."""

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents import services, tlp as tlp_rules
from incidents.models import Alert
from incidents.selectors import visible_alert_ids, visible_incident_ids
from incidents.vocabulary import TLP
from liaison.events import visible_subject_ids_for_users
from liaison.selectors import StreamCredential, settled_events_after, stream_visibility
from liaison import services as liaison_services
from tests import factories
from tests.incidents.test_sharing import TARGETS, VIEWERS


def _report(network, *, tlp=TLP.AMBER, **facts):
    return services.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title="Grid outage",
        aware_at=timezone.now() - timedelta(hours=2), tlp=tlp, **facts,
    )


def _everyone(network, names=None) -> dict[int, tuple[object, set[int]]]:
    people = [network["people"][n] for n in (names or network["people"])]
    return {p.pk: (p, set(p.groups.values_list("id", flat=True))) for p in people}


@pytest.mark.parametrize("label,target", list(itertools.product(TLP.values, TARGETS)))
def test_batched_incident_check_matches_the_per_user_selector(network, label, target):
    shared, private = _report(network, tlp=label), _report(network, tlp=label)
    if not tlp_rules.share_refusal(tlp=label, target_kind=target):
        services.share_incident(actor=network["people"]["de_analyst"], incident=shared, **TARGETS[target][0](network))
    ids = {str(shared.pk), str(private.pk), "999999", "not-a-number"}
    users = _everyone(network, VIEWERS)
    batched = visible_subject_ids_for_users(users, "incident", ids)
    assert batched == {pk: visible_incident_ids(user, ids) for pk, (user, _) in users.items()}
    assert batched[network["people"]["de_analyst"].pk] == {str(shared.pk), str(private.pk)}


@pytest.mark.django_db(transaction=True)  # the escalation that raises alerts runs on commit
def test_batched_alert_check_sees_own_alerts_of_incidents_not_shared(network):
    red = _report(network, tlp=TLP.RED, national_capacity_exceeded=True)  # alerted, never shared
    amber = _report(network, tlp=TLP.AMBER, national_capacity_exceeded=True)
    services.consent_to_network_sharing(actor=network["people"]["de_analyst"], incident=amber)
    ids = {str(pk) for pk in Alert.objects.values_list("pk", flat=True)} | {"0"}
    users = _everyone(network)
    batched = visible_subject_ids_for_users(users, "alert", ids)
    assert batched == {pk: visible_alert_ids(user, ids) for pk, (user, _) in users.items()}
    assert Alert.objects.filter(incident=red).count() > 1 and Alert.objects.filter(incident=amber).exists()
    own_red = {str(a.pk) for a in Alert.objects.filter(incident=red, organisation__code="de-authority")}
    amber_alerts = {str(a.pk) for a in Alert.objects.filter(incident=amber)}  # shared with them by consent
    assert batched[network["people"]["de_liaison"].pk] == own_red | amber_alerts
    assert batched[network["people"]["provider"].pk] == set()  # in neither network: never alerted
    red_alerts = {str(a.pk) for a in Alert.objects.filter(incident=red)}
    enisa_red = {str(a.pk) for a in Alert.objects.filter(incident=red, organisation__code="enisa")}
    assert red_alerts & batched[network["people"]["enisa_triage"].pk] == enisa_red  # its own, not the others'


def test_stream_recheck_costs_the_same_queries_for_one_user_and_for_many(network):
    _report(network, national_capacity_exceeded=True)
    events, _, _ = settled_events_after(0, limit=1000)
    token, _ = liaison_services.issue_api_token(actor=None, organisation=network["orgs"]["de-authority"], name="SOC",
                                                scopes="read", days=1)
    credential = StreamCredential(token_id=token.pk)  # one credential for all: the user part is what grows

    def queries_for(users):
        with CaptureQueriesContext(connection) as ctx:
            results = stream_visibility([(user, credential, events) for user in users])
        return len(ctx.captured_queries), results

    few = [network["people"]["de_liaison"]]
    many = few + [factories.person(f"officer{i}@de-authority.example", network["orgs"]["de-authority"],
                                   ["liaison_officer"]) for i in range(30)]
    n_few, _ = queries_for(few)
    n_many, results = queries_for(many)
    assert n_few == n_many
    assert all(r == results[0] for r in results) and results[0]  # every officer of the authority sees the same events
