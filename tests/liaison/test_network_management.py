"""Network admins manage member states, organisations and people; org admins their own people."""

import pytest
from django.urls import reverse

from csoa_portal.models import AuditEntry
from liaison.models import Event, MemberState, Membership, Organisation, User

pytestmark = pytest.mark.django_db


def test_network_admin_creates_an_organisation_with_audit_entry_and_event(network, login):
    admin = network["people"]["enisa_admin"]
    response = login(admin).post(
        reverse("liaison:organisation_create"),
        {"code": "de-hub", "name": "German national cyber hub", "kind": "national_hub", "member_state": "DE"},
    )
    assert response.status_code == 302
    org = Organisation.objects.get(code="de-hub")
    assert org.member_state.code == "DE"
    entry = AuditEntry.objects.get(action="organisation.created", object_id=str(org.pk))
    assert entry.actor_email == admin.email and entry.via == "session"
    assert Event.objects.filter(kind="organisation.created", subject_id=str(org.pk)).exists()


def test_network_admin_edits_an_organisation_but_not_its_code(network, login):
    client = login(network["people"]["enisa_admin"])
    url = reverse("liaison:organisation_edit", args=["fr-csirt"])
    assert "code" not in client.get(url).context["form"].fields
    response = client.post(
        url, {"code": "hijack", "name": "CERT-FR (ANSSI)", "kind": "national_csirt", "member_state": "FR",
              "contact_email": "cert-fr@example.fr", "is_active": "on"},
    )
    assert response.status_code == 302
    org = Organisation.objects.get(pk=network["orgs"]["fr-csirt"].pk)
    assert org.code == "fr-csirt" and org.name == "CERT-FR (ANSSI)"
    entry = AuditEntry.objects.get(action="organisation.updated", object_id=str(org.pk))
    assert entry.before["name"] == "CERT-FR" and entry.after["name"] == "CERT-FR (ANSSI)"
    assert Event.objects.filter(kind="organisation.updated", subject_id=str(org.pk)).exists()


def test_service_error_is_shown_on_the_field_with_400(network, login):
    response = login(network["people"]["enisa_admin"]).post(
        reverse("liaison:organisation_create"), {"code": "x-csirt", "name": "X", "kind": "national_csirt"}
    )
    assert response.status_code == 400
    assert "member_state" in response.context["form"].errors
    assert not Organisation.objects.filter(code="x-csirt").exists()


def test_duplicate_or_malformed_organisation_code_is_refused_naming_the_code(network, login):
    client = login(network["people"]["enisa_admin"])
    for code in ("de-csirt", "Bad Code"):
        response = client.post(
            reverse("liaison:organisation_create"),
            {"code": code, "name": "X", "kind": "national_csirt", "member_state": "DE"},
        )
        assert response.status_code == 400
        assert "code" in response.context["form"].errors


def test_network_admin_creates_and_edits_a_member_state(network, login):
    client = login(network["people"]["enisa_admin"])
    response = client.post(reverse("liaison:member_state_create"), {"code": "ch", "name": "Switzerland", "kind": "dep_associated", "time_zone": "Europe/Zurich"})
    assert response.status_code == 302
    assert MemberState.objects.get(code="CH").name == "Switzerland"
    response = client.post(
        reverse("liaison:member_state_edit", args=["CH"]),
        {"code": "XX", "name": "Swiss Confederation", "kind": "dep_associated", "time_zone": "Europe/Zurich", "is_active": "on"},
    )
    assert response.status_code == 302
    assert MemberState.objects.get(code="CH").name == "Swiss Confederation"
    assert AuditEntry.objects.filter(action="member_state.updated").exists()


def test_csoa_art19_network_admin_sets_a_third_countrys_reserve_eligibility_on_the_member_state_form(network, login):
    client = login(network["people"]["enisa_admin"])
    form = {"name": "Türkiye", "kind": "dep_associated", "time_zone": "Europe/Istanbul", "is_active": "on"}
    assert client.get(reverse("liaison:member_state_edit", args=["TR"])).status_code == 200
    response = client.post(reverse("liaison:member_state_edit", args=["TR"]), {**form, "reserve_eligible": "on"})
    assert response.status_code == 302
    assert MemberState.objects.get(code="TR").reserve_eligible is True
    entry = AuditEntry.objects.filter(action="member_state.updated").latest("pk")
    assert entry.after["reserve_eligible"] is True
    assert Event.objects.filter(kind="member_state.updated", payload__reserve_eligible=True).exists()
    assert "Eligible under its association agreement" in client.get(
        reverse("liaison:member_state", args=["TR"])).content.decode()
    client.post(reverse("liaison:member_state_edit", args=["TR"]), form)  # unticked: off again
    assert MemberState.objects.get(code="TR").reserve_eligible is False


def test_csoa_art19_an_eu_member_state_cannot_carry_the_reserve_flag(network, login):
    client = login(network["people"]["enisa_admin"])
    response = client.post(reverse("liaison:member_state_edit", args=["DE"]),
                           {"name": "Germany", "kind": "eu_member", "time_zone": "Europe/Berlin", "is_active": "on",
                            "reserve_eligible": "on"})
    assert response.status_code == 400
    assert "Art. 19" in str(response.context["form"].errors)
    assert MemberState.objects.get(code="DE").reserve_eligible is False


