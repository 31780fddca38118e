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
    counts["requests"] += _offer()
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


OFFER_ENTITY = "Klinikum Musterstadt (demo)"
OFFERED_PROVIDER = "provider-northwatch"


def demo_accounts() -> list[tuple[str, str]]:
    """The Reserve's demo accounts for the banner, each able to do what its label says (reserve.policy)."""
    from reserve import policy

    authority = Organisation.objects.filter(code=policy.authority_code()).first()
    accounts = [
        ("DE single point of contact: forwards Reserve requests", "spoc@de-spoc.demo"),
        ("ENISA triage: assesses Reserve requests, engages providers", "triage@enisa.demo"),
    ]
    if authority is not None:  # RESERVE_CONTRACTING_AUTHORITY: ENISA unless configured otherwise
        accounts.append((f"{authority.name.split(' — ')[0]} decision-maker: the contracting authority, approves or "
                         "rejects Reserve requests", f"decision@{authority.code}.demo"))
    accounts.append(("Reserve provider staff (NorthWatch): an engagement offer waits for its answer",
                     f"staff@{OFFERED_PROVIDER}.demo"))
    return accounts


def _offer() -> int:
    """A second request, approved, with an engagement offer waiting for NorthWatch's answer (its 24-hour clock)."""
    from reserve import policy

    if AssistanceRequest.objects.filter(affected_entity=OFFER_ENTITY).exists():
        return 0
    people = {u.email: u for u in User.objects.filter(email__in=[
        "analyst@de-csirt.demo", "spoc@de-spoc.demo", "triage@enisa.demo", f"decision@{policy.authority_code()}.demo"])}
    csirt = Organisation.objects.filter(code="de-csirt").first()
    provider = Organisation.objects.filter(code=OFFERED_PROVIDER).first()
    if len(people) < 4 or csirt is None or provider is None:
        return 0
    analyst, triage = people["analyst@de-csirt.demo"], people["triage@enisa.demo"]
    incident = incident_services.report_incident(
        actor=analyst, organisation=csirt, title="Wiper in a hospital's patient systems (demo)",
        aware_at=timezone.now() - timedelta(hours=9), severity="high", tlp="amber", entity_type="essential",
        sectors=list(Sector.objects.filter(code="health")),
        affected_member_states=list(MemberState.objects.filter(code="DE")),
    )
    today = timezone.localdate()
    request = services.create_request(
        actor=analyst, organisation=csirt, affected_entity=OFFER_ENTITY, entity_type="essential",
        sector="health", incidents=[incident],
        impact_description="Patient records and scheduling wiped; emergency admissions diverted to other hospitals.",
        impact_level="severe", planned_use="Forensics and the rebuild of the patient-record servers.",
        services=["incident_response"], person_days=10,
        window_start=today + timedelta(days=1), window_end=today + timedelta(days=14),
        mitigation_measures="Network segmented; backups from last week verified offline.",
        measures_level="substantial", measures_confirmed=True,
        other_support="The hospital's IT provider has no incident-response capacity.",
        urgency="immediate", languages=["de", "en"], spill_over_risk="low",
    )
    services.submit_request(actor=analyst, request=request)
    services.forward_request(actor=people["spoc@de-spoc.demo"], request=request, note="Endorsed (demo).")
    services.assess_request(actor=triage, request=request, complete=True, recommendation="approve",
                            reasons="Essential entity, severe impact on patient care (demo).")
    services.decide_request(actor=people[f"decision@{policy.authority_code()}.demo"], request=request,
                            outcome="approved", reasons="Meets CSoA Art. 15 (demo).")
    services.engage_provider(actor=triage, request=request, provider=provider)
    return 1


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
