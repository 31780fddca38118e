"""A person added by an admin (no password yet) sets one through an e-mailed link."""

import re

from django.core import mail
from django.test import Client

from csoa_portal.models import AuditEntry
from liaison import services


def test_new_person_sets_a_password_by_email_link_then_can_log_in(network):
    person = services.create_person(actor=None, email="new@de-csirt.example", full_name="New Analyst",
                                    organisation=network["orgs"]["de-csirt"], roles=["analyst"])
    assert not person.has_usable_password()
    client = Client()
    response = client.post("/accounts/password/", {"email": "NEW@de-csirt.example"})
    assert response.status_code == 302
    (message,) = mail.outbox
    link = re.search(r"https?://[^/]+(/accounts/password/\S+)", message.body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and b"Choose a password" in form_page.content
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": "a long and fresh passphrase 42",
                                                         "new_password2": "a long and fresh passphrase 42"})
    assert done.status_code == 302
    person.refresh_from_db()
    assert person.check_password("a long and fresh passphrase 42")
    assert AuditEntry.objects.filter(action="password.set", actor_id=person.pk).exists()
    login = client.post("/accounts/login/", {"username": person.email, "password": "a long and fresh passphrase 42"})
    assert login.status_code == 302 and login["Location"].startswith("/accounts/enrol/")


def test_unknown_address_and_service_accounts_get_no_email_and_no_hint(network, token_for):
    token_for(network["orgs"]["de-csirt"])  # creates the service account
    client = Client()
    for email in ["nobody@nowhere.example", "api+de-csirt@service.csoa-portal.invalid"]:
        response = client.post("/accounts/password/", {"email": email})
        assert response.status_code == 302 and response["Location"] == "/accounts/password/sent/"
    assert mail.outbox == []
