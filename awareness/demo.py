"""Demo data of the awareness products: a cross-border crisis, its situation reports and a public warning.

Called by liaison's ``load_demo`` through ``AwarenessConfig.load_demo`` (each product's hook
module, ``awareness.hooks.<product>.load_demo``). Idempotent: every part looks for what it
made before and writes nothing a second time. Everything goes through the real services, as
the demo people, so it is audited, evented and checked by the policies like any other write:

- the crisis: CERT-FR reports a TLP:AMBER intrusion at electricity transmission operators in
  FR, DE, BE and NL; the Blueprint's engine escalates it to level 2 (large-scale incident) and
  CERT-FR agrees to share it with the alerted networks; FR, DE and NL post situation updates;
- situation reports (four eyes): report 1 drafted and submitted by the Council Presidency's
  crisis authority (the EU-CyCLONe chair), published by ENISA's liaison officer; report 2
  drafted and submitted by ENISA, waiting for the chair's review;
- a synchronised public warning drafted by CERT-FR, circulated to the four states'
  authorities, agreed by Germany's.
"""

from datetime import timedelta
from datetime import timezone as dt_timezone

from django.utils import timezone

from liaison.models import MemberState, Organisation, User
from liaison.selectors import presidency_on

CRISIS_TITLE = "Coordinated intrusion at electricity transmission operators (demo)"
CRISIS_STATES = ("FR", "DE", "BE", "NL")
REPORTER = "analyst@fr-csirt.demo"
ENISA_DRAFTER = "liaison@enisa.demo"
PUBLISHED_TITLE = "Grid control networks: first situation report"
REVIEW_TITLE = "Grid control networks: containment and outlook"
WARNING_TITLE = "Phishing that impersonates electricity grid operators"
WARNING_AGREES = "liaison@de-authority.demo"
# (reporter, impact severity, outlook, root cause, threat severity, text)
SITUATION_UPDATES = [
    (REPORTER, "red", "worsening", "malicious_action", "high",
     "Two transmission operators run their control rooms on manual procedures; no load shedding so far. "
     "The intruders used stolen VPN credentials of a maintenance contractor."),
    ("analyst@de-csirt.demo", "yellow", "stable", "malicious_action", "high",
     "One operator found the same contractor's VPN account used from unknown hosts; remote access cut, "
     "control systems unaffected."),
    ("analyst@nl-csirt.demo", "green", "improving", "malicious_action", "medium",
     "Indicators found on one office network, isolated; the grid control network is not affected."),
]


def _people(*emails: str) -> dict[str, User] | None:
    people = {u.email: u for u in User.objects.filter(email__in=emails)}
    return people if len(people) == len(set(emails)) else None


def presidency_drafter() -> str | None:
    """The demo liaison officer of today's Council Presidency's crisis authority (the EU-CyCLONe chair)."""
    presidency = presidency_on(timezone.localdate(timezone=dt_timezone.utc))
    return f"liaison@{presidency.member_state.code.lower()}-authority.demo" if presidency else None


