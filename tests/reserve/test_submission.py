"""Who may request Reserve support, what a request must say, drafts, and routing through the SPOC."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from csoa_portal.models import AuditEntry
from incidents.facts import incident_facts
from incidents.models import Incident
from liaison.models import Event
from reserve import services
from reserve.models import AssistanceRequest, ReserveDeadline
from reserve.selectors import requests_visible_to
from tests.reserve.factories import content, incident

pytestmark = pytest.mark.django_db


def _counts():
    return (AssistanceRequest.objects.count(), AuditEntry.objects.count(), Event.objects.count(),
            ReserveDeadline.objects.count())


@pytest.mark.parametrize("who, org, routed", [
    ("de_analyst", "de-csirt", "de-spoc"),     # a member state's CSIRT: through its SPOC
    ("de_liaison", "de-authority", "de-spoc"),  # its crisis management authority: through its SPOC
    ("de_spoc", "de-spoc", False),             # the SPOC itself files directly
    ("cert_eu", "cert-eu", False),             # CERT-EU directly (Art. 15(3))
    ("no_analyst", "no-csirt", "no-spoc"),     # an eligible DEP-associated third country: through its SPOC (Art. 19(9))
    ("no_spoc", "no-spoc", False),             # the third country's SPOC itself files directly
])
def test_allowed_requesters_submit_and_are_routed_per_art_15_3(reserve, who, org, routed):
    actor = reserve["people"][who]
    linked = incident(actor, reserve["orgs"][org])
    request = services.create_request(actor=actor, organisation=reserve["orgs"][org], **content([linked]))
    services.submit_request(actor=actor, request=request)
    request.refresh_from_db()
    if routed:
        assert request.status == "awaiting_spoc" and request.spoc_organisation.code == routed
        assert request.submitted_at is None
        assert not requests_visible_to(reserve["people"]["enisa_triage"]).filter(pk=request.pk).exists()
        assert requests_visible_to(reserve["people"][routed.replace("-", "_")]).filter(pk=request.pk).exists()
    else:
        assert request.status == "submitted" and request.spoc_organisation is None
        assert request.deadlines.get(clock="response").due_at == request.submitted_at + timedelta(hours=48)
        assert requests_visible_to(reserve["people"]["enisa_triage"]).filter(pk=request.pk).exists()


@pytest.mark.parametrize("who, org", [
    ("de_hub", "de-hub"),                   # a national cyber hub is not a CSoA user
    ("enisa_triage", "enisa"),              # the contracting authority does not request from itself
    ("provider", "provider-acme"),          # a provider
])
def test_refused_kinds_cannot_even_start_a_draft(reserve, who, org):
    before = _counts()
    with pytest.raises(ValidationError) as excinfo:
        services.create_request(actor=reserve["people"][who], organisation=reserve["orgs"][org],
                                affected_entity="Anything")
    assert "may not request Reserve support" in excinfo.value.message_dict["organisation"][0]
    assert _counts() == before


def test_acting_for_an_organisation_one_is_not_a_member_of_is_refused(reserve):
    with pytest.raises(PermissionDenied, match="do not act for de-csirt"):
        services.create_request(actor=reserve["people"]["fr_analyst"], organisation=reserve["orgs"]["de-csirt"])


def test_a_draft_can_be_saved_empty_and_completed_before_submission(reserve):
    de = reserve["people"]["de_analyst"]
    request = services.create_request(actor=de, organisation=reserve["orgs"]["de-csirt"])
    assert request.status == "draft"
    assert set(services.missing_content(request)) == set(services.REQUIRED)
    full = content([reserve["incident"]])
    request = services.update_request(actor=de, request=request, affected_entity=full.pop("affected_entity"))
    assert "affected_entity" not in services.missing_content(request)
    request = services.update_request(actor=de, request=request, **full)
    assert services.missing_content(request) == {}
    services.submit_request(actor=de, request=request)


def test_submitting_an_incomplete_request_names_every_missing_field_and_changes_nothing(reserve):
    de = reserve["people"]["de_analyst"]
    request = services.create_request(actor=de, organisation=reserve["orgs"]["de-csirt"],
                                      **content([reserve["incident"]], measures_confirmed=False, planned_use="",
                                                languages=[]))
    before = _counts()
    with pytest.raises(ValidationError) as excinfo:
        services.submit_request(actor=de, request=request)
    errors = excinfo.value.message_dict
    assert set(errors) == {"measures_confirmed", "planned_use", "languages"}
    assert "Art. 15(2)" in errors["measures_confirmed"][0]
    assert _counts() == before
    assert AssistanceRequest.objects.get(pk=request.pk).status == "draft"


def test_bad_values_are_refused_naming_the_field(reserve):
    de = reserve["people"]["de_analyst"]
    with pytest.raises(ValidationError) as excinfo:
        services.create_request(actor=de, organisation=reserve["orgs"]["de-csirt"], services=["pentest"],
                                languages=["german"], person_days=0, urgency="asap", sector="nuclear",
                                window_start="2026-05-10", window_end="2026-05-01", colour="blue")
    assert set(excinfo.value.message_dict) == {"services", "languages", "person_days", "urgency", "sector",
                                               "window_end", "colour"}
    assert AssistanceRequest.objects.count() == 0


def test_linking_an_incident_the_requester_cannot_see_is_refused_naming_it(reserve):
    pt_incident = incident(reserve["people"]["pt_analyst"], reserve["orgs"]["pt-csirt"], title="PT only")
    de = reserve["people"]["de_analyst"]
    before = _counts()
    with pytest.raises(ValidationError) as excinfo:
        services.create_request(actor=de, organisation=reserve["orgs"]["de-csirt"],
                                **content([reserve["incident"], pt_incident]))
    (message,) = excinfo.value.message_dict["incidents"]
    assert f"Incident {pt_incident.pk} does not exist or is not visible to you" in message
    assert "PT only" not in message  # nothing of the hidden incident leaks
    assert _counts() == before


def test_linking_an_incident_shared_with_the_requester_is_refused_only_its_originator_links_it(reserve):
    """A recipient's action never widens an incident's audience (issue 12): the link would expose it."""
    from incidents import services as incident_services

    fr_incident = incident(reserve["people"]["fr_analyst"], reserve["orgs"]["fr-csirt"])
    incident_services.share_incident(actor=reserve["people"]["fr_analyst"], incident=fr_incident,
                                     organisations=[reserve["orgs"]["de-csirt"]])
    before = _counts()
    with pytest.raises(ValidationError, match="only its originating organisation may link it"):
        services.create_request(actor=reserve["people"]["de_analyst"], organisation=reserve["orgs"]["de-csirt"],
                                **content([fr_incident]))
    assert _counts() == before


def test_a_submitted_request_is_immutable_except_through_its_workflow(reserve):
    de = reserve["people"]["de_analyst"]
    request = services.create_request(actor=de, organisation=reserve["orgs"]["de-csirt"],
                                      **content([reserve["incident"]]))
    services.submit_request(actor=de, request=request)
    with pytest.raises(ValidationError, match="cannot be edited"):
        services.update_request(actor=de, request=request, affected_entity="Someone else")
    assert AssistanceRequest.objects.get(pk=request.pk).affected_entity == "Stadtwerke Beispiel GmbH"


def test_a_member_state_without_a_registered_spoc_is_told_to_have_it_registered(reserve):
    fr = reserve["people"]["fr_analyst"]
    request = services.create_request(actor=fr, organisation=reserve["orgs"]["fr-csirt"],
                                      **content([incident(fr, reserve["orgs"]["fr-csirt"])]))
    with pytest.raises(ValidationError, match="FR has no NIS2 single point of contact"):
        services.submit_request(actor=fr, request=request)
    assert AssistanceRequest.objects.get(pk=request.pk).status == "draft"


def _third_country_csirt(reserve, code: str, *, eligible: bool):
    """A CSIRT of a DEP-associated third country, with the country's Reserve flag as ENISA set it."""
    from liaison import services as liaison_services
    from tests import factories

    country = factories.member_state(code)
    liaison_services.update_member_state(actor=reserve["people"]["enisa_admin"], member_state=country,
                                         name=country.name, kind=country.kind, reserve_eligible=eligible)
    org = factories.organisation(f"{code.lower()}-csirt", "national_csirt", code, f"CSIRT {country.name}")
    person = factories.person(f"analyst@{code.lower()}-csirt.example", org, ["analyst"])
    return org, person


