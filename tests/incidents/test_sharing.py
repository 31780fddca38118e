"""Who sees an incident: every TLP label × every share target, on every read path built so far."""

import itertools
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from incidents import services, tlp as tlp_rules
from incidents.selectors import incident_visible_to, incidents_visible_to
from incidents.vocabulary import TLP
from liaison.roles import Community
from liaison.selectors import events_visible_to
from tests.factories import member_state

VIEWERS = ["de_analyst", "fr_analyst", "pt_analyst", "enisa_triage", "provider"]

# target kind -> (how to share, who gains access besides the originator)
TARGETS = {
    "organisation": (lambda n: {"organisations": [n["orgs"]["fr-csirt"]]}, {"fr_analyst"}),
    "member_state": (lambda n: {"member_states": [member_state("FR")]}, {"fr_analyst"}),
    "community": (lambda n: {"communities": [Community.CSIRTS_NETWORK]}, {"fr_analyst", "pt_analyst", "enisa_triage"}),
    "person": (lambda n: {"people": [n["people"]["enisa_triage"]]}, {"enisa_triage"}),
}


def _report(network, tlp=TLP.AMBER):
    return services.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title="Ransomware at a DSO",
        aware_at=timezone.now() - timedelta(hours=2), tlp=tlp,
    )


def _sees(user, incident) -> dict:
    """What each read path tells this user about the incident."""
    listed = incidents_visible_to(user).filter(pk=incident.pk).exists()
    try:
        incident_visible_to(user, incident.pk)
        detail = True
    except Http404:
        detail = False
    events, _ = events_visible_to(user, after=0, limit=1000)
    in_feed = any(e.subject_type == "incident" and e.subject_id == str(incident.pk) for e in events)
    return {"list": listed, "detail": detail, "events": in_feed}


@pytest.mark.parametrize("label,target", list(itertools.product(TLP.values, TARGETS)))
def test_each_read_path_shows_exactly_what_tlp_and_sharing_allow(network, label, target):
    incident = _report(network, tlp=label)
    share_kwargs, gains = TARGETS[target]
    refusal = tlp_rules.share_refusal(tlp=label, target_kind=target)
    if refusal:
        with pytest.raises(ValidationError, match="Refused"):
            services.share_incident(actor=network["people"]["de_analyst"], incident=incident, **share_kwargs(network))
        gains = set()
    else:
        services.share_incident(actor=network["people"]["de_analyst"], incident=incident, **share_kwargs(network))
    for name in VIEWERS:
        expected = name == "de_analyst" or name in gains
        seen = _sees(network["people"][name], incident)
        assert seen == {"list": expected, "detail": expected, "events": expected}, (name, label, target)


@pytest.mark.parametrize(
    "label,target,message",
    [
        (TLP.RED, "organisation", "TLP:RED is for named recipients only"),
        (TLP.RED, "member_state", "TLP:RED is for named recipients only"),
        (TLP.RED, "community", "TLP:RED is for named recipients only"),
        (TLP.AMBER_STRICT, "member_state", "TLP:AMBER+STRICT is for the recipient organisation only"),
        (TLP.AMBER_STRICT, "community", "TLP:AMBER+STRICT is for the recipient organisation only"),
        (TLP.AMBER, "community", "not with a whole community"),
    ],
)
def test_refused_share_names_the_tlp_rule_and_writes_nothing(network, label, target, message):
    incident = _report(network, tlp=label)
    share_kwargs, _ = TARGETS[target]
    with pytest.raises(ValidationError) as excinfo:
        services.share_incident(actor=network["people"]["de_analyst"], incident=incident, **share_kwargs(network))
    assert message in str(excinfo.value.message_dict["targets"])
    assert incident.shares.count() == 0


def test_a_mixed_share_with_one_forbidden_target_shares_with_nobody(network):
    incident = _report(network, tlp=TLP.AMBER)
    with pytest.raises(ValidationError):
        services.share_incident(
            actor=network["people"]["de_analyst"], incident=incident,
            organisations=[network["orgs"]["fr-csirt"]], communities=[Community.EU_CYCLONE],
        )
    assert not incidents_visible_to(network["people"]["fr_analyst"]).exists()


def test_unsharing_revokes_access_on_every_read_path_at_once(network):
    incident = _report(network)
    (share,) = services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                                       organisations=[network["orgs"]["fr-csirt"]])
    assert _sees(network["people"]["fr_analyst"], incident) == {"list": True, "detail": True, "events": True}
    services.unshare_incident(actor=network["people"]["de_analyst"], share=share)
    assert _sees(network["people"]["fr_analyst"], incident) == {"list": False, "detail": False, "events": False}


def test_recipient_may_not_reshare(network):
    incident = _report(network, tlp=TLP.GREEN)
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"]])
    with pytest.raises(PermissionDenied):
        services.share_incident(actor=network["people"]["fr_analyst"], incident=incident,
                                organisations=[network["orgs"]["pt-csirt"]])


def test_lowering_tlp_is_reserved_to_the_originator_and_raising_must_fit_existing_shares(network):
    incident = _report(network, tlp=TLP.GREEN)
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            communities=[Community.CSIRTS_NETWORK])
    with pytest.raises(PermissionDenied):
        services.change_tlp(actor=network["people"]["fr_analyst"], incident=incident, tlp=TLP.CLEAR)
    with pytest.raises(ValidationError, match="revoke them first"):
        services.change_tlp(actor=network["people"]["de_analyst"], incident=incident, tlp=TLP.AMBER)
    incident = services.change_tlp(actor=network["people"]["de_analyst"], incident=incident, tlp=TLP.CLEAR)
    assert incident.tlp == TLP.CLEAR


def test_non_originator_lowering_is_refused_by_the_rule():
    assert "Only the originating organisation may lower" in tlp_rules.tlp_change_refusal(
        current=TLP.AMBER, new=TLP.GREEN, by_originator=False, shared_kinds=set()
    )


def test_awareness_in_the_future_is_refused(network):
    with pytest.raises(ValidationError, match="cannot be in the future"):
        services.report_incident(actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"],
                                 title="x", aware_at=timezone.now() + timedelta(hours=1))


def test_reporting_for_another_organisation_is_refused(network):
    with pytest.raises(PermissionDenied):
        services.report_incident(actor=network["people"]["pt_analyst"], organisation=network["orgs"]["de-csirt"],
                                 title="x", aware_at=timezone.now())
