"""Load the demo network: every EU member state's CSIRT and crisis authority, the EU level, providers.

Idempotent: what exists is left alone, so a second run writes nothing (no rows, no
audit entries). Organisations and people are created through liaison.services, so the
demo data is audited like any other write. Refuses to run in production: every demo
account shares one known password and one known TOTP secret.
"""

import base64
from datetime import timezone as dt_timezone

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from csoa_portal import audit, context
from liaison import services
from liaison.groups import grant_network_admin_permissions
from liaison.models import MemberState, Organisation, User
from liaison.roles import OrganisationKind as Kind
from liaison.roles import Role
from liaison.selectors import presidency_on

DEMO_PASSWORD = "csoa-demo-2025"  # demo only; load_demo refuses to run in production
DEMO_DOMAIN = "demo"
PORTAL_URL = "http://127.0.0.1:8000"

# National CSIRTs as commonly known; anything missing falls back to a generic name.
CSIRT_NAMES = {
    "AT": "CERT.at", "BE": "CERT.be (Centre for Cybersecurity Belgium)", "BG": "CERT Bulgaria",
    "HR": "CERT.hr", "CY": "CSIRT-CY", "CZ": "GovCERT.CZ (NÚKIB)", "DK": "CFCS — Centre for Cyber Security",
    "EE": "CERT-EE", "FI": "NCSC-FI", "FR": "CERT-FR (ANSSI)", "DE": "CERT-Bund (BSI)",
    "GR": "National CERT of Greece", "HU": "GovCERT-Hungary (NKI)", "IE": "CSIRT-IE (NCSC Ireland)",
    "IT": "CSIRT Italia (ACN)", "LV": "CERT.LV", "LT": "CERT-LT (NKSC)", "LU": "GOVCERT.LU",
    "MT": "CSIRTMalta", "NL": "NCSC-NL", "PL": "CERT Polska", "PT": "CERT.PT", "RO": "CERT-RO (DNSC)",
    "SK": "SK-CERT", "SI": "SI-CERT", "ES": "INCIBE-CERT", "SE": "CERT-SE",
}
AUTHORITY_NAMES = {
    "DE": "BSI — National IT Crisis Management", "FR": "ANSSI — Cyber Crisis Management",
    "NL": "NCTV — Cyber Crisis Management", "ES": "DSN — National Cybersecurity Council",
}
STAFF = [("analyst", Role.ANALYST), ("liaison", Role.LIAISON_OFFICER), ("admin", Role.ORG_ADMIN)]

# (code, name, kind, member state, [(local part, role)])
EU_LEVEL = [
    ("enisa", "ENISA — European Union Agency for Cybersecurity", Kind.ENISA, None, [
        ("triage", Role.ENISA_TRIAGE), ("admin", Role.ORG_ADMIN),
        ("liaison", Role.LIAISON_OFFICER), ("decision", Role.DECISION_MAKER),
    ]),
    ("ec", "European Commission (DG CNECT)", Kind.COMMISSION, None, [
        ("decision", Role.DECISION_MAKER), ("liaison", Role.LIAISON_OFFICER),
    ]),
    ("cert-eu", "CERT-EU", Kind.CERT_EU, "EU", [("analyst", Role.ANALYST)]),
    ("no-csirt", "NCSC Norway", Kind.NATIONAL_CSIRT, "NO", [("analyst", Role.ANALYST)]),
    ("ua-csirt", "CERT-UA", Kind.NATIONAL_CSIRT, "UA", [("analyst", Role.ANALYST)]),
]
# Fictional trusted managed security service providers of the EU Cybersecurity Reserve.
PROVIDERS = [
    ("northwatch", "NorthWatch Security GmbH", "DE"), ("aegis", "Aegis Réponse SAS", "FR"),
    ("baltic-shield", "Baltic Shield OÜ", "EE"), ("iberia-ir", "Iberia Incident Response S.L.", "ES"),
    ("alpine-soc", "Alpine SOC GmbH", "AT"), ("nordic-dfir", "Nordic DFIR AB", "SE"),
    ("tulip", "Tulip Cyber Defence B.V.", "NL"), ("vistula", "Vistula Security sp. z o.o.", "PL"),
    ("adriatic", "Adriatic Cyber d.o.o.", "HR"), ("hellas-ir", "Hellas IR S.A.", "GR"),
]
# One account per role of the network, each able to do what its label says (the banner; README "First tour").
# The Council Presidency's is added for the presidency of the day, and each app adds its own (``demo_accounts``).
EXAMPLE_ACCOUNTS = [
    ("DE CSIRT analyst: reports incidents, edits their facts, requests Reserve support", "analyst@de-csirt.demo"),
    ("DE crisis authority liaison officer: declares levels 1 and 2, follows the crisis board",
     "liaison@de-authority.demo"),
    ("FR crisis authority liaison officer: EU-CyCLONe member, proposes level 3", "liaison@fr-authority.demo"),
    ("FR CSIRT analyst: receives shares and CSIRTs Network alerts", "analyst@fr-csirt.demo"),
]
ADMIN_ACCOUNTS = [("ENISA admin: network admin, audit log, Django admin", "admin@enisa.demo")]