def test_csoa_art19_9_a_third_country_request_without_its_spoc_is_refused_naming_whom_to_register(reserve):
    org, analyst = _third_country_csirt(reserve, "TR", eligible=True)  # Türkiye: no SPOC registered
    request = services.create_request(actor=analyst, organisation=org, **content([incident(analyst, org)]))
    before = _counts()
    with pytest.raises(ValidationError) as excinfo:
        services.submit_request(actor=analyst, request=request)
    (message,) = excinfo.value.message_dict["organisation"]
    assert "Türkiye (TR) has no single point of contact registered" in message
    assert "CSoA Art. 19(9)" in message and "never straight to the contracting authority" in message
    assert "ask ENISA to register Türkiye's single point of contact" in message
    assert _counts() == before
    request.refresh_from_db()
    assert (request.status, request.spoc_organisation, request.requester_submitted_at) == ("draft", None, None)
    assert not requests_visible_to(reserve["people"]["enisa_triage"]).filter(pk=request.pk).exists()


def test_csoa_art19_9_the_same_request_goes_through_the_spoc_once_registered(reserve):
    from tests import factories

    org, analyst = _third_country_csirt(reserve, "TR", eligible=True)
    request = services.create_request(actor=analyst, organisation=org, **content([incident(analyst, org)]))
    factories.organisation("tr-spoc", "spoc", "TR", "Türkiye's single point of contact")
    services.submit_request(actor=analyst, request=request)
    request.refresh_from_db()
    assert request.status == "awaiting_spoc" and request.spoc_organisation.code == "tr-spoc"


