"""The public-warning workflow: who drafts and answers, the states, the clocks, the embargo release."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from freezegun import freeze_time

from awareness.models import PublicWarning, WarningParticipation
from awareness.selectors import warnings as selectors
from awareness.services import warnings as services
from csoa_portal import sweep
from incidents import services as incident_services
from liaison.models import Event
from tests import factories
from tests.awareness import warnings_support
from tests.awareness.warnings_support import circulated, draft

cross_border = warnings_support.cross_border  # the fixture

pytestmark = pytest.mark.django_db


def _answer(warning, person, response="agreed", **kw):
    return services.respond_to_warning(actor=person, warning=warning, response=response, **kw)


def _states(warning):
    return {p.member_state.code: p.response for p in warning.participations.select_related("member_state")}


def test_the_reporting_csirt_drafts_one_participation_per_affected_state(cross_border):
    warning = draft(cross_border)
    assert warning.status == "draft"
    assert _states(warning) == {"DE": "pending", "FR": "pending"}
    assert sorted(warning.facts.values_list("text", flat=True)) == [
        "203.0.113.5", "Traffic filtering restored most booking services."]


def test_an_organisation_that_does_not_see_the_incident_gets_404(cross_border):
    with pytest.raises(Http404):
        draft(cross_border, actor=cross_border["people"]["fr_analyst"])
    assert not PublicWarning.objects.exists()


def test_a_provider_who_sees_the_incident_may_not_draft(cross_border):
    incident_services.share_incident(actor=cross_border["people"]["de_analyst"], incident=cross_border["incident"],
                                     organisations=[cross_border["orgs"]["provider-acme"]])
    with pytest.raises(PermissionDenied, match="ENISA, the reporting member state"):
        draft(cross_border, actor=cross_border["people"]["provider"])
    assert not PublicWarning.objects.exists()


def test_an_incident_of_one_state_is_not_cross_border(network):
    incident = incident_services.report_incident(
        actor=network["people"]["de_analyst"], organisation=network["orgs"]["de-csirt"], title="Local outage",
        aware_at=timezone.now(), tlp="clear", affected_member_states=[factories.member_state("DE")])
    with pytest.raises(ValidationError, match="not cross-border"):
        services.draft_warning(actor=network["people"]["de_analyst"], incident=incident, title="x")


def test_a_non_clear_fact_is_refused_by_name_and_nothing_is_written(cross_border):
    with pytest.raises(ValidationError) as refused:
        draft(cross_border, facts=[f"observable:{cross_border['clear_ip'].pk}",
                                   f"observable:{cross_border['amber_ip'].pk}"])
    assert "198.51.100.7" in refused.value.message_dict["facts"][0]
    assert "TLP:AMBER" in refused.value.message_dict["facts"][0]
    assert not PublicWarning.objects.exists()


def test_revising_with_a_red_fact_changes_nothing(cross_border):
    warning = draft(cross_border)
    with pytest.raises(ValidationError, match="TLP:RED"):
        services.revise_warning(actor=cross_border["people"]["de_analyst"], warning=warning, title="New title",
                                facts=[f"timeline:{cross_border['red_note'].pk}"])
    warning.refresh_from_db()
    assert warning.title.startswith("Rail ticketing") and warning.facts.count() == 2


def test_the_facts_panel_marks_each_fact_clear_or_not(cross_border):
    facts = {f.text: f for f in selectors.citable_facts(cross_border["people"]["de_analyst"],
                                                        cross_border["incident"])}
    assert facts["203.0.113.5"].clear and not facts["198.51.100.7"].clear
    assert "TLP:AMBER" in facts["198.51.100.7"].why_not
    assert not facts["Suspected actor: a named group (source protected)."].clear
    assert facts["Germany"].clear and facts["DDoS on rail ticketing"].clear


def test_circulating_sets_the_deadline_tells_the_concerned_authorities_and_shows_them_the_warning(cross_border):
    people = cross_border["people"]
    warning = draft(cross_border)
    assert not selectors.warnings_visible_to(people["fr_analyst"]).filter(pk=warning.pk).exists()
    warning = circulated_warning = services.circulate_warning(
        actor=people["de_analyst"], warning=warning, response_deadline=timezone.now() + timedelta(hours=12))
    assert circulated_warning.status == "circulated"
    event = Event.objects.filter(kind="warning.circulated").get()
    assert set(event.payload["recipient_groups"]) == {"org:de-csirt", "org:de-authority", "org:fr-csirt"}
    for who in ("fr_analyst", "de_liaison", "enisa_triage"):
        assert selectors.warnings_visible_to(people[who]).filter(pk=warning.pk).exists(), who
    for who in ("pt_analyst", "provider"):
        assert not selectors.warnings_visible_to(people[who]).filter(pk=warning.pk).exists(), who


def test_a_deadline_in_the_past_is_refused(cross_border):
    warning = draft(cross_border)
    with pytest.raises(ValidationError, match="in the past"):
        services.circulate_warning(actor=cross_border["people"]["de_analyst"], warning=warning,
                                   response_deadline=timezone.now() - timedelta(minutes=1))
    warning.refresh_from_db()
    assert warning.status == "draft" and warning.response_deadline is None


def test_only_the_drafter_circulates(cross_border):
    warning = circulated(cross_border)
    with pytest.raises(PermissionDenied):
        services.schedule_release(actor=cross_border["people"]["fr_analyst"], warning=warning,
                                  publish_at=timezone.now() + timedelta(days=2))


def test_each_concerned_authority_answers_for_its_own_state(cross_border):
    people = cross_border["people"]
    warning = circulated(cross_border)
    _answer(warning, people["fr_analyst"], "changes_proposed", proposed_text="Mention the SNCF hotline.")
    _answer(warning, people["de_liaison"], own_language="de", own_title="Störungen im Bahnticketverkauf",
            own_text="Mehrere Buchungssysteme waren nicht erreichbar.")
    assert _states(warning) == {"DE": "agreed", "FR": "changes_proposed"}
    fr = warning.participations.get(member_state__code="FR")
    assert fr.responded_by == people["fr_analyst"] and fr.responding_organisation.code == "fr-csirt"


def test_a_state_not_concerned_cannot_agree_and_nothing_changes(cross_border):
    people = cross_border["people"]
    warning = circulated(cross_border)
    with pytest.raises(PermissionDenied, match="not concerned"):
        _answer(warning, people["enisa_triage"])
    with pytest.raises(ValidationError, match="Portugal is not concerned"):
        _answer(warning, people["fr_analyst"], member_state=factories.member_state("PT"))
    with pytest.raises(PermissionDenied, match="do not act for Germany"):
        _answer(warning, people["fr_analyst"], member_state=factories.member_state("DE"))
    with pytest.raises(Http404):  # PT's CSIRT does not see the warning at all
        _answer(warning, people["pt_analyst"])
    assert _states(warning) == {"DE": "pending", "FR": "pending"}


def test_an_own_language_version_must_be_in_a_language_of_the_state(cross_border):
    warning = circulated(cross_border)
    with pytest.raises(ValidationError, match="not an official language of France"):
        _answer(warning, cross_border["people"]["fr_analyst"], own_language="de", own_title="T", own_text="X")
    assert _states(warning)["FR"] == "pending"


def test_answers_after_the_deadline_are_refused(cross_border):
    warning = circulated(cross_border, hours=1)
    with freeze_time(timezone.now() + timedelta(hours=1, seconds=1)):
        with pytest.raises(ValidationError, match="deadline .* has passed"):
            _answer(warning, cross_border["people"]["fr_analyst"])
    assert _states(warning)["FR"] == "pending"


def test_revising_after_proposed_changes_resets_every_answer(cross_border):
    people = cross_border["people"]
    warning = circulated(cross_border)
    _answer(warning, people["de_liaison"])
    _answer(warning, people["fr_analyst"], "changes_proposed", proposed_text="Add the hotline.")
    services.revise_warning(actor=people["de_analyst"], warning=warning, body="Call the hotline.")
    warning.refresh_from_db()
    assert warning.revision == 2 and warning.status == "circulated"
    assert _states(warning) == {"DE": "pending", "FR": "pending"}


def test_an_embargo_in_the_past_is_refused(cross_border):
    people = cross_border["people"]
    warning = circulated(cross_border)
    _answer(warning, people["de_liaison"])
    _answer(warning, people["fr_analyst"], "declined")
    with pytest.raises(ValidationError, match="embargo .* is in the past"):
        services.schedule_release(actor=people["de_analyst"], warning=warning,
                                  publish_at=timezone.now() - timedelta(seconds=1))
    warning.refresh_from_db()
    assert warning.status == "circulated" and warning.publish_at is None


def test_the_embargo_waits_for_the_deadline_while_a_state_has_not_answered(cross_border):
    people = cross_border["people"]
    warning = circulated(cross_border, hours=24)
    _answer(warning, people["de_liaison"])
    with pytest.raises(ValidationError, match="at or after the response deadline"):
        services.schedule_release(actor=people["de_analyst"], warning=warning,
                                  publish_at=timezone.now() + timedelta(hours=2))
    services.schedule_release(actor=people["de_analyst"], warning=warning,
                              publish_at=warning.response_deadline + timedelta(hours=1))


def _scheduled(cross_border, publish_in=timedelta(hours=2)):
    people = cross_border["people"]
    warning = circulated(cross_border)
    _answer(warning, people["de_liaison"], own_language="de", own_title="Störungen", own_text="Deutscher Text.")
    _answer(warning, people["fr_analyst"])
    return services.schedule_release(actor=people["de_analyst"], warning=warning,
                                     publish_at=timezone.now() + publish_in)


def test_embargo_release_at_the_set_time_together_exactly_once(cross_border):
    warning = _scheduled(cross_border)
    publish_at = warning.publish_at
    with freeze_time(publish_at - timedelta(seconds=1)):
        sweep.run_sweep()
    warning.refresh_from_db()
    assert warning.status == "scheduled"
    assert not WarningParticipation.objects.filter(released_at__isnull=False).exists()
    with freeze_time(publish_at):
        sweep.run_sweep()
        sweep.run_sweep()
    warning.refresh_from_db()
    assert warning.status == "released" and warning.released_at == publish_at
    released = {p.member_state.code: p for p in warning.participations.select_related("member_state")}
    assert {p.released_at for p in released.values()} == {publish_at}
    assert {p.published_at for p in released.values()} == {publish_at}
    assert (released["DE"].released_language, released["DE"].released_title) == ("de", "Störungen")
    assert released["FR"].released_title == warning.title
    assert Event.objects.filter(kind="warning.released").count() == 1


def test_decliners_and_silent_states_are_not_released(cross_border):
    people = cross_border["people"]
    warning = circulated(cross_border, hours=1)
    _answer(warning, people["fr_analyst"], "declined")
    _answer(warning, people["de_liaison"])
    warning = services.schedule_release(actor=people["de_analyst"], warning=warning,
                                        publish_at=timezone.now() + timedelta(hours=2))
    with freeze_time(warning.publish_at):
        services.release_due_warnings()
    assert list(WarningParticipation.objects.filter(released_at__isnull=False)
                .values_list("member_state__code", flat=True)) == ["DE"]


def test_a_fact_made_stricter_after_scheduling_blocks_the_release_with_a_message(cross_border):
    warning = _scheduled(cross_border)
    incident_services.update_observable(actor=cross_border["people"]["de_analyst"], observable=cross_border["clear_ip"],
                                        tlp="amber")
    with freeze_time(warning.publish_at + timedelta(minutes=1)):
        services.release_due_warnings()
        services.release_due_warnings()
    warning.refresh_from_db()
    assert warning.status == "scheduled" and "203.0.113.5" in warning.release_problem
    assert "now TLP:AMBER" in warning.release_problem
    assert not WarningParticipation.objects.filter(released_at__isnull=False).exists()
    assert Event.objects.filter(kind="warning.release_blocked").count() == 1


def test_a_released_warning_cannot_be_edited(cross_border):
    warning = _scheduled(cross_border)
    with freeze_time(warning.publish_at):
        services.release_due_warnings()
    with pytest.raises(ValidationError, match="can no longer be edited"):
        services.revise_warning(actor=cross_border["people"]["de_analyst"], warning=warning, title="Changed")
    warning.refresh_from_db()
    assert warning.title.startswith("Rail ticketing")


def test_a_state_that_declines_after_scheduling_is_left_out_of_the_release(cross_border):
    warning = _scheduled(cross_border)
    _answer(warning, cross_border["people"]["fr_analyst"], "declined")
    with freeze_time(warning.publish_at):
        services.release_due_warnings()
    assert list(WarningParticipation.objects.filter(released_at__isnull=False)
                .values_list("member_state__code", flat=True)) == ["DE"]


def test_revising_a_scheduled_warning_calls_the_release_off(cross_border):
    warning = _scheduled(cross_border)
    services.revise_warning(actor=cross_border["people"]["de_analyst"], warning=warning, body="Corrected.")
    warning.refresh_from_db()
    assert (warning.status, warning.publish_at) == ("circulated", None)
    with freeze_time(timezone.now() + timedelta(hours=3)):
        assert services.release_due_warnings() == 0
