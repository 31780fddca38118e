"""Helpers of the public-warning tests: a cross-border incident with CLEAR and non-CLEAR facts, a circulated warning."""

from datetime import timedelta

import pytest
from django.utils import timezone

from awareness.services import warnings as services
from incidents import services as incident_services
from incidents.models import Sector
from tests import factories


@pytest.fixture
def cross_border(network):
    """A TLP:CLEAR incident of de-csirt affecting DE and FR, with CLEAR and AMBER facts."""
    people = network["people"]
    incident = incident_services.report_incident(
        actor=people["de_analyst"], organisation=network["orgs"]["de-csirt"], title="DDoS on rail ticketing",
        description="Booking systems of rail operators unavailable.", aware_at=timezone.now() - timedelta(hours=3),
        tlp="clear", severity="high", affected_member_states=[factories.member_state("DE"), factories.member_state("FR")],
        sectors=list(Sector.objects.filter(code="transport.rail")[:1]), cross_border_impact=True,
    )
    clear_ip = incident_services.add_observable(actor=people["de_analyst"], incident=incident, type="ipv4",
                                                value="203.0.113.5", tlp="clear")
    amber_ip = incident_services.add_observable(actor=people["de_analyst"], incident=incident, type="ipv4",
                                                value="198.51.100.7", tlp="amber")
    clear_note = incident_services.add_timeline_entry(actor=people["de_analyst"], incident=incident, tlp="clear",
                                                      text="Traffic filtering restored most booking services.")
    red_note = incident_services.add_timeline_entry(actor=people["de_analyst"], incident=incident, tlp="red",
                                                    text="Suspected actor: a named group (source protected).")
    return {"incident": incident, "clear_ip": clear_ip, "amber_ip": amber_ip, "clear_note": clear_note,
            "red_note": red_note, **network}


def draft(cross_border, **changes):
    kwargs = dict(actor=cross_border["people"]["de_analyst"], incident=cross_border["incident"],
                  title="Rail ticketing outages: what travellers should know",
                  body="Several rail booking systems were unavailable.", recommendations="Book at the station.",
                  facts=[f"observable:{cross_border['clear_ip'].pk}", f"timeline:{cross_border['clear_note'].pk}"])
    kwargs.update(changes)
    return services.draft_warning(**kwargs)


def circulated(cross_border, *, hours: int = 24):
    warning = draft(cross_border)
    return services.circulate_warning(actor=cross_border["people"]["de_analyst"], warning=warning,
                                      response_deadline=timezone.now() + timedelta(hours=hours))