def demo_organisations(member_states: dict[str, MemberState]):
    """Every demo organisation as (code, name, kind, member state code, staff)."""
    for ms in sorted(member_states.values(), key=lambda m: m.code):
        if ms.kind != MemberState.Kind.EU_MEMBER:
            continue
        iso = ms.code.lower()
        yield (f"{iso}-csirt", CSIRT_NAMES.get(ms.code, f"{ms.name} national CSIRT"), Kind.NATIONAL_CSIRT,
               ms.code, STAFF)
        yield (f"{iso}-authority", AUTHORITY_NAMES.get(ms.code, f"{ms.name} cyber crisis management authority"),
               Kind.CRISIS_AUTHORITY, ms.code, STAFF)
        # The NIS2 single point of contact through which the state's Reserve requests go (CSoA Art. 15(3)).
        yield (f"{iso}-spoc", f"{ms.name} NIS2 single point of contact", Kind.SPOC, ms.code,
               [("spoc", Role.CRISIS_MANAGER)])
    yield from EU_LEVEL
    for slug, name, ms_code in PROVIDERS:
        yield (f"provider-{slug}", name, Kind.RESERVE_PROVIDER, ms_code, [("staff", Role.PROVIDER_STAFF)])


def totp_secret_base32() -> str:
    return base64.b32encode(bytes.fromhex(settings.DEMO_TOTP_SECRET_HEX)).decode("ascii")


