"""The specific agreement between the provider and the user (CSoA Art. 16): confirmed by both before any work."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from csoa_portal.models import AuditEntry
from liaison.models import Event
from reserve import policy, services, workflow
from reserve.models import Engagement, WorkLog
from reserve.workflow import RequestStatus
from tests.reserve.factories import request_in

pytestmark = pytest.mark.django_db

TEMPLATE = "ENISA-RSV-SA-2025"


def _deployed(reserve):
    request = request_in(RequestStatus.DEPLOYED, reserve, agreement=False)
    return request.engagements.get()


def _confirm(reserve, who, engagement, **overrides):
    values = {"template_reference": TEMPLATE, "agreement_date": timezone.localdate(), "liability_accepted": True}
    return services.confirm_agreement(actor=reserve["people"][who], engagement=engagement, **{**values, **overrides})


def _log(reserve, engagement):
    return services.log_work(actor=reserve["people"]["provider"], engagement=engagement, day=timezone.localdate(),
                             person_days=Decimal("1"), activity="Triage of the SCADA hosts")


def test_csoa_art16_work_cannot_be_logged_before_both_sides_confirm_the_specific_agreement(reserve):
    engagement = _deployed(reserve)
    with pytest.raises(workflow.TransitionRefused, match=r"CSoA Art\. 16.*waiting for the provider and the user"):
        _log(reserve, engagement)
    engagement = _confirm(reserve, "provider", engagement)
    assert not engagement.agreement_in_force
    with pytest.raises(workflow.TransitionRefused) as excinfo:
        _log(reserve, engagement)
    assert excinfo.value.refusal.endswith("waiting for the user (requester).")
    assert WorkLog.objects.count() == 0
    engagement = _confirm(reserve, "de_analyst", engagement)
    assert engagement.agreement_in_force
    assert (engagement.agreement_template, engagement.agreement_date) == (TEMPLATE, timezone.localdate())
    assert engagement.provider_agreed_by == reserve["people"]["provider"]
    assert engagement.user_agreed_by == reserve["people"]["de_analyst"]
    _log(reserve, engagement)
    assert WorkLog.objects.count() == 1
    entries = AuditEntry.objects.filter(action="engagement.agreement_confirmed").order_by("pk")
    assert [e.organisation_code for e in entries] == ["provider-acme", "de-csirt"]
    assert all(e.after["liability_accepted"] is True for e in entries)
    events = Event.objects.filter(kind="engagement.agreement_confirmed").order_by("pk")
    assert [(e.payload["by"], e.payload["in_force"]) for e in events] == [
        (["provider"], False), (["requester"], True)]


def test_csoa_art16_each_side_is_offered_the_confirmation_once_and_no_one_else(reserve):
    engagement = _deployed(reserve)
    people = reserve["people"]
    offered = {who for who in ("provider", "de_analyst", "enisa_triage", "de_spoc", "beta")
               if "confirm_agreement" in policy.engagement_actions(people[who], engagement)}
    assert offered == {"provider", "de_analyst"}
    engagement = _confirm(reserve, "de_analyst", engagement)
    assert "confirm_agreement" not in policy.engagement_actions(people["de_analyst"], engagement)
    with pytest.raises(workflow.TransitionRefused, match="already confirmed"):
        _confirm(reserve, "de_analyst", engagement)
    with pytest.raises(PermissionDenied):
        _confirm(reserve, "enisa_triage", engagement)


@pytest.mark.parametrize("changes, field, words", [
    ({"liability_accepted": False}, "liability_accepted", "liability terms"),
    ({"template_reference": "  "}, "template_reference", "ENISA's specific-agreement template"),
    ({"template_reference": "x" * 101}, "template_reference", "at most 100"),
    ({"agreement_date": None}, "agreement_date", "date of the specific agreement"),
    ({"agreement_date": "tomorrow"}, "agreement_date", "in the future"),
    ({"agreement_date": "before approval"}, "agreement_date", "follows the approval"),
])
def test_csoa_art16_a_confirmation_without_what_the_agreement_needs_is_refused_naming_the_field(
        reserve, changes, field, words):
    engagement = _deployed(reserve)
    if changes.get("agreement_date") == "tomorrow":
        changes = {"agreement_date": timezone.localdate() + timedelta(days=1)}
    elif changes.get("agreement_date") == "before approval":
        changes = {"agreement_date": timezone.localdate() - timedelta(days=30)}
    audit_before, events_before = AuditEntry.objects.count(), Event.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        _confirm(reserve, "provider", engagement, **changes)
    assert words in excinfo.value.message_dict[field][0]
    assert (AuditEntry.objects.count(), Event.objects.count()) == (audit_before, events_before)
    fresh = Engagement.objects.get(pk=engagement.pk)
    assert (fresh.agreement_template, fresh.provider_agreed_at) == ("", None)


def test_csoa_art16_the_second_side_confirms_the_same_agreement(reserve):
    engagement = _confirm(reserve, "provider", _deployed(reserve))
    with pytest.raises(ValidationError) as excinfo:
        _confirm(reserve, "de_analyst", engagement, template_reference="ENISA-RSV-SA-2024")
    assert f"The provider confirmed the agreement on template {TEMPLATE}" in (
        excinfo.value.message_dict["template_reference"][0])
    assert Engagement.objects.get(pk=engagement.pk).user_agreed_at is None


def test_csoa_art16_page_and_api_confirm_the_agreement_and_then_offer_the_work_log(reserve, login):
    engagement = _deployed(reserve)
    page = f"/reserve/engagements/{engagement.pk}/"
    provider = login(reserve["people"]["provider"])
    body = provider.get(page).content.decode()
    assert f'action="{page}agreement/"' in body and f'action="{page}work/"' not in body
    assert "Work can be logged once the provider and the user have both confirmed" in body
    response = provider.post(f"{page}agreement/", {"agreement-template_reference": TEMPLATE,
                                                   "agreement-agreement_date": timezone.localdate().isoformat(),
                                                   "agreement-liability_accepted": "on"})
    assert response.status_code == 302
    api = login(reserve["people"]["de_analyst"])
    refused = api.post(f"/api/v1/engagements/{engagement.pk}/agreement/",
                       json.dumps({"template_reference": TEMPLATE, "agreement_date": timezone.localdate().isoformat(),
                                   "liability_accepted": False}), content_type="application/json")
    assert refused.status_code == 400
    assert "liability_accepted" in json.dumps(refused.json()) and "CSoA Art. 16" in json.dumps(refused.json())
    done = api.post(f"/api/v1/engagements/{engagement.pk}/agreement/",
                    json.dumps({"template_reference": TEMPLATE, "agreement_date": timezone.localdate().isoformat(),
                                "liability_accepted": True}), content_type="application/json")
    assert done.status_code == 200, done.json()
    assert done.json()["agreement"]["in_force"] is True
    assert done.json()["agreement"]["template_reference"] == TEMPLATE
    assert f'action="{page}work/"' in provider.get(page).content.decode()


def test_csoa_art16_the_work_api_answers_409_before_the_agreement(reserve, login):
    engagement = _deployed(reserve)
    response = login(reserve["people"]["provider"]).post(
        f"/api/v1/engagements/{engagement.pk}/work/",
        json.dumps({"day": timezone.localdate().isoformat(), "person_days": "1", "activity": "Triage"}),
        content_type="application/json")
    assert response.status_code == 409
    assert "CSoA Art. 16" in json.dumps(response.json())
    assert WorkLog.objects.count() == 0