def test_only_network_admins_change_the_reserve_flag(network, login):
    response = login(network["people"]["de_analyst"]).post(
        reverse("liaison:member_state_edit", args=["TR"]),
        {"name": "Türkiye", "kind": "dep_associated", "time_zone": "Europe/Istanbul", "is_active": "on",
         "reserve_eligible": "on"})
    assert response.status_code in (403, 404)
    assert MemberState.objects.get(code="TR").reserve_eligible is False


def test_network_admin_adds_a_person_with_roles(network, login):
    admin = network["people"]["enisa_admin"]
    response = login(admin).post(
        reverse("liaison:person_add", args=["fr-csirt"]),
        {"email": "New.Analyst@CERT.fr", "full_name": "Nouvelle Analyste", "roles": ["analyst", "liaison_officer"]},
    )
    assert response.status_code == 302
    person = User.objects.get(email="new.analyst@cert.fr")
    assert set(person.memberships.values_list("role", flat=True)) == {"analyst", "liaison_officer"}
    assert not person.has_usable_password()
    assert AuditEntry.objects.filter(action="person.created", object_id=str(person.pk), actor_email=admin.email).exists()
    assert Event.objects.filter(kind="membership.added", payload__user="new.analyst@cert.fr").count() == 2


def test_a_role_the_organisation_kind_may_not_hold_is_refused_naming_the_role(network, login):
    response = login(network["people"]["enisa_admin"]).post(
        reverse("liaison:person_add", args=["fr-csirt"]),
        {"email": "x@cert.fr", "full_name": "X", "roles": ["enisa_triage"]},
    )
    assert response.status_code == 400
    assert "roles" in response.context["form"].errors or "role" in str(response.context["form"].errors)
    assert not User.objects.filter(email="x@cert.fr").exists()  # nothing half-written


def test_org_admin_manages_people_of_their_own_organisation(network, login):
    client = login(network["people"]["de_admin"])
    analyst = network["people"]["de_analyst"]
    response = client.post(reverse("liaison:role_add", args=["de-csirt", analyst.pk]), {"role": "crisis_manager"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=analyst, role="crisis_manager")
    assert analyst.groups.filter(name="role:crisis_manager").exists()
    response = client.post(reverse("liaison:role_remove", args=["de-csirt", membership.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditEntry.objects.filter(action="membership.removed").exists()
    response = client.post(
        reverse("liaison:person_edit", args=["de-csirt", analyst.pk]),
        {"full_name": "Former Analyst", "timezone": "Europe/Berlin"},
    )
    assert response.status_code == 302
    analyst.refresh_from_db()
    assert not analyst.is_active and analyst.timezone == "Europe/Berlin"
    entry = AuditEntry.objects.get(action="person.updated", object_id=str(analyst.pk))
    assert entry.before["is_active"] is True and entry.after["is_active"] is False


def test_org_admin_cannot_manage_another_organisations_people(network, login):
    client = login(network["people"]["de_admin"])
    fr_analyst = network["people"]["fr_analyst"]
    # fr-csirt is in the directory: its admins are named, nothing is changed.
    refused = client.get(reverse("liaison:person_add", args=["fr-csirt"]))
    assert refused.status_code == 403 and "Only the organisation admins of CERT-FR manage its people." in refused.content.decode()
    assert client.post(reverse("liaison:role_add", args=["fr-csirt", fr_analyst.pk]), {"role": "analyst"}).status_code == 403
    # A person of another organisation is not reachable through one's own either.
    assert client.get(reverse("liaison:person_edit", args=["de-csirt", fr_analyst.pk])).status_code == 404


@pytest.mark.parametrize(
    "name, args",
    [
        ("liaison:organisation_create", []),
        ("liaison:organisation_edit", ["de-csirt"]),
        ("liaison:member_state_create", []),
        ("liaison:member_state_edit", ["DE"]),
    ],
)
def test_non_network_admins_are_told_who_manages_the_network(network, login, name, args):
    for person in ("de_admin", "de_analyst", "enisa_triage"):
        client = login(network["people"][person])
        response = client.get(reverse(name, args=args))
        assert response.status_code == 403
        assert "Only the network administrators manage member states and organisations." in response.content.decode()
        assert client.post(reverse(name, args=args), {"name": "x"}).status_code == 403
    assert Organisation.objects.get(code="de-csirt").name == "CERT-Bund"


def test_analyst_is_told_that_the_organisation_admins_manage_people(network, login):
    client = login(network["people"]["de_analyst"])
    response = client.get(reverse("liaison:person_add", args=["de-csirt"]))
    assert response.status_code == 403 and "admin@de-csirt.example" in response.content.decode()


def test_org_admin_sees_management_controls_on_their_organisation_page(network, login):
    client = login(network["people"]["de_admin"])
    body = client.get(reverse("liaison:organisation", args=["de-csirt"])).content.decode()
    analyst = network["people"]["de_analyst"]
    assert reverse("liaison:person_add", args=["de-csirt"]) in body
    assert reverse("liaison:role_add", args=["de-csirt", analyst.pk]) in body
    assert client.get(reverse("liaison:person_edit", args=["de-csirt", analyst.pk])).status_code == 200
    assert client.get(reverse("liaison:person_add", args=["de-csirt"])).status_code == 200


def test_org_admin_cannot_remove_their_own_admin_role(network, login):
    admin = network["people"]["de_admin"]
    membership = Membership.objects.get(user=admin, role="org_admin")
    login(admin).post(reverse("liaison:role_remove", args=["de-csirt", membership.pk]))
    assert Membership.objects.filter(pk=membership.pk).exists()
