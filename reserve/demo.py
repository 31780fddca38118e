"""Demo data for the Reserve: profiles of the demo providers and one request in triage.

Called by liaison's ``load_demo`` through ``ReserveConfig.load_demo`` (liaison never imports
reserve). Idempotent: a second run finds everything in place and writes nothing. Writes go
through the services, acting as ENISA's demo admin, so they are audited like any other.
"""

from datetime import timedelta

from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Sector
from liaison.models import MemberState, Organisation, User
from reserve import services
from reserve.models import AssistanceRequest, ProviderProfile
from reserve.vocabulary import Service

DEMO_ENTITY = "Stadtwerke Musterstadt (demo)"
# Each demo provider's languages beyond English, by country of establishment.
LANGUAGES = {"DE": ["de"], "FR": ["fr"], "EE": ["et", "ru"], "ES": ["es", "pt"], "AT": ["de", "it"],
             "SE": ["sv", "fi"], "NL": ["nl", "de"], "PL": ["pl"], "HR": ["hr", "sl"], "GR": ["el"]}
SECTORS = [["energy", "transport"], ["health", "banking"], ["digital-infrastructure"], ["public-administration"],
           ["energy", "drinking-water"]]


def load(stdout=None) -> dict[str, int]:
    admin = User.objects.filter(email="admin@enisa.demo").first()
    if admin is None:
        return {"providers": 0, "requests": 0}
    counts = {"providers": _providers(admin), "requests": _request()}
    if stdout is not None and any(counts.values()):
        stdout.write(f"Reserve demo: {counts['providers']} provider profile(s), {counts['requests']} request(s).")
    return counts


def _providers(admin: User) -> int:
    today = timezone.localdate()
    services_all = Service.values
    eu = list(MemberState.objects.filter(kind__in=[MemberState.Kind.EU_MEMBER, MemberState.Kind.EUIBA]))
    created = 0
    providers = Organisation.objects.filter(kind="reserve_provider", code__startswith="provider-").select_related(
        "member_state").order_by("code")
    registered = set(ProviderProfile.objects.values_list("organisation_id", flat=True))
    for n, org in enumerate(providers):
        if org.pk in registered:
            continue
        offered = [services_all[(n + k) % len(services_all)] for k in range(4)]
        if "incident_response" not in offered:
            offered[0] = "incident_response"
        profile = services.register_provider(
            actor=admin, organisation=org, services=offered,
            languages=["en", *LANGUAGES.get(org.member_state.code if org.member_state else "", [])],
            member_states=eu, sectors=list(Sector.objects.filter(code__in=SECTORS[n % len(SECTORS)])),
            certification_status="certified" if n % 4 else "vetted",
            certified_from=today - timedelta(days=200), certified_until=today + timedelta(days=60 + 90 * (n % 5)),
            security_clearances=[f"EU SECRET ({3 + n % 4} staff)"], response_hours=[4, 8, 12, 24][n % 4],
        )
        services.set_capacity(actor=admin, profile=profile, period_start=today.replace(day=1),
                              period_end=today.replace(day=1) + timedelta(days=364), person_days=60 + 20 * (n % 4))
        created += 1
    return created


def _request() -> int:
    """One request of the German CSIRT, forwarded by the German SPOC: in ENISA's triage queue."""
    if AssistanceRequest.objects.filter(affected_entity=DEMO_ENTITY).exists():
        return 0
    analyst = User.objects.filter(email="analyst@de-csirt.demo").first()
    spoc = User.objects.filter(email__endswith="@de-spoc.demo").first()
    csirt = Organisation.objects.filter(code="de-csirt").first()
    if not (analyst and spoc and csirt):
        return 0
    incident = incident_services.report_incident(
        actor=analyst, organisation=csirt, title="Ransomware in a municipal utility's grid control (demo)",
        aware_at=timezone.now() - timedelta(hours=5), severity="critical", tlp="amber", entity_type="essential",
        sectors=list(Sector.objects.filter(code="energy.electricity")),
        affected_member_states=list(MemberState.objects.filter(code="DE")), national_capacity_exceeded=True,
    )
    today = timezone.localdate()
    request = services.create_request(
        actor=analyst, organisation=csirt, affected_entity=DEMO_ENTITY, entity_type="essential",
        sector="energy.electricity", incidents=[incident],
        impact_description="Grid control servers encrypted; manual operation of 12 substations for 90,000 households.",
        impact_level="severe", planned_use="Forensics of the control network, eradication and a clean rebuild.",
        services=["incident_response", "digital_forensics", "recovery_restoration"], person_days=25,
        window_start=today + timedelta(days=1), window_end=today + timedelta(days=21),
        mitigation_measures="OT network isolated from IT; CERT-Bund on site; backups verified offline.",
        measures_level="substantial", measures_confirmed=True,
        other_support="No incident-response retainer; cyber insurance excludes state-sponsored attacks.",
        urgency="immediate", languages=["de", "en"], spill_over_risk="medium",
    )
    services.submit_request(actor=analyst, request=request)
    services.forward_request(actor=spoc, request=request, note="Endorsed by the German SPOC (demo).")
    return 1
