"""A crisis for the situation-report tests: three incidents, three member states, different rights.

- P (primary): de-csirt's TLP:AMBER incident at level 2, affecting DE, FR and PT; shared with
  ENISA, CERT-FR, CERT.PT and the Presidency's crisis authority (Ireland).
- R (related): fr-csirt's TLP:AMBER+STRICT incident, shared with ENISA and Ireland's authority only;
  FR's situation update on it is AMBER+STRICT ("FR-SECRET-SIGNALLING").
- R2 (related): de-csirt's TLP:AMBER incident, shared with ENISA and Ireland's authority; DE's latest
  situation update is on it ("DE-R2-SUBSTATIONS").

ENISA sees everything; CERT-Bund sees P and R2 (not FR's update); CERT.PT sees P only.
"""

from datetime import timedelta

from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Incident
from tests import factories as f

FR_SECRET = "FR-SECRET-SIGNALLING"
DE_R2_TEXT = "DE-R2-SUBSTATIONS"
PT_TEXT = "PT-PORTS-NORMAL"


def make_crisis(network) -> dict:
    """Build the crisis on the test network (each test module wraps it in its ``crisis`` fixture)."""
    orgs, people = dict(network["orgs"]), dict(network["people"])
    orgs["ie-authority"] = f.organisation("ie-authority", "crisis_authority", "IE", "NCSC Ireland crisis")
    people["ie_chair"] = f.person("chair@ie-authority.example", orgs["ie-authority"], ["liaison_officer"])
    people["ie_chair2"] = f.person("crisis@ie-authority.example", orgs["ie-authority"], ["crisis_manager"])
    people["ie_analyst"] = f.person("analyst@ie-authority.example", orgs["ie-authority"], ["analyst"])
    people["enisa_liaison"] = f.person("liaison@enisa.example", orgs["enisa"], ["liaison_officer"])
    people["enisa_crisis"] = f.person("crisis@enisa.example", orgs["enisa"], ["crisis_manager"])
    f.presidency("IE")
    de, fr, pt = (f.member_state(c) for c in ("DE", "FR", "PT"))
    now = timezone.now()

    def incident(actor, org, title, tlp, states, shares, level=2):
        inc = incident_services.report_incident(actor=people[actor], organisation=orgs[org], title=title,
                                                aware_at=now - timedelta(hours=3), tlp=tlp,
                                                affected_member_states=states)
        incident_services.share_incident(actor=people[actor], incident=inc, organisations=[orgs[o] for o in shares])
        Incident.objects.filter(pk=inc.pk).update(crisis_level=level)
        inc.refresh_from_db()
        return inc

    primary = incident("de_analyst", "de-csirt", "Grid control encrypted", "amber", [de, fr, pt],
                       ["enisa", "fr-csirt", "pt-csirt", "ie-authority"])
    related = incident("fr_analyst", "fr-csirt", "Metro signalling down", "amber+strict", [fr],
                       ["enisa", "ie-authority"])
    related2 = incident("de_analyst", "de-csirt", "Substations tripped", "amber", [de], ["enisa", "ie-authority"])

    def situation(actor, inc, text, tlp, **assessment):
        return incident_services.add_timeline_entry(actor=people[actor], incident=inc, text=text, tlp=tlp,
                                                    kind="situation", **assessment)

    situation("de_analyst", primary, "DE older update on the grid", "amber", impact_severity="yellow")
    situation("pt_analyst", primary, PT_TEXT, "amber", impact_severity="green", threat_severity="low")
    situation("fr_analyst", related, FR_SECRET, "amber+strict", impact_severity="red")
    situation("de_analyst", related2, DE_R2_TEXT, "amber", impact_severity="red")
    return {"orgs": orgs, "people": people, "primary": primary, "related": related, "related2": related2}


def draft(crisis, actor="enisa_liaison", **fields):
    from awareness.services import sitreps as services

    fields.setdefault("related_incidents", [crisis["related"].pk, crisis["related2"].pk])
    return services.draft_report(actor=crisis["people"][actor], incident=crisis["primary"], **fields)


def published(crisis, author="enisa_liaison", publisher="enisa_crisis", **fields):
    from awareness.services import sitreps as services

    report = draft(crisis, actor=author, **fields)
    services.submit_report(actor=crisis["people"][author], report=report)
    return services.publish_report(actor=crisis["people"][publisher], report=report)