@pytest.mark.parametrize("eligible", [False, True])
def test_csoa_art19_only_a_third_country_eligible_under_its_association_agreement_may_request(reserve, eligible):
    org, analyst = _third_country_csirt(reserve, "UA", eligible=eligible)
    before = _counts()
    if eligible:
        services.create_request(actor=analyst, organisation=org, affected_entity="Ukrenergo")
        return
    with pytest.raises(ValidationError) as excinfo:
        services.create_request(actor=analyst, organisation=org, affected_entity="Ukrenergo")
    (message,) = excinfo.value.message_dict["organisation"]
    assert "Ukraine (UA)" in message and "CSoA Art. 14(3)(c) and Art. 19" in message
    assert _counts() == before


def test_csoa_art19_a_third_country_made_ineligible_cannot_submit_its_draft(reserve):
    from liaison import services as liaison_services

    analyst, org = reserve["people"]["no_analyst"], reserve["orgs"]["no-csirt"]
    request = services.create_request(actor=analyst, organisation=org, **content([incident(analyst, org)]))
    norway = org.member_state
    liaison_services.update_member_state(actor=reserve["people"]["enisa_admin"], member_state=norway,
                                         name=norway.name, kind=norway.kind, reserve_eligible=False)
    request.requester_organisation.refresh_from_db()
    with pytest.raises(ValidationError, match="Art. 19"):
        services.submit_request(actor=analyst, request=request)
    assert AssistanceRequest.objects.get(pk=request.pk).status == "draft"


def test_turkiye_is_a_dep_associated_third_country_not_eligible_until_enisa_says_so():
    from liaison.models import MemberState

    turkiye = MemberState.objects.get(code="TR")
    assert (turkiye.name, turkiye.kind, turkiye.reserve_eligible) == ("Türkiye", "dep_associated", False)
    assert not MemberState.objects.filter(reserve_eligible=True).exists()  # default off for every country