def crisis_incident():
    """The demo crisis at level 2, shared with the alerted networks (made on the first call, found after)."""
    from incidents import services as incident_services
    from incidents.models import Incident, Sector
    from incidents.services.escalations import evaluate_incident

    found = Incident.objects.filter(title=CRISIS_TITLE).order_by("id").first()
    if found is not None:
        return found
    people = _people(*(email for email, *_ in SITUATION_UPDATES))
    organisation = Organisation.objects.filter(code="fr-csirt").first()
    states = list(MemberState.objects.filter(code__in=CRISIS_STATES))
    if people is None or organisation is None or len(states) != len(CRISIS_STATES):
        return None
    reporter = people[REPORTER]
    incident = incident_services.report_incident(
        actor=reporter, organisation=organisation, title=CRISIS_TITLE,
        description="Intrusions into the control-centre networks of electricity transmission system operators, "
                    "through a maintenance contractor's remote access shared by operators in several states.",
        aware_at=timezone.now() - timedelta(hours=20), tlp="amber", severity="high", entity_type="essential",
        sectors=list(Sector.objects.filter(code="energy.electricity")), affected_member_states=states,
        suspected_malicious=True, cross_border_impact=True,
    )
    # The engine runs after the commit in the portal; the demo is one transaction, so it asks the engine now
    # (two member states at high severity: level 2, EU-CyCLONe and the CSIRTs Network alerted).
    evaluate_incident(incident_id=incident.pk)
    incident.refresh_from_db()
    from incidents.selectors import network_consent_recipients

    if network_consent_recipients(incident):
        incident_services.consent_to_network_sharing(actor=reporter, incident=incident)
    for email, impact, outlook, cause, threat, text in SITUATION_UPDATES:
        incident_services.add_timeline_entry(actor=people[email], incident=incident, text=text, kind="situation",
                                             impact_severity=impact, impact_outlook=outlook, root_cause=cause,
                                             threat_severity=threat)
    incident.refresh_from_db()
    return incident


def load_sitreps(stdout=None) -> int:
    """One published report (drafted by the chair, published by ENISA) and one waiting for the chair's review."""
    from awareness.models import SituationReport
    from awareness.services import sitreps as services

    chair_email = presidency_drafter()
    incident = crisis_incident()
    people = _people(ENISA_DRAFTER, chair_email) if chair_email else None
    if incident is None or people is None or incident.crisis_level < 2:
        return 0
    if SituationReport.objects.filter(incident=incident).exists():
        return 0
    chair, enisa = people[chair_email], people[ENISA_DRAFTER]
    first = services.draft_report(
        actor=chair, incident=incident, title=PUBLISHED_TITLE,
        assessment="A coordinated intrusion through one maintenance contractor's remote access. Control rooms in "
                   "France work on manual procedures; Germany and the Netherlands contained it early. No outage "
                   "of supply so far.",
        next_steps="Operators rotate every contractor credential; CERT-FR shares indicators with the CSIRTs "
                   "Network; EU-CyCLONe meets again in 12 hours.")
    services.submit_report(actor=chair, report=first)
    services.publish_report(actor=enisa, report=first)
    second = services.draft_report(
        actor=enisa, incident=incident, title=REVIEW_TITLE,
        assessment="Contractor access is cut everywhere; French control rooms expect to return to remote "
                   "operation within 24 hours. No new intrusion since yesterday evening.",
        next_steps="Confirm the eradication with the operators' forensics; prepare the public warning on the "
                   "phishing wave.")
    services.submit_report(actor=enisa, report=second)
    if stdout is not None:
        stdout.write(f"Situation reports demo: {first.label} published, {second.label} waiting for review on "
                     f"{incident.reference}.")
    return 2


def load_warning(stdout=None) -> int:
    """A public warning about the crisis, circulated to the concerned states' authorities, agreed by Germany."""
    from awareness.models import PublicWarning
    from awareness.services import warnings as services

    incident = crisis_incident()
    people = _people(REPORTER, WARNING_AGREES)
    if incident is None or people is None:
        return 0
    if PublicWarning.objects.filter(incident=incident).exists():
        return 0
    warning = services.draft_warning(
        actor=people[REPORTER], incident=incident, title=WARNING_TITLE,
        body="E-mails that pretend to come from electricity grid operators ask customers and contractors to "
             "'confirm their remote-access account'. Grid operators never ask for passwords by e-mail.",
        recommendations="Do not open the links. Report the e-mail to your national CSIRT. Contractors: reset "
                        "remote-access passwords through your usual channel only.")
    services.circulate_warning(actor=people[REPORTER], warning=warning,
                               response_deadline=timezone.now() + timedelta(days=2))
    services.respond_to_warning(actor=people[WARNING_AGREES], warning=warning, response="agreed",
                                comment="Agreed for Germany (demo).")
    if stdout is not None:
        stdout.write(f"Public warnings demo: {warning.reference} circulated on {incident.reference}, agreed by DE.")
    return 1
