"""load_demo builds the demo network once; a second run writes nothing."""

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from csoa_portal.audit import verify_chain
from csoa_portal.models import AuditEntry
from liaison.management.commands.load_demo import DEMO_PASSWORD
from liaison.models import MemberState, Membership, Organisation, User
from liaison.roles import Role

pytestmark = pytest.mark.django_db

EU_MEMBERS = "AT BE BG HR CY CZ DK EE FI FR DE GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE HU".split()


def _row_counts():
    labels = ("liaison", "csoa_portal", "otp_totp", "auth")
    counts = {}
    for label in labels:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            counts[model._meta.db_table] = model._default_manager.count()
    return counts


def test_load_demo_twice_changes_nothing_the_second_time():
    call_command("load_demo", "--quiet")
    first = _row_counts()
    last_audit = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    call_command("load_demo", "--quiet")
    assert _row_counts() == first
    assert AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() == last_audit


def test_load_demo_builds_the_demo_network(settings):
    """One run, several facts: loading the demo takes seconds, so it is loaded once here."""
    call_command("load_demo", "--quiet")
    _each_eu_member_state_has_a_csirt_and_an_authority_with_three_people()
    _the_eu_level_and_at_least_eight_providers_exist()
    _enisa_admin_is_a_network_admin_with_admin_access_and_audit_browsing()
    _demo_accounts_share_the_demo_password_and_totp_secret(settings)
    _what_it_created_is_audited_and_the_chain_verifies()


def _each_eu_member_state_has_a_csirt_and_an_authority_with_three_people():
    people = {
        (m.user.email, m.organisation.code, m.role)
        for m in Membership.objects.select_related("user", "organisation")
    }
    for iso in EU_MEMBERS:
        for suffix, kind in (("csirt", "national_csirt"), ("authority", "crisis_authority")):
            org = Organisation.objects.get(code=f"{iso.lower()}-{suffix}")
            assert org.kind == kind and org.member_state.code == iso
            for local, role in (("analyst", Role.ANALYST), ("liaison", Role.LIAISON_OFFICER), ("admin", Role.ORG_ADMIN)):
                assert (f"{local}@{org.code}.demo", org.code, role) in people


def _the_eu_level_and_at_least_eight_providers_exist():
    assert Organisation.objects.get(code="enisa").kind == "enisa"
    assert Organisation.objects.get(code="ec").kind == "commission"
    assert Organisation.objects.get(code="cert-eu").member_state.code == "EU"
    providers = Organisation.objects.filter(kind="reserve_provider", code__startswith="provider-")
    assert providers.count() >= 8
    assert providers.values("member_state").distinct().count() >= 5
    for provider in providers:
        assert User.objects.filter(email=f"staff@{provider.code}.demo").exists()
    expected = {
        "triage@enisa.demo": Role.ENISA_TRIAGE, "decision@enisa.demo": Role.DECISION_MAKER,
        "liaison@enisa.demo": Role.LIAISON_OFFICER, "decision@ec.demo": Role.DECISION_MAKER,
        "liaison@ec.demo": Role.LIAISON_OFFICER, "analyst@cert-eu.demo": Role.ANALYST,
    }
    for email, role in expected.items():
        assert User.objects.get(email=email).memberships.filter(role=role).exists()


def _enisa_admin_is_a_network_admin_with_admin_access_and_audit_browsing():
    admin = User.objects.get(email="admin@enisa.demo")
    assert admin.is_staff and not admin.is_superuser
    assert admin.groups.filter(name="network-admins").exists()
    assert admin.has_perm("csoa_portal.browse_audit")


def _demo_accounts_share_the_demo_password_and_totp_secret(settings):
    user = User.objects.get(email="analyst@de-csirt.demo")
    assert user.check_password(DEMO_PASSWORD)
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed and device.key == settings.DEMO_TOTP_SECRET_HEX
    assert device.verify_token(f"{totp(bytes.fromhex(settings.DEMO_TOTP_SECRET_HEX)):06d}")


def _what_it_created_is_audited_and_the_chain_verifies():
    assert AuditEntry.objects.filter(action="organisation.created", organisation_code="de-csirt", via="command").exists()
    assert AuditEntry.objects.filter(action="person.created", organisation_code="de-csirt").count() == 3
    assert verify_chain().ok


def test_load_demo_refuses_to_run_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("load_demo", "--quiet")
    assert not Organisation.objects.filter(code="de-csirt").exists()


def test_member_states_and_organisation_kinds_are_present():
    assert MemberState.objects.filter(kind="eu_member").count() == 27
    assert set(EU_MEMBERS) == set(MemberState.objects.filter(kind="eu_member").values_list("code", flat=True))
    assert MemberState.objects.get(code="GR").display_code == "EL"
    assert MemberState.objects.filter(kind="dep_associated", code="NO").exists()
    assert MemberState.objects.get(code="EU").kind == "euiba"
    kinds = {value for value, _ in Organisation._meta.get_field("kind").choices}
    assert {"national_csirt", "crisis_authority", "spoc", "national_hub", "cross_border_hub", "enisa",
            "commission", "cert_eu", "reserve_provider"} <= kinds


def test_demo_code_prints_the_current_code(capsys, settings):
    call_command("demo_code")
    out = capsys.readouterr().out.strip()
    assert out == f"{totp(bytes.fromhex(settings.DEMO_TOTP_SECRET_HEX)):06d}"