def test_only_a_third_country_carries_the_reserve_flag(reserve):
    from liaison import services as liaison_services
    from tests import factories

    germany = factories.member_state("DE")
    with pytest.raises(ValidationError) as excinfo:
        liaison_services.update_member_state(actor=reserve["people"]["enisa_admin"], member_state=germany,
                                             name=germany.name, kind=germany.kind, reserve_eligible=True)
    assert "Art. 19" in excinfo.value.message_dict["reserve_eligible"][0]
    germany.refresh_from_db()
    assert germany.reserve_eligible is False


def test_submission_through_the_spoc_informs_the_networks_with_a_notice_and_enisa_in_detail(reserve):
    p = reserve["people"]
    request = services.create_request(actor=p["de_analyst"], organisation=reserve["orgs"]["de-csirt"],
                                      **content([reserve["incident"]]))
    services.submit_request(actor=p["de_analyst"], request=request)
    routed = Event.objects.get(kind="request.routed")
    assert set(routed.audience.values_list("name", flat=True)) == {"org:de-csirt", "org:de-spoc"}
    assert not Event.objects.filter(kind="request.submitted").exists()
    services.forward_request(actor=p["de_spoc"], request=request, note="Endorsed")
    notice = Event.objects.get(kind="request.submitted", subject_type="reserve_notice")
    assert set(notice.audience.values_list("name", flat=True)) == {"community:csirts-network", "community:eu-cyclone"}
    assert notice.payload == {"reference": request.reference, "requester": "de-csirt", "member_state": "DE",
                              "urgency": "immediate"}
    detailed = Event.objects.get(kind="request.submitted", subject_type="assistance_request")
    assert set(detailed.audience.values_list("name", flat=True)) == {
        "org:de-csirt", "org:de-spoc", "org:enisa", "org:ec", "role:enisa_triage"}
    assert "Stadtwerke" not in str(detailed.payload) and "Stadtwerke" not in str(notice.payload)


def test_the_spoc_may_return_a_request_to_the_requester_as_a_draft(reserve):
    p = reserve["people"]
    request = services.create_request(actor=p["de_analyst"], organisation=reserve["orgs"]["de-csirt"],
                                      **content([reserve["incident"]]))
    services.submit_request(actor=p["de_analyst"], request=request)
    with pytest.raises(ValidationError, match="Say why"):
        services.return_request(actor=p["de_spoc"], request=request, reason=" ")
    services.return_request(actor=p["de_spoc"], request=request, reason="Add the PLC inventory")
    request.refresh_from_db()
    assert request.status == "draft"
    services.update_request(actor=p["de_analyst"], request=request, planned_use="Forensics of the PLCs")


def test_a_submitted_request_alone_never_makes_its_incident_large_scale(reserve, django_capture_on_commit_callbacks):
    """CSoA Art. 14(1), 15(1): the Reserve also serves significant incidents; a request is a fact, not an escalation."""
    p = reserve["people"]
    linked = reserve["incident"]
    before = Incident.objects.get(pk=linked.pk).crisis_level
    assert before < 2
    request = services.create_request(actor=p["de_analyst"], organisation=reserve["orgs"]["de-csirt"],
                                      **content([linked]))
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_request(actor=p["de_analyst"], request=request)
    linked = Incident.objects.get(pk=linked.pk)
    assert linked.crisis_level == before
    assert incident_facts(linked, now=timezone.now())["reserve_requested"] is True  # the engine sees the fact


def test_an_ended_window_cannot_be_submitted(reserve):
    de = reserve["people"]["de_analyst"]
    today = timezone.localdate()
    request = services.create_request(actor=de, organisation=reserve["orgs"]["de-csirt"], **content(
        [reserve["incident"]], window_start=today - timedelta(days=10), window_end=today - timedelta(days=1)))
    with pytest.raises(ValidationError, match="already ended"):
        services.submit_request(actor=de, request=request)