class Command(BaseCommand):
    help = "Load the demo network and demo accounts (idempotent; refused in production)."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the demo accounts.")

    def handle(self, *args, quiet=False, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "load_demo refuses to run in production: demo accounts share a published password and TOTP secret."
            )
        with context.origin(via="command"), transaction.atomic():
            counts = self.load()
        self.stdout.write(
            f"Demo data: {counts['organisations']} organisation(s) and {counts['people']} person(s) created"
            + (" (already loaded: nothing changed)." if not any(counts.values()) else ".")
        )
        if not quiet:
            self.print_accounts()

    def load(self) -> dict[str, int]:
        member_states = {ms.code: ms for ms in MemberState.objects.all()}
        missing = {"DE", "EU", "NO"} - member_states.keys()
        if missing:
            raise CommandError(f"Member states {sorted(missing)} are missing: run `python manage.py migrate` first.")
        organisations = {o.code: o for o in Organisation.objects.all()}
        existing_people = set(User.objects.filter(email__endswith=f".{DEMO_DOMAIN}").values_list("email", flat=True))
        counts = {"organisations": 0, "people": 0, "passwords": 0, "devices": 0, "staff": 0}
        demo_emails = []
        for code, name, kind, ms_code, staff in demo_organisations(member_states):
            organisation = organisations.get(code)
            if organisation is None:
                organisation = services.create_organisation(
                    actor=None, code=code, name=name, kind=kind, member_state=member_states.get(ms_code)
                )
                counts["organisations"] += 1
            for local, role in staff:
                email = f"{local}@{code}.{DEMO_DOMAIN}"
                demo_emails.append(email)
                if email not in existing_people:
                    services.create_person(
                        actor=None, email=email, full_name=f"{Role(role).label} ({code})",
                        organisation=organisation, roles=[role],
                    )
                    counts["people"] += 1
        counts["passwords"] = self.set_passwords(demo_emails)
        counts["devices"] = self.enrol_devices(demo_emails)
        counts["staff"] = self.grant_admin_access("admin@enisa.demo")
        grant_network_admin_permissions()
        # Apps to the left add their demo data (the Reserve's providers and a request) without liaison importing them.
        for config in apps.get_app_configs():
            if hasattr(config, "load_demo"):
                config.load_demo(stdout=self.stdout)
        return counts

    def set_passwords(self, emails) -> int:
        """Hash the shared password once (PBKDF2 is slow by design) and give it to new demo users."""
        pending = User.objects.filter(email__in=emails, password__startswith="!")  # unusable: never set
        count = pending.count()
        if count:
            pending.update(password=make_password(DEMO_PASSWORD))
            audit.record(
                actor=None, action="demo.passwords_set", object_type="liaison.user",
                after={"users": count, "note": "shared demo password"},
            )
        return count

    def enrol_devices(self, emails) -> int:
        """A confirmed TOTP device with the published demo secret for each demo user without one."""
        enrolled = set(TOTPDevice.objects.filter(user__email__in=emails).values_list("user_id", flat=True))
        users = User.objects.filter(email__in=emails).exclude(pk__in=enrolled)
        devices = [
            TOTPDevice(user=user, name="demo authenticator", key=settings.DEMO_TOTP_SECRET_HEX, confirmed=True)
            for user in users
        ]
        if devices:
            TOTPDevice.objects.bulk_create(devices)
            audit.record(
                actor=None, action="demo.totp_enrolled", object_type="otp_totp.totpdevice",
                after={"devices": len(devices)},
            )
        return len(devices)

    def grant_admin_access(self, email) -> int:
        """ENISA's admin is a network admin; give them the Django admin too (staff, not superuser)."""
        user = User.objects.get(email=email)
        if user.is_staff:
            return 0
        User.objects.filter(pk=user.pk).update(is_staff=True)
        audit.record(actor=None, action="person.updated", obj=user, before={"is_staff": False}, after={"is_staff": True})
        return 1

    def example_accounts(self) -> list[tuple[str, str]]:
        """The banner's accounts: the network's roles, today's Council Presidency, then each app's (through the app
        registry: liaison never imports them); only accounts that exist."""
        accounts = list(EXAMPLE_ACCOUNTS)
        presidency = presidency_on(timezone.localdate(timezone=dt_timezone.utc))
        if presidency is not None:
            state = presidency.member_state
            accounts.append((f"Council Presidency liaison officer ({state.name}, until {presidency.ends_on:%d %b %Y}): "
                             "declares level 3 and sets the IPCR mode",
                             f"liaison@{state.code.lower()}-authority.{DEMO_DOMAIN}"))
        for config in apps.get_app_configs():
            if hasattr(config, "demo_accounts"):
                accounts += config.demo_accounts()
        accounts += ADMIN_ACCOUNTS
        existing = set(User.objects.filter(email__in=[email for _, email in accounts]).values_list("email", flat=True))
        return [(label, email) for label, email in accounts if email in existing]

    def print_accounts(self):
        w = self.stdout.write
        w("")
        w("CSoA Portal demo")
        w(f"  URL:            {PORTAL_URL}")
        w(f"  Password:       {DEMO_PASSWORD}   (every demo account)")
        w(f"  TOTP secret:    {totp_secret_base32()}   (add it to an authenticator app, 6 digits, 30 s)")
        w("  Current code:   python manage.py demo_code")
        w("")
        accounts = self.example_accounts()
        width = max(len(email) for _, email in accounts)
        w("  One account per role (README.md, \"First tour\", says which to use for which flow):")
        for label, email in accounts:
            w(f"  {email:<{width}}  {label}")
        w("  Every member state: analyst@, liaison@, admin@ <iso2>-csirt.demo and <iso2>-authority.demo")
        w("")
