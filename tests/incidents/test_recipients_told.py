"""Nothing appears silently: recipients get an inbox item and, if they want, an e-mail."""

from django.core import mail

from incidents import services
from liaison import services as liaison_services
from liaison.selectors import inbox_for


def test_share_puts_an_item_in_the_recipients_inbox_only(network, incident):
    de, fr = network["people"]["de_analyst"], network["people"]["fr_analyst"]
    services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    items, unread = inbox_for(fr)
    assert [(i.kind, i.subject_id) for i in items] == [("incident.shared", str(incident.pk))] and unread == 1
    assert inbox_for(de) == ([], 0)
    assert inbox_for(network["people"]["pt_analyst"]) == ([], 0)
    liaison_services.mark_inbox_read(actor=fr, up_to_event_id=items[0].id)
    items, unread = inbox_for(fr)
    assert unread == 0 and not items[0].unread


def test_unshared_incident_leaves_the_inbox(network, incident):
    de, fr = network["people"]["de_analyst"], network["people"]["fr_analyst"]
    (share,) = services.share_incident(actor=de, incident=incident, organisations=[network["orgs"]["fr-csirt"]])
    services.unshare_incident(actor=de, share=share)
    assert inbox_for(fr) == ([], 0)


def test_share_emails_recipients_who_want_it_without_incident_content(network, incident,
                                                                    django_capture_on_commit_callbacks):
    fr = network["people"]["fr_analyst"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                                organisations=[network["orgs"]["fr-csirt"]])
    assert [m.to for m in mail.outbox] == [[fr.email]]
    message = mail.outbox[0]
    assert incident.reference in message.subject and "TLP:AMBER" in message.subject
    assert incident.title not in message.subject + message.body
    assert f"/incidents/{incident.pk}/" in message.body


def test_no_email_for_people_who_turned_notifications_off(network, incident, django_capture_on_commit_callbacks):
    fr = network["people"]["fr_analyst"]
    fr.email_notifications = False
    fr.save(update_fields=["email_notifications"])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                                organisations=[network["orgs"]["fr-csirt"]])
    assert mail.outbox == []


def test_dashboard_inbox_lists_the_shared_incident_until_marked_read(network, incident, login):
    fr = network["people"]["fr_analyst"]
    services.share_incident(actor=network["people"]["de_analyst"], incident=incident,
                            organisations=[network["orgs"]["fr-csirt"]])
    client = login(fr)
    page = client.get("/").content.decode()
    assert "1 new" in page and f'href="/incidents/{incident.pk}/"' in page and incident.reference in page
    up_to = inbox_for(fr)[0][0].id
    assert client.post("/inbox/read/", {"up_to": up_to}).status_code == 302
    assert "1 new" not in client.get("/").content.decode()
    assert client.post("/inbox/read/", {"up_to": "x"}).status_code == 400
    pt_page = login(network["people"]["pt_analyst"]).get("/").content.decode()
    assert incident.reference not in pt_page
