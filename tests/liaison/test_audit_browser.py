"""The audit log browser: network admins only; filters; chain verification on request."""

import zoneinfo
from datetime import timezone as dt_timezone

import pytest
from django.urls import reverse

from csoa_portal import audit
from csoa_portal.models import AuditEntry
from liaison import services

pytestmark = pytest.mark.django_db


def test_audit_browser_is_for_network_admins_and_tells_others_so(network, login):
    assert login(network["people"]["enisa_admin"]).get(reverse("audit:list")).status_code == 200
    for person in ("de_admin", "de_analyst", "enisa_triage", "provider"):
        client = login(network["people"][person])
        assert client.get(reverse("audit:list")).status_code == 403
        assert client.post(reverse("audit:verify")).status_code == 403
    assert "Only the network administrators browse the audit log." in client.get(reverse("audit:list")).content.decode()


def test_audit_entries_are_listed_newest_first_with_who_via_and_diff(network, login):
    admin = network["people"]["enisa_admin"]
    services.update_organisation(
        actor=admin, organisation=network["orgs"]["pt-csirt"], name="CERT.PT renamed", kind="national_csirt",
        member_state=network["orgs"]["pt-csirt"].member_state,
    )
    response = login(admin).get(reverse("audit:list"))
    entries = list(response.context["page"].object_list)
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)
    newest = entries[0]
    assert newest.action == "organisation.updated" and newest.actor_email == admin.email
    assert ("name", "CERT.PT", "CERT.PT renamed") in newest.changes
    body = response.content.decode()
    assert "CERT.PT renamed" in body and admin.email in body


@pytest.mark.parametrize(
    "params, expected_actions",
    [
        ({"action": "organisation."}, {"organisation.created"}),
        ({"organisation": "de-csirt", "action": "person.created"}, {"person.created"}),
        ({"object_type": "liaison.organisation"}, {"organisation.created"}),
        ({"via": "session"}, set()),
    ],
)
def test_audit_filters_narrow_the_list(network, login, params, expected_actions):
    response = login(network["people"]["enisa_admin"]).get(reverse("audit:list"), params)
    assert response.status_code == 200
    assert {e.action for e in response.context["page"].object_list} == expected_actions


def test_audit_filters_by_actor_object_id_and_date(network, login):
    admin = network["people"]["enisa_admin"]
    org = services.create_organisation(actor=admin, code="lu-hub", name="LU hub", kind="national_hub",
                                       member_state=network["orgs"]["de-csirt"].member_state)
    client = login(admin)
    entries = client.get(reverse("audit:list"), {"actor": "admin@enisa"}).context["page"].object_list
    assert [e.object_id for e in entries] == [str(org.pk)]
    entries = client.get(reverse("audit:list"), {"object_type": "liaison.organisation", "object_id": org.pk}).context["page"].object_list
    assert [e.action for e in entries] == ["organisation.created"]
    # The dates are the reader's (their time zone), not UTC's: near midnight the two differ.
    zone = zoneinfo.ZoneInfo(admin.timezone) if admin.timezone else dt_timezone.utc
    today = AuditEntry.objects.first().created_at.astimezone(zone).date().isoformat()
    assert client.get(reverse("audit:list"), {"date_from": today, "date_to": today}).context["page"].object_list
    assert not client.get(reverse("audit:list"), {"date_from": "2001-01-01", "date_to": "2001-01-02"}).context["page"].object_list
    bad = client.get(reverse("audit:list"), {"date_from": "2001-01-02", "date_to": "2001-01-01"})
    assert bad.status_code == 400 and "date_to" in bad.context["form"].errors


def test_verify_chain_button_reports_intact_and_broken_chains(network, login):
    client = login(network["people"]["enisa_admin"])
    response = client.post(reverse("audit:verify"))
    waiting = AuditEntry.objects.filter(seq__isnull=True).count()  # the test's transaction never commits
    assert response.context["report"].ok and "chain intact" in response.content.decode()
    assert f"{waiting} more waiting to be sealed, their content verified" in response.content.decode()
    audit.seal_pending()
    victim = AuditEntry.objects.order_by("seq")[2]
    AuditEntry.objects.filter(pk=victim.pk).update(action="tampered")
    response = client.post(reverse("audit:verify"))
    assert not response.context["report"].ok
    assert response.context["report"].broken_seq == victim.seq
    assert "chain broken" in response.content.decode()


def test_audit_page_does_not_verify_the_chain_on_every_load(network, login, monkeypatch):
    monkeypatch.setattr(audit, "verify_chain", lambda **kw: pytest.fail("verify_chain ran on a GET"))
    assert login(network["people"]["enisa_admin"]).get(reverse("audit:list")).status_code == 200
