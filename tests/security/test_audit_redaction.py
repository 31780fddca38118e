"""Administrators see who did what to which object and when, not the content they may not read.

ENISA's organisation admin is a network admin: /audit/ and the admin's audit and event pages
show them every entry of the network, but the title, description, observable values and
before/after of de-csirt's unshared TLP:AMBER+STRICT incident stay redacted; searching for its
title finds nothing (the search is no oracle). Content they may read is shown as before.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from csoa_portal import audit
from csoa_portal.models import AuditEntry
from incidents import services as incident_services
from liaison import services
from liaison.models import Event, User

pytestmark = pytest.mark.django_db

SECRET_TITLE = "Wiper in the Hamburg port scheduler"
SECRET_VALUE = "198.51.100.77"


@pytest.fixture
def secret_incident(network):
    """de-csirt's unshared TLP:AMBER+STRICT incident, with an observable."""
    analyst = network["people"]["de_analyst"]
    incident = incident_services.report_incident(
        actor=analyst, organisation=network["orgs"]["de-csirt"], title=SECRET_TITLE,
        description="Only CERT-Bund knows this.", aware_at=timezone.now() - timedelta(hours=1),
        tlp="amber+strict", severity="high",
    )
    incident_services.add_observables(actor=analyst, incident=incident, rows=[{"type": "ipv4", "value": SECRET_VALUE}])
    return incident


@pytest.fixture
def auditor(network):
    admin_user = network["people"]["enisa_admin"]
    User.objects.filter(pk=admin_user.pk).update(is_staff=True)
    admin_user.refresh_from_db()
    return admin_user


def _entries_of(incident):
    return AuditEntry.objects.filter(object_type="incidents.incident", object_id=str(incident.pk))


def test_audit_page_shows_who_did_what_to_an_unreadable_incident_but_not_its_content(
    network, secret_incident, auditor, login
):
    response = login(auditor).get(reverse("audit:list"), {"object_type": "incidents.incident"})
    assert response.status_code == 200
    shown = [e for e in response.context["page"].object_list if e.object_id == str(secret_incident.pk)]
    assert {e.action for e in shown} >= {"incident.created", "observables.added"}
    assert all(e.redacted and e.changes == [] for e in shown)
    assert all(e.actor_email == network["people"]["de_analyst"].email for e in shown)
    body = response.content.decode()
    assert SECRET_TITLE not in body and SECRET_VALUE not in body and "Only CERT-Bund" not in body
    assert "content redacted" in body and network["people"]["de_analyst"].email in body


def test_audit_page_shows_the_content_the_viewer_may_read(network, secret_incident, auditor, login):
    incident_services.share_incident(
        actor=network["people"]["de_analyst"], incident=secret_incident, organisations=[network["orgs"]["enisa"]]
    )
    services.update_organisation(
        actor=auditor, organisation=network["orgs"]["pt-csirt"], name="CERT.PT renamed", kind="national_csirt",
        member_state=network["orgs"]["pt-csirt"].member_state,
    )
    response = login(auditor).get(reverse("audit:list"))
    body = response.content.decode()
    assert SECRET_TITLE in body and "CERT.PT renamed" in body
    assert not any(e.redacted for e in response.context["page"].object_list)


def test_the_originators_own_admin_reads_the_content_the_network_admin_may_not(network, secret_incident):
    entries = list(_entries_of(secret_incident))
    assert audit.readable_entry_ids(network["people"]["de_admin"], entries) == {e.id for e in entries}
    assert audit.readable_entry_ids(network["people"]["enisa_admin"], entries) == set()


