"""The Django admin: OTP-verified sessions only, the portal's login, every write audited."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from csoa_portal.models import ApiToken, AuditEntry
from liaison.models import Membership, Organisation, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_admin(network):
    admin_user = network["people"]["enisa_admin"]
    User.objects.filter(pk=admin_user.pk).update(is_staff=True)
    admin_user.refresh_from_db()
    return admin_user


def test_admin_site_requires_an_otp_verified_session(staff_admin):
    request = RequestFactory().get("/admin/")
    request.user = staff_admin
    request.user.is_verified = lambda: False
    assert not admin.site.has_permission(request)
    request.user.is_verified = lambda: True
    assert admin.site.has_permission(request)


def test_admin_sends_anonymous_visitors_to_the_portal_login(client, db):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "next=/admin/" in response["Location"]


def test_staff_without_second_factor_does_not_reach_the_admin(client, staff_admin):
    client.force_login(staff_admin)  # password only, no TOTP
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:index") != response["Location"]


def test_verified_non_staff_gets_403_not_a_login_loop(network, login):
    response = login(network["people"]["de_analyst"]).get(reverse("admin:login"))
    assert response.status_code == 403


def test_verified_network_admin_uses_the_admin(staff_admin, login):
    client = login(staff_admin)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("admin:liaison_organisation_changelist")).status_code == 200
    assert client.get(reverse("admin:csoa_portal_auditentry_changelist")).status_code == 200


def test_admin_save_of_an_organisation_goes_through_the_service_and_is_audited(network, staff_admin, login):
    org = network["orgs"]["pt-csirt"]
    response = login(staff_admin).post(
        reverse("admin:liaison_organisation_change", args=[org.pk]),
        {"name": "CERT.PT (CNCS)", "kind": "national_csirt", "member_state": org.member_state_id,
         "contact_email": "", "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    org.refresh_from_db()
    assert org.name == "CERT.PT (CNCS)" and org.code == "pt-csirt"
    entry = AuditEntry.objects.get(action="organisation.updated", object_id=str(org.pk))
    assert entry.via == "admin" and entry.actor_email == staff_admin.email
    assert entry.before["name"] == "CERT.PT"


def test_admin_creates_an_organisation_through_the_service(staff_admin, login):
    response = login(staff_admin).post(
        reverse("admin:liaison_organisation_add"),
        {"code": "ie-hub", "name": "IE hub", "kind": "national_hub", "member_state": "", "contact_email": ""},
    )
    assert response.status_code == 200  # a national hub needs its member state
    assert not Organisation.objects.filter(code="ie-hub").exists()
    from liaison.models import MemberState

    response = login(staff_admin).post(
        reverse("admin:liaison_organisation_add"),
        {"code": "ie-hub", "name": "IE hub", "kind": "national_hub",
         "member_state": MemberState.objects.get(code="IE").pk, "contact_email": ""},
    )
    assert response.status_code == 302
    org = Organisation.objects.get(code="ie-hub")
    assert org.group.name == "org:ie-hub"
    assert AuditEntry.objects.filter(action="organisation.created", object_id=str(org.pk), via="admin").exists()


def test_admin_user_change_and_membership_inline_are_audited(network, staff_admin, login):
    person = network["people"]["pt_analyst"]
    data = {
        "email": person.email, "full_name": "Ana Analista", "timezone": "Europe/Lisbon",
        "email_notifications": "on", "is_active": "on",
        "memberships-TOTAL_FORMS": "2", "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": person.memberships.get().pk, "memberships-0-user": person.pk,
        "memberships-0-organisation": network["orgs"]["pt-csirt"].pk, "memberships-0-role": "analyst",
        "memberships-1-user": person.pk,
        "memberships-1-organisation": network["orgs"]["pt-csirt"].pk, "memberships-1-role": "liaison_officer",
    }
    response = login(staff_admin).post(reverse("admin:liaison_user_change", args=[person.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    person.refresh_from_db()
    assert person.full_name == "Ana Analista" and not person.is_superuser
    updated = AuditEntry.objects.get(action="person.updated", object_id=str(person.pk))
    assert updated.via == "admin" and updated.after["full_name"] == "Ana Analista"
    assert Membership.objects.filter(user=person, role="liaison_officer").exists()
    assert person.groups.filter(name="role:liaison_officer").exists()
    assert AuditEntry.objects.filter(action="membership.added", via="admin").exists()


def test_network_admin_cannot_make_anyone_superuser_in_the_admin(network, staff_admin, login):
    person = network["people"]["pt_analyst"]
    data = {
        "email": person.email, "full_name": "X", "timezone": "Europe/Lisbon", "is_active": "on",
        "is_superuser": "on", "is_staff": "on",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
    }
    login(staff_admin).post(reverse("admin:liaison_user_change", args=[person.pk]), data)
    person.refresh_from_db()
    assert not person.is_superuser and not person.is_staff


def test_audit_log_and_tokens_are_read_only_in_the_admin(staff_admin, login, network, token_for):
    token_for(network["orgs"]["de-csirt"])
    client = login(staff_admin)
    entry = AuditEntry.objects.first()
    assert client.get(reverse("admin:csoa_portal_auditentry_add")).status_code == 403
    assert client.post(reverse("admin:csoa_portal_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    token = ApiToken.objects.get()
    response = client.post(
        reverse("admin:csoa_portal_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEntry.objects.filter(action="token.revoked", via="admin").exists()


def test_admin_adds_a_person_with_email_login_and_audits_it(staff_admin, login):
    client = login(staff_admin)
    assert client.get(reverse("admin:liaison_user_add")).status_code == 200
    response = client.post(
        reverse("admin:liaison_user_add"),
        {"email": "New.Person@Example.eu", "full_name": "New Person", "usable_password": "true",
         "password1": "a long demo passphrase 42", "password2": "a long demo passphrase 42",
         "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
         "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    person = User.objects.get(email="new.person@example.eu")
    assert person.check_password("a long demo passphrase 42")
    entry = AuditEntry.objects.get(action="person.created", object_id=str(person.pk))
    assert entry.via == "admin" and "password" not in entry.after


def test_deleting_a_lost_totp_device_in_the_admin_is_audited(network, staff_admin, login):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=network["people"]["pt_analyst"])
    response = login(staff_admin).post(
        reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    entry = AuditEntry.objects.get(action="totp_device.deleted", object_id=str(device.pk))
    assert entry.via == "admin" and "key" not in entry.before


@pytest.mark.parametrize("view", ["config", "qrcode"])
def test_admin_never_shows_a_totp_secret_even_for_an_unknown_device(network, staff_admin, login, view):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = login(staff_admin)
    device = TOTPDevice.objects.get(user=network["people"]["pt_analyst"])
    for pk in (device.pk, 999999):
        response = client.get(reverse(f"admin:otp_totp_totpdevice_{view}", args=[pk]))
        assert response.status_code == 403
        assert device.key not in response.content.decode(errors="replace")


def test_admin_refuses_an_organisation_kind_its_members_roles_cannot_hold(network, login):
    """A provider kind for de-csirt would strand its liaison-capable roles: a form error, not a 500."""
    admin_user = network["people"]["enisa_admin"]
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    org = network["orgs"]["de-authority"]
    client = login(admin_user)
    response = client.post(f"/admin/liaison/organisation/{org.pk}/change/", {
        "name": org.name, "kind": "reserve_provider", "member_state": org.member_state_id,
        "contact_email": "", "is_active": "on",
    })
    assert response.status_code == 200
    assert b"hold roles this kind may not have" in response.content
    org.refresh_from_db()
    assert org.kind == "crisis_authority"


def test_admin_password_change_is_saved_through_the_service_and_audited(network, staff_admin, login):
    person = network["people"]["pt_analyst"]
    response = login(staff_admin).post(
        reverse("admin:auth_user_password_change", args=[person.pk]),
        {"usable_password": "true", "password1": "another long passphrase 7", "password2": "another long passphrase 7"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()
    assert person.check_password("another long passphrase 7")
    assert AuditEntry.objects.get(action="person.password_set", object_id=str(person.pk)).via == "admin"


def test_superuser_grants_a_direct_permission_through_the_service_and_it_is_audited(network, staff_admin, login):
    from django.contrib.auth.models import Permission

    User.objects.filter(pk=staff_admin.pk).update(is_superuser=True)
    person = network["people"]["pt_analyst"]
    permission = Permission.objects.get(codename="view_auditentry")
    data = {
        "email": person.email, "full_name": person.full_name or "Ana", "timezone": "Europe/Lisbon", "is_active": "on",
        "user_permissions": [permission.pk],
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
    }
    response = login(staff_admin).post(reverse("admin:liaison_user_change", args=[person.pk]), data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(person.user_permissions.all()) == [permission]
    updated = AuditEntry.objects.get(action="person.updated", object_id=str(person.pk))
    assert updated.before["user_permissions"] == [] and updated.after["user_permissions"] == [permission.pk]


def test_admin_edits_and_adds_a_member_state_through_the_service(staff_admin, login):
    from liaison.models import MemberState

    User.objects.filter(pk=staff_admin.pk).update(is_superuser=True)
    client = login(staff_admin)
    ie = MemberState.objects.get(code="IE")
    changed = client.post(reverse("admin:liaison_memberstate_change", args=[ie.pk]), {
        "name": "Éire / Ireland", "eu_label": ie.eu_label, "kind": ie.kind, "time_zone": "Europe/London",
        "is_active": "on"})
    assert changed.status_code == 302, changed.context["adminform"].form.errors
    ie.refresh_from_db()
    assert ie.name == "Éire / Ireland" and ie.time_zone == "Europe/London"
    assert AuditEntry.objects.filter(object_id=str(ie.pk), via="admin", action__startswith="member_state").exists()

    added = client.post(reverse("admin:liaison_memberstate_add"), {
        "code": "XK", "name": "Kosovo", "eu_label": "", "kind": ie.kind, "time_zone": "Europe/Belgrade",
        "is_active": "on"})
    assert added.status_code == 302, added.context["adminform"].form.errors
    assert MemberState.objects.get(code="XK").time_zone == "Europe/Belgrade"
