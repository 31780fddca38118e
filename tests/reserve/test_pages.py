"""The Reserve's browser pages: who sees which page, the whole workflow through the forms, bad input, cost."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from liaison.models import Event
from reserve import services
from reserve.models import AfterActionReport, AssistanceRequest, Engagement, ProviderProfile, WorkLog
from reserve.workflow import RequestStatus
from tests import factories
from tests.reserve.factories import content, incident, request_in

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


def _form_data(r, *, action="submit", **overrides) -> dict:
    """What the request form posts for a complete request (tests.reserve.factories.content)."""
    values = content([r["incident"]])
    data = {
        "affected_entity": values["affected_entity"], "entity_type": values["entity_type"],
        "sector": values["sector"].code, "incidents": [i.pk for i in values["incidents"]],
        "impact_description": values["impact_description"], "impact_level": values["impact_level"],
        "spill_over_risk": values["spill_over_risk"], "planned_use": values["planned_use"],
        "services": values["services"], "person_days": str(values["person_days"]),
        "window_start": values["window_start"].isoformat(), "window_end": values["window_end"].isoformat(),
        "mitigation_measures": values["mitigation_measures"], "measures_level": values["measures_level"],
        "measures_confirmed": "on", "other_support": values["other_support"], "urgency": values["urgency"],
        "languages": "de, en", "action": action,
    }
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def _engaged(r, request, provider="provider-acme"):
    return services.engage_provider(actor=r["people"]["enisa_triage"], request=request, provider=r["orgs"][provider])


# --- Who sees which page -----------------------------------------------------------------------------


PAGES_OF_A_SUBMITTED_REQUEST = [
    # (page, who may open it, who sees the request but not the page: 403 naming who can,
    #  who does not see the request: 404 as if it did not exist)
    ("requests/{pk}/", {"de_analyst", "de_spoc", "enisa_triage", "enisa_decision", "ec_decision"}, set(),
     {"fr_analyst", "pt_analyst", "provider", "cert_eu", "de_hub"}),
    ("requests/{pk}/assess/", {"enisa_triage"}, {"de_analyst", "de_spoc", "enisa_decision"}, {"provider", "fr_analyst"}),
    ("requests/{pk}/ranking/", {"enisa_triage"}, {"de_analyst", "de_spoc", "enisa_decision", "ec_decision", "enisa_admin"},
     {"provider"}),
]


@pytest.mark.parametrize("path,allowed,told_why,unseen", PAGES_OF_A_SUBMITTED_REQUEST)
def test_request_pages_render_for_their_roles_say_who_can_to_other_viewers_and_404_for_everyone_else(
        reserve, login, path, allowed, told_why, unseen):
    request = request_in(RequestStatus.SUBMITTED, reserve)
    for who in allowed:
        response = login(reserve["people"][who]).get(f"/reserve/{path.format(pk=request.pk)}")
        assert response.status_code == 200, who
        assert request.reference in _text(response)
    for who in told_why:
        response = login(reserve["people"][who]).get(f"/reserve/{path.format(pk=request.pk)}")
        assert response.status_code == 403, who
        assert "Only ENISA triage staff" in _text(response) and "Who can:" in _text(response), who
    for who in unseen:
        assert login(reserve["people"][who]).get(f"/reserve/{path.format(pk=request.pk)}").status_code == 404, who


def test_decide_page_is_for_the_contracting_authoritys_decision_makers_only(reserve, login):
    request = request_in(RequestStatus.ASSESSED, reserve)
    page = _text(login(reserve["people"]["enisa_decision"]).get(f"/reserve/requests/{request.pk}/decide/"))
    assert "Approve" in page and "Reject" in page and "Essential entity, severe impact." in page
    for who in ("enisa_triage", "ec_decision", "de_analyst"):  # they see the request: told who decides
        response = login(reserve["people"][who]).get(f"/reserve/requests/{request.pk}/decide/")
        assert response.status_code == 403, who
        assert "the decision-makers of ENISA" in _text(response), who
    for who in ("provider", "pt_analyst"):
        assert login(reserve["people"][who]).get(f"/reserve/requests/{request.pk}/decide/").status_code == 404, who


def test_report_page_is_for_the_requester_only(reserve, login):
    request = request_in(RequestStatus.CLOSED, reserve)
    assert login(reserve["people"]["de_analyst"]).get(f"/reserve/requests/{request.pk}/report/").status_code == 200
    for who in ("enisa_triage", "de_spoc", "provider"):  # the engaged provider sees the request too
        response = login(reserve["people"][who]).get(f"/reserve/requests/{request.pk}/report/")
        assert response.status_code == 403 and "CERT-Bund" in _text(response), who
    assert login(reserve["people"]["fr_analyst"]).get(f"/reserve/requests/{request.pk}/report/").status_code == 404


@pytest.mark.parametrize("path,allowed,refused", [
    ("triage/", {"enisa_triage", "enisa_decision", "ec_decision"}, {"de_analyst", "de_spoc", "provider", "cert_eu"}),
    ("dashboard/", {"enisa_triage", "enisa_admin", "ec_decision"}, {"de_analyst", "de_spoc", "provider", "fr_analyst"}),
    ("providers/", {"enisa_triage", "enisa_admin", "ec_decision"}, {"de_analyst", "provider", "beta"}),
    ("providers/new/", {"enisa_triage", "enisa_admin"}, {"ec_decision", "de_analyst", "provider"}),
    ("providers/provider-beta/", {"enisa_triage", "enisa_admin"}, {"ec_decision", "de_analyst", "beta"}),
    ("requests/new/", {"de_analyst", "de_spoc", "cert_eu", "no_analyst"}, {"de_hub", "provider", "enisa_triage"}),
])
def test_role_pages_render_for_their_roles_and_tell_others_why_and_who_can(reserve, login, path, allowed, refused):
    for who in allowed:
        assert login(reserve["people"][who]).get(f"/reserve/{path}").status_code == 200, who
    for who in refused:
        response = login(reserve["people"][who]).get(f"/reserve/{path}")
        assert response.status_code == 403, who
        assert "Who can:" in _text(response), who


def test_reserve_link_in_the_navigation_only_for_those_who_may_use_it(reserve, login):
    assert 'href="/reserve/"' in _text(login(reserve["people"]["de_analyst"]).get("/"))
    # A provider's staff work from their engagements (tests/liaison/test_role_dashboards.py: the menu fits the role).
    assert 'href="/reserve/engagements/"' in _text(login(reserve["people"]["provider"]).get("/"))
    assert _text(login(reserve["people"]["enisa_triage"]).get("/")).count('href="/reserve/"') == 1
    assert 'href="/reserve/"' not in _text(login(reserve["people"]["de_hub"]).get("/"))


def test_reserve_home_leads_each_person_to_their_work(reserve, login):
    assert login(reserve["people"]["provider"]).get("/reserve/")["Location"] == "/reserve/engagements/"
    assert login(reserve["people"]["enisa_triage"]).get("/reserve/")["Location"] == "/reserve/triage/"
    assert login(reserve["people"]["de_analyst"]).get("/reserve/")["Location"] == "/reserve/requests/"


def test_pages_need_a_signed_in_user(client, reserve):
    request = request_in(RequestStatus.SUBMITTED, reserve)
    for path in ("/reserve/requests/", f"/reserve/requests/{request.pk}/", "/reserve/triage/", "/reserve/dashboard/"):
        assert client.get(path).status_code == 302


# --- Provider isolation ------------------------------------------------------------------------------


def test_a_provider_sees_its_own_engagements_only_never_another_providers(reserve, login):
    shared = request_in(RequestStatus.APPROVED, reserve)
    acme_on_shared = _engaged(reserve, shared, "provider-acme")
    beta_on_shared = _engaged(reserve, shared, "provider-beta")
    beta_only = request_in(RequestStatus.APPROVED, reserve, affected_entity="Wasserwerk Nord")
    beta_alone = _engaged(reserve, beta_only, "provider-beta")
    acme = login(reserve["people"]["provider"])

    listing = _text(acme.get("/reserve/engagements/"))
    assert f"/reserve/engagements/{acme_on_shared.pk}/" in listing
    assert f"/reserve/engagements/{beta_on_shared.pk}/" not in listing and beta_only.reference not in listing
    assert acme.get(f"/reserve/engagements/{beta_on_shared.pk}/").status_code == 404
    assert acme.get(f"/reserve/engagements/{beta_alone.pk}/").status_code == 404
    assert acme.get(f"/reserve/requests/{beta_only.pk}/").status_code == 404
    assert beta_only.reference not in _text(acme.get("/reserve/requests/"))

    detail = _text(acme.get(f"/reserve/requests/{shared.pk}/"))
    assert "ACME" in detail and "Provider Beta" not in detail  # only its own engagement on a shared request
    assert "Triage assessments" not in detail and "Essential entity, severe impact." not in detail
    assert "Which PLC vendor?" not in detail
    # ENISA sees both engagements of the shared request.
    enisa = _text(login(reserve["people"]["enisa_triage"]).get(f"/reserve/requests/{shared.pk}/"))
    assert "ACME" in enisa and "Provider Beta" in enisa


def test_a_provider_that_declines_no_longer_sees_the_request(reserve, login):
    request = request_in(RequestStatus.APPROVED, reserve)
    engagement = _engaged(reserve, request)
    acme = login(reserve["people"]["provider"])
    response = acme.post(f"/reserve/engagements/{engagement.pk}/decline/", {"decline-reason": "No staff free"})
    assert response.status_code == 302 and response["Location"] == "/reserve/engagements/"
    assert acme.get(f"/reserve/requests/{request.pk}/").status_code == 404
    # The next provider in the ranking was proposed, and sees it now.
    beta = login(reserve["people"]["beta"])
    assert beta.get(f"/reserve/requests/{request.pk}/").status_code == 200


def test_a_provider_never_engaged_gets_404_for_the_request_and_its_pages(reserve, login):
    request = request_in(RequestStatus.DEPLOYED, reserve)  # acme is deployed
    engagement = request.engagements.get()
    gamma = login(reserve["people"]["gamma"])
    for path in (f"requests/{request.pk}/", f"engagements/{engagement.pk}/", f"requests/{request.pk}/ranking/"):
        assert gamma.get(f"/reserve/{path}").status_code == 404, path
    assert gamma.post(f"/reserve/engagements/{engagement.pk}/work/", {
        "work-day": timezone.localdate().isoformat(), "work-person_days": "1", "work-activity": "x"}).status_code == 404
    assert not WorkLog.objects.exists()


# --- The whole flow through the pages ------------------------------------------------------------------


def test_full_flow_from_draft_to_after_action_report_through_the_pages(reserve, login):
    p = reserve["people"]
    start = Event.objects.count()
    de = login(p["de_analyst"])

    # A draft is saved incomplete, then completed and submitted.
    response = de.post("/reserve/requests/new/", {"affected_entity": "Stadtwerke Beispiel GmbH", "action": "save"})
    assert response.status_code == 302
    draft = AssistanceRequest.objects.get()
    assert draft.status == RequestStatus.DRAFT and draft.affected_entity == "Stadtwerke Beispiel GmbH"
    edit = _text(de.get(f"/reserve/requests/{draft.pk}/edit/"))
    assert "Still missing before you can submit" in edit and "Confirm that all appropriate mitigation" in edit
    data = _form_data(reserve, version=str(draft.version))
    assert de.post(f"/reserve/requests/{draft.pk}/edit/", data).status_code == 302
    draft.refresh_from_db()
    assert draft.status == RequestStatus.AWAITING_SPOC and draft.spoc_organisation.code == "de-spoc"

    # The SPOC forwards it; the 48-hour clock starts.
    spoc = login(p["de_spoc"])
    assert "Forward (endorse)" in _text(spoc.get(f"/reserve/requests/{draft.pk}/"))
    assert spoc.post(f"/reserve/requests/{draft.pk}/forward/", {"forward-note": "Endorsed"}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == RequestStatus.SUBMITTED

    # ENISA triage sees it in the queue and assesses it.
    triage = login(p["enisa_triage"])
    queue = _text(triage.get("/reserve/triage/"))
    assert draft.reference in queue and "left" in queue and "Priority" in queue
    response = triage.post(f"/reserve/requests/{draft.pk}/assess/", {
        "assess-complete": "true", "assess-recommendation": "approve", "assess-reasons": "Essential entity, severe."})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == RequestStatus.ASSESSED

    # The decision-maker approves.
    decider = login(p["enisa_decision"])
    response = decider.post(f"/reserve/requests/{draft.pk}/decide/", {"outcome": "approved", "reasons": "Meets Art. 15"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == RequestStatus.APPROVED

    # ENISA engages the top-ranked provider from the ranking page.
    ranking = _text(triage.get(f"/reserve/requests/{draft.pk}/ranking/"))
    assert "Ranked providers" in ranking and "provider-acme" in ranking
    assert triage.post(f"/reserve/requests/{draft.pk}/engage/", {"provider": "provider-acme"}).status_code == 302
    engagement = Engagement.objects.get(request=draft)

    # The provider accepts; both sides confirm the specific agreement (CSoA Art. 16); the provider logs work;
    # both sides post updates.
    acme = login(p["provider"])
    assert "Accept and deploy" in _text(acme.get(f"/reserve/engagements/{engagement.pk}/"))
    assert acme.post(f"/reserve/engagements/{engagement.pk}/accept/").status_code == 302
    agreement = {"agreement-template_reference": "ENISA-RSV-SA-2025",
                 "agreement-agreement_date": timezone.localdate().isoformat(), "agreement-liability_accepted": "on"}
    for side in (acme, de):
        assert side.post(f"/reserve/engagements/{engagement.pk}/agreement/", agreement).status_code == 302
    response = acme.post(f"/reserve/engagements/{engagement.pk}/work/", {
        "work-day": timezone.localdate().isoformat(), "work-person_days": "1.5", "work-activity": "Disk imaging"})
    assert response.status_code == 302
    assert acme.post(f"/reserve/engagements/{engagement.pk}/updates/", {"update-text": "On site"}).status_code == 302
    assert de.post(f"/reserve/engagements/{engagement.pk}/updates/", {"update-text": "Thanks"}).status_code == 302
    detail = _text(de.get(f"/reserve/requests/{draft.pk}/"))
    assert "Disk imaging" in detail and "On site" in detail and "Close the deployment" in detail

    # The requester closes the deployment and reports.
    assert de.post(f"/reserve/requests/{draft.pk}/close/").status_code == 302
    draft.refresh_from_db()
    assert draft.status == RequestStatus.CLOSED
    assert "After-action report (user)" in _text(de.get(f"/reserve/requests/{draft.pk}/"))
    response = de.post(f"/reserve/requests/{draft.pk}/report/", {
        "service_provided": "Forensics", "results": "Restored", "lessons_learned": "Segment earlier"})
    assert response.status_code == 302

    draft.refresh_from_db()
    engagement.refresh_from_db()
    assert draft.status == RequestStatus.REPORTED and engagement.status == "completed"
    assert WorkLog.objects.get().person_days == 1.5 and AfterActionReport.objects.filter(request=draft).exists()
    kinds = set(Event.objects.filter(id__gt=0).order_by("id").values_list("kind", flat=True)[start:])
    assert {"request.drafted", "request.updated", "request.routed", "request.submitted", "request.assessed",
            "request.decided", "provider.engaged", "engagement.accepted", "deployment.updated",
            "deployment.closed", "report.submitted"} <= kinds
    # ENISA and the Commission see the report; the provider does not.
    assert "Segment earlier" in _text(login(p["ec_decision"]).get(f"/reserve/requests/{draft.pk}/"))
    assert "Segment earlier" not in _text(acme.get(f"/reserve/requests/{draft.pk}/"))


def test_cert_eu_submits_straight_to_the_contracting_authority(reserve, login):
    cert = incident(reserve["people"]["cert_eu"], reserve["orgs"]["cert-eu"], title="Phishing at an agency")
    data = _form_data(reserve, incidents=[cert.pk], entity_type="euiba")
    response = login(reserve["people"]["cert_eu"]).post("/reserve/requests/new/", data)
    assert response.status_code == 302
    request = AssistanceRequest.objects.get()
    assert request.status == RequestStatus.SUBMITTED and request.spoc_organisation is None
    assert request.deadlines.filter(clock="response").exists()


def test_spoc_returns_a_request_with_a_reason_and_the_requester_can_edit_it_again(reserve, login):
    request = request_in(RequestStatus.AWAITING_SPOC, reserve)
    spoc = login(reserve["people"]["de_spoc"])
    assert spoc.post(f"/reserve/requests/{request.pk}/return/", {"return-reason": "Add the OT vendor"}).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.DRAFT
    assert login(reserve["people"]["de_analyst"]).get(f"/reserve/requests/{request.pk}/edit/").status_code == 200


def test_triage_asks_for_information_and_the_requesters_answer_puts_it_back_in_the_queue(reserve, login):
    request = request_in(RequestStatus.SUBMITTED, reserve)
    triage = login(reserve["people"]["enisa_triage"])
    assert triage.post(f"/reserve/requests/{request.pk}/ask/", {"info-question": "Which PLC vendor?"}).status_code == 302
    de = login(reserve["people"]["de_analyst"])
    page = _text(de.get(f"/reserve/requests/{request.pk}/"))
    assert "Which PLC vendor?" in page and "Send the answer" in page
    assert de.post(f"/reserve/requests/{request.pk}/answer/", {"answer-answer": "Siemens S7"}).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED
    assert "Siemens S7" in _text(triage.get(f"/reserve/requests/{request.pk}/assess/"))


def test_detail_shows_only_the_actions_this_user_may_take(reserve, login):
    request = request_in(RequestStatus.AWAITING_SPOC, reserve)
    spoc = _text(login(reserve["people"]["de_spoc"]).get(f"/reserve/requests/{request.pk}/"))
    requester = _text(login(reserve["people"]["de_analyst"]).get(f"/reserve/requests/{request.pk}/"))
    assert "Forward (endorse)" in spoc and "Return as a draft" in spoc and "Withdraw" not in spoc
    assert "Forward (endorse)" not in requester and "Withdraw" in requester


# --- Triage queue -------------------------------------------------------------------------------------


def test_triage_queue_orders_by_priority_with_its_explanation_and_highlights_overdue(reserve, login, freezer):
    low = request_in(RequestStatus.SUBMITTED, reserve, affected_entity="Small library", entity_type="other",
                     impact_level="limited", urgency="routine", spill_over_risk="low")
    freezer.move_to(timezone.now() + timedelta(hours=47))
    high = request_in(RequestStatus.SUBMITTED, reserve, affected_entity="Grid operator")
    freezer.move_to(timezone.now() + timedelta(hours=2))  # low's 48 h have run out, high's have not
    page = _text(login(reserve["people"]["enisa_triage"]).get("/reserve/triage/"))
    assert page.index(high.reference) < page.index(low.reference)
    assert "CSoA Art. 16" in page and "Priority " in page and "/100" in page
    assert "no points" in page and "Level 0" in page  # the crisis level beside the score
    assert "1 request past the 48-hour response clock" in page
    assert page.count("queue-item card is-overdue") == 1
    assert "overdue by 1 h 0 min" in page and "46 h 0 min left" in page


def test_triage_queue_filters_by_status_and_refuses_an_unknown_value(reserve, login):
    submitted = request_in(RequestStatus.SUBMITTED, reserve, affected_entity="Submitted one")
    assessed = request_in(RequestStatus.ASSESSED, reserve, affected_entity="Assessed one")
    triage = login(reserve["people"]["enisa_triage"])
    page = _text(triage.get("/reserve/triage/", {"status": "assessed"}))
    assert assessed.reference in page and submitted.reference not in page
    response = triage.get("/reserve/triage/", {"status": "nonsense"})
    assert response.status_code == 400 and "status" in response.context["form"].errors


def test_deadline_shows_in_the_users_own_time_zone(reserve, login, freezer):
    freezer.move_to(datetime(2026, 1, 15, 9, 0, tzinfo=ZoneInfo("UTC")))
    request = request_in(RequestStatus.SUBMITTED, reserve)
    triage = reserve["people"]["enisa_triage"]
    triage.timezone = "Europe/Helsinki"
    triage.save()
    page = _text(login(triage).get(f"/reserve/requests/{request.pk}/"))
    assert "2026-01-17 11:00 EET" in page and "48 h 0 min left" in page


# --- Ranking ----------------------------------------------------------------------------------------------


def test_ranking_shows_each_rank_and_each_exclusion_with_its_reason(reserve, login):
    admin = reserve["people"]["enisa_admin"]
    from tests.reserve.factories import provider

    provider(admin, "provider-conflicted", conflicts=("Stadtwerke Beispiel GmbH",))
    provider(admin, "provider-expiring", certified_until=timezone.localdate() + timedelta(days=3))
    request = request_in(RequestStatus.APPROVED, reserve)
    page = _text(login(reserve["people"]["enisa_triage"]).get(f"/reserve/requests/{request.pk}/ranking/"))
    assert "Offers 2 of 2 requested services" in page and "Commits to respond within 4 h" in page
    assert "Conflict of interest" in page and "Declared a conflict of interest with the affected entity" in page
    assert "Certification expires on" in page
    assert page.count('aria-label="Engage ') == 3  # acme, beta, gamma; the excluded have no button


def test_engaging_an_excluded_provider_is_refused_with_the_reason_and_books_nothing(reserve, login):
    from tests.reserve.factories import provider

    provider(reserve["people"]["enisa_admin"], "provider-expiring",
             certified_until=timezone.localdate() + timedelta(days=3))
    request = request_in(RequestStatus.APPROVED, reserve)
    response = login(reserve["people"]["enisa_triage"]).post(f"/reserve/requests/{request.pk}/engage/",
                                                             {"provider": "provider-expiring"})
    assert response.status_code == 400
    assert "cannot be engaged (certification)" in _text(response)
    assert not Engagement.objects.exists()


# --- Bad input writes nothing ---------------------------------------------------------------------------


def test_submitting_an_incomplete_request_names_each_missing_field_and_writes_nothing(reserve, login):
    before = Event.objects.count()
    response = login(reserve["people"]["de_analyst"]).post("/reserve/requests/new/", _form_data(
        reserve, planned_use="", measures_confirmed=None, services=[], languages=""))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"planned_use", "measures_confirmed", "services", "languages"} <= set(errors)
    assert "Confirm that all appropriate mitigation measures have been taken" in _text(response)
    assert not AssistanceRequest.objects.exists() and Event.objects.count() == before


def test_submitting_an_incomplete_draft_from_its_page_shows_the_missing_fields_and_keeps_it_a_draft(reserve, login):
    draft = services.create_request(actor=reserve["people"]["de_analyst"], organisation=reserve["orgs"]["de-csirt"],
                                    affected_entity="Half-written", urgency="urgent")
    response = login(reserve["people"]["de_analyst"]).post(f"/reserve/requests/{draft.pk}/submit/")
    assert response.status_code == 400
    form = response.context["form"]
    assert "planned_use" in form.errors and "affected_entity" not in form.errors
    assert form["affected_entity"].value() == "Half-written" and form["urgency"].value() == "urgent"
    draft.refresh_from_db()
    assert draft.status == RequestStatus.DRAFT and draft.requester_submitted_at is None


def test_linking_an_incident_the_requester_cannot_see_is_refused_on_the_field(reserve, login):
    hidden = incident(reserve["people"]["pt_analyst"], reserve["orgs"]["pt-csirt"], title="PT private")
    response = login(reserve["people"]["de_analyst"]).post("/reserve/requests/new/", _form_data(
        reserve, incidents=[hidden.pk], action="save"))
    assert response.status_code == 400 and "incidents" in response.context["form"].errors
    assert "PT private" not in _text(response)
    assert not AssistanceRequest.objects.exists()


def test_the_incident_picker_offers_only_incidents_the_user_may_see(reserve, login):
    incident(reserve["people"]["pt_analyst"], reserve["orgs"]["pt-csirt"], title="PT private")
    page = _text(login(reserve["people"]["de_analyst"]).get("/reserve/requests/new/"))
    assert reserve["incident"].title in page and "PT private" not in page


def test_a_window_ending_before_it_starts_is_refused_naming_the_field(reserve, login):
    today = timezone.localdate()
    response = login(reserve["people"]["de_analyst"]).post("/reserve/requests/new/", _form_data(
        reserve, window_start=(today + timedelta(days=5)).isoformat(), window_end=today.isoformat(), action="save"))
    assert response.status_code == 400 and "window_end" in response.context["form"].errors
    assert not AssistanceRequest.objects.exists()


def test_withdrawing_needs_a_reason_and_then_withdraws(reserve, login):
    request = request_in(RequestStatus.SUBMITTED, reserve)
    de = login(reserve["people"]["de_analyst"])
    response = de.post(f"/reserve/requests/{request.pk}/withdraw/", {"withdraw-reason": ""})
    assert response.status_code == 400 and "reason" in response.context["withdraw_form"].errors
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED
    assert de.post(f"/reserve/requests/{request.pk}/withdraw/", {"withdraw-reason": "Handled"}).status_code == 302
    request.refresh_from_db()
    assert request.status == RequestStatus.WITHDRAWN


def test_decision_without_reasons_is_refused_and_changes_nothing(reserve, login):
    request = request_in(RequestStatus.ASSESSED, reserve)
    response = login(reserve["people"]["enisa_decision"]).post(f"/reserve/requests/{request.pk}/decide/",
                                                               {"outcome": "approved", "reasons": ""})
    assert response.status_code == 400 and "reasons" in response.context["form"].errors
    request.refresh_from_db()
    assert request.status == RequestStatus.ASSESSED and request.decided_at is None


def test_incomplete_assessment_cannot_recommend_approval(reserve, login):
    request = request_in(RequestStatus.SUBMITTED, reserve)
    response = login(reserve["people"]["enisa_triage"]).post(f"/reserve/requests/{request.pk}/assess/", {
        "assess-complete": "false", "assess-recommendation": "approve", "assess-reasons": "x", "assess-missing": "OT"})
    assert response.status_code == 400
    assert "request more information from the requester instead" in _text(response)
    request.refresh_from_db()
    assert request.status == RequestStatus.SUBMITTED and not request.assessments.exists()


def test_logging_more_work_than_booked_is_refused_with_the_numbers(reserve, login):
    request = request_in(RequestStatus.DEPLOYED, reserve, person_days=2)
    engagement = request.engagements.get()
    response = login(reserve["people"]["provider"]).post(f"/reserve/engagements/{engagement.pk}/work/", {
        "work-day": timezone.localdate().isoformat(), "work-person_days": "3", "work-activity": "Too much"})
    assert response.status_code == 400 and "would exceed the booking" in _text(response)
    assert not WorkLog.objects.exists()


def test_a_transition_out_of_order_is_refused_with_409_and_the_workflows_message(reserve, login):
    request = request_in(RequestStatus.APPROVED, reserve)
    response = login(reserve["people"]["de_analyst"]).post(f"/reserve/requests/{request.pk}/close/")
    assert response.status_code == 409 and "cannot close the deployment now" in _text(response)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED


def test_a_role_the_user_lacks_on_a_visible_request_gets_403_with_the_reason(reserve, login):
    request = request_in(RequestStatus.AWAITING_SPOC, reserve)
    response = login(reserve["people"]["de_analyst"]).post(f"/reserve/requests/{request.pk}/forward/")
    assert response.status_code == 403 and "single point of contact" in _text(response)
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_SPOC


def test_another_organisations_request_is_404_for_every_post(reserve, login):
    request = request_in(RequestStatus.AWAITING_SPOC, reserve)
    fr = login(reserve["people"]["fr_analyst"])
    for path in ("forward/", "return/", "withdraw/", "answer/", "close/", "submit/"):
        assert fr.post(f"/reserve/requests/{request.pk}/{path}").status_code == 404, path
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_SPOC


@pytest.mark.parametrize("path,data", [
    ("forward/", {"forward-note": "x"}),
    ("withdraw/", {"withdraw-reason": "x"}),
])
def test_state_changing_posts_need_the_csrf_token(reserve, login, path, data):
    request = request_in(RequestStatus.AWAITING_SPOC, reserve)
    client = login(reserve["people"]["de_spoc" if path == "forward/" else "de_analyst"])
    client.handler.enforce_csrf_checks = True
    assert client.post(f"/reserve/requests/{request.pk}/{path}", data).status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.AWAITING_SPOC


def test_new_request_form_needs_the_csrf_token(reserve, login):
    client = login(reserve["people"]["de_analyst"])
    client.handler.enforce_csrf_checks = True
    assert client.post("/reserve/requests/new/", _form_data(reserve)).status_code == 403
    assert not AssistanceRequest.objects.exists()


# --- Provider registry ----------------------------------------------------------------------------------


def test_enisa_registers_a_provider_with_its_first_capacity_period(reserve, login):
    org = factories.organisation("provider-delta", "reserve_provider", "NL", "Delta Response")
    today = timezone.localdate()
    response = login(reserve["people"]["enisa_admin"]).post("/reserve/providers/new/", {
        "organisation": "provider-delta", "services": ["incident_response", "malware_analysis"],
        "sectors": ["health"], "languages": "nl, en", "member_states": ["NL", "BE"],
        "certification_status": "vetted", "certified_from": today.isoformat(),
        "certified_until": (today + timedelta(days=365)).isoformat(), "security_clearances": "EU SECRET (2 staff)",
        "conflicts_of_interest": "Ziekenhuis Oost", "response_hours": "6", "is_active": "on",
        "capacity-period_start": today.isoformat(), "capacity-period_end": (today + timedelta(days=90)).isoformat(),
        "capacity-person_days": "30",
    })
    assert response.status_code == 302
    profile = ProviderProfile.objects.get(organisation=org)
    assert profile.languages == ["nl", "en"] and profile.conflicts_of_interest == ["Ziekenhuis Oost"]
    assert profile.capacities.get().person_days == 30
    assert "Delta Response" in _text(login(reserve["people"]["ec_decision"]).get("/reserve/providers/"))


def test_registering_a_provider_with_bad_input_names_each_field_and_writes_nothing(reserve, login):
    factories.organisation("provider-delta", "reserve_provider", "NL", "Delta Response")
    today = timezone.localdate()
    response = login(reserve["people"]["enisa_admin"]).post("/reserve/providers/new/", {
        "organisation": "provider-delta", "services": [], "languages": "english", "member_states": ["NL"],
        "certification_status": "certified", "certified_from": today.isoformat(), "certified_until": "",
        "response_hours": "6", "capacity-period_start": today.isoformat(),
        "capacity-period_end": (today - timedelta(days=1)).isoformat(), "capacity-person_days": "30",
    })
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"services", "languages", "certified_until"} <= set(errors)
    assert not ProviderProfile.objects.filter(organisation__code="provider-delta").exists()


def test_capacity_cannot_go_below_what_is_booked(reserve, login):
    request = request_in(RequestStatus.APPROVED, reserve)
    _engaged(reserve, request)  # books 20 person-days of acme's 100
    capacity = reserve["profiles"]["acme"].capacities.get()
    response = login(reserve["people"]["enisa_admin"]).post("/reserve/providers/provider-acme/capacity/", {
        "capacity-period_start": capacity.period_start.isoformat(),
        "capacity-period_end": capacity.period_end.isoformat(), "capacity-person_days": "10"})
    assert response.status_code == 400 and "20 person-days are already booked" in _text(response)
    capacity.refresh_from_db()
    assert capacity.person_days == 100


# --- Dashboard ----------------------------------------------------------------------------------------------


def test_dashboard_shows_status_counts_time_to_decision_capacity_and_member_states(reserve, login):
    request_in(RequestStatus.SUBMITTED, reserve)
    request_in(RequestStatus.DEPLOYED, reserve, affected_entity="Deployed one")
    response = login(reserve["people"]["ec_decision"]).get("/reserve/dashboard/")
    page = _text(response)
    bars = {bar["value"]: bar["count"] for bar in response.context["status_bars"]}
    assert bars["submitted"] == 1 and bars["deployed"] == 1
    assert response.context["decision"]["times"].decided == 1 and "median, against the 48 h 0 min legal clock" in page
    acme = next(r for r in response.context["capacity"] if r["provider"] == "provider-acme")
    assert (acme["committed"], acme["booked"], acme["free"]) == (100, 20, 80)
    assert [(b["label"], b["count"]) for b in response.context["state_bars"]] == [("DE", 2)]


# --- Cost -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path,who,state", [
    ("/reserve/requests/", "de_analyst", RequestStatus.SUBMITTED),
    ("/reserve/triage/", "enisa_triage", RequestStatus.SUBMITTED),
    ("/reserve/engagements/", "provider", RequestStatus.APPROVED),
])
def test_list_pages_cost_the_same_number_of_queries_for_3_or_30_requests(reserve, login, path, who, state,
                                                                           django_assert_max_num_queries):
    def add(n):
        for i in range(n):
            request = request_in(state, reserve, affected_entity=f"Entity {i}", person_days=1)
            if state == RequestStatus.APPROVED:
                _engaged(reserve, request)

    add(3)
    client = login(reserve["people"][who])
    client.get(path)  # the session's first request may write to it
    with CaptureQueriesContext(connection) as with_three:
        assert client.get(path).status_code == 200
    add(27)
    with django_assert_max_num_queries(len(with_three)):
        response = client.get(path)
    assert response.status_code == 200
    listed = response.context["rows"]
    assert len(listed) == (30 if path == "/reserve/triage/" else 25)