def test_admin_audit_entry_page_redacts_an_unreadable_incident(secret_incident, auditor, login):
    client = login(auditor)
    entry = _entries_of(secret_incident).get(action="incident.created")
    page = client.get(reverse("admin:csoa_portal_auditentry_change", args=[entry.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert SECRET_TITLE not in body and "Only CERT-Bund" not in body
    assert "incident.created" in body and audit.REDACTED in body
    listing = client.get(reverse("admin:csoa_portal_auditentry_changelist")).content.decode()
    assert SECRET_TITLE not in listing and "incident.created" in listing


def test_admin_search_is_no_oracle_for_redacted_content(secret_incident, auditor, login):
    client = login(auditor)
    url = reverse("admin:csoa_portal_auditentry_changelist")
    by_title = client.get(url, {"q": "Hamburg port"})
    by_value = client.get(url, {"q": SECRET_VALUE})
    by_nonsense = client.get(url, {"q": "no such words anywhere"})
    assert by_title.status_code == by_value.status_code == 200
    counts = [list(r.context["cl"].result_list) for r in (by_title, by_value, by_nonsense)]
    assert counts == [[], [], []]
    by_reference = client.get(url, {"q": "incident.created"})
    assert any(e.object_id == str(secret_incident.pk) for e in by_reference.context["cl"].result_list)
    events = client.get(reverse("admin:liaison_event_changelist"), {"q": "Hamburg"})
    assert list(events.context["cl"].result_list) == []


def test_admin_event_page_redacts_the_payload_of_an_unreadable_subject(network, secret_incident, auditor, login):
    client = login(auditor)
    event = Event.objects.filter(subject_type="incident", subject_id=str(secret_incident.pk)).order_by("id").first()
    assert event is not None and SECRET_TITLE in str(event.payload)  # the event does carry the title
    body = client.get(reverse("admin:liaison_event_change", args=[event.pk])).content.decode()
    assert SECRET_TITLE not in body and event.kind in body and "redacted" in body
    listing = client.get(reverse("admin:liaison_event_changelist")).content.decode()
    assert SECRET_TITLE not in listing and event.kind in listing


def test_admin_event_page_shows_the_payload_of_a_readable_subject(network, auditor, login):
    services.update_organisation(
        actor=auditor, organisation=network["orgs"]["pt-csirt"], name="CERT.PT renamed", kind="national_csirt",
        member_state=network["orgs"]["pt-csirt"].member_state,
    )
    event = Event.objects.filter(kind="organisation.updated").latest("id")
    body = login(auditor).get(reverse("admin:liaison_event_change", args=[event.pk])).content.decode()
    assert "CERT.PT renamed" in body


def test_children_follow_their_incident_and_unknown_types_of_a_guarded_app_fail_closed(network, secret_incident):
    observable = secret_incident.observables.get()
    owner, outsider = network["people"]["de_analyst"], network["people"]["enisa_admin"]
    ids = {str(observable.pk)}
    assert audit.readable_object_ids(owner, "incidents.observable", ids) == ids
    assert audit.readable_object_ids(outsider, "incidents.observable", ids) == set()
    assert audit.readable_object_ids(owner, "incidents.somethingnew", {"1"}) == set()
    assert audit.readable_object_ids(outsider, "liaison.organisation", {"1"}) == {"1"}


def test_every_incident_and_reserve_model_has_a_read_check():
    """A new model of a guarded app shows up redacted until its app registers who may read it."""
    from django.apps import apps

    missing = [
        f"{model._meta.app_label}.{model._meta.model_name}"
        for label in ("incidents", "reserve")
        for model in apps.get_app_config(label).get_models()
        if not model._meta.model_name.endswith("groupobjectpermission")
        and f"{model._meta.app_label}.{model._meta.model_name}" not in audit._read_checks
    ]
    assert missing == []


def test_a_stricter_observable_stays_redacted_for_an_admin_who_reads_its_incident(network, auditor, login):
    """A TLP:RED observable on an AMBER incident shared with ENISA: its value is the author's alone, in the log too."""
    analyst = network["people"]["de_analyst"]
    incident = incident_services.report_incident(
        actor=analyst, organisation=network["orgs"]["de-csirt"], title="Shared AMBER incident",
        description="ENISA may read this.", aware_at=timezone.now() - timedelta(hours=1), tlp="amber", severity="high",
    )
    incident_services.share_incident(actor=analyst, incident=incident, organisations=[network["orgs"]["enisa"]])
    incident_services.add_observables(actor=analyst, incident=incident, rows=[
        {"type": "ipv4", "value": "192.0.2.10"}, {"type": "ipv4", "value": SECRET_VALUE, "tlp": "red"},
    ])
    entries = {e.action: e for e in AuditEntry.objects.filter(action__startswith="observables.added")}
    assert SECRET_VALUE not in str(entries["observables.added"].after)
    assert f"ipv4:{SECRET_VALUE}" in entries["observables.added_restricted"].after["values"]

    body = login(auditor).get(reverse("audit:list")).content.decode()
    assert "192.0.2.10" in body and "Shared AMBER incident" in body
    assert SECRET_VALUE not in body and "observables.added_restricted" in body

    # Its author's organisation reads it.
    assert audit.readable_entry_ids(analyst, [entries["observables.added_restricted"]]) == {
        entries["observables.added_restricted"].id}


def test_admin_outbox_shows_who_was_mailed_never_what(network, auditor, login):
    from django.contrib.auth.models import Permission

    from csoa_portal.models import OutboxEmail
    from csoa_portal.outbox import enqueue_email

    auditor.user_permissions.add(Permission.objects.get(codename="view_outboxemail"))
    enqueue_email(key="test:1:liaison@fr.example", recipient="liaison@fr.example",
                  subject=f"Alert: {SECRET_TITLE}", body=f"Observable {SECRET_VALUE}")
    row = OutboxEmail.objects.get()
    client = login(auditor)
    for url in (reverse("admin:csoa_portal_outboxemail_changelist"),
                reverse("admin:csoa_portal_outboxemail_change", args=[row.pk])):
        page = client.get(url)
        assert page.status_code == 200, url
        assert b"liaison@fr.example" in page.content
        assert SECRET_TITLE.encode() not in page.content and SECRET_VALUE.encode() not in page.content, url
