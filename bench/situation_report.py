"""Benchmark: a situation report and its PDF for a crisis of 27 member states, next to the incident's own page.

    .venv/bin/python bench/situation_report.py --size small|full [--repeat N] [--fresh]

Full mode only (local PostgreSQL), on a database of its own (``BENCH_DATABASE_NAME``, default
csoa_bench_sitreps). The crisis is generated through the services (so audit, events, shares and
clocks are as in production) and kept between runs (a marker row says it was finished):

- a TLP:AMBER incident reported by de-csirt, severity high, affecting the 27 EU member states, shared
  with every state's CSIRT, ENISA and the Council Presidency's crisis authority, escalated by the
  Blueprint's engine (``evaluate_incident``; declared to level 2 by the Presidency if the engine
  stops lower), the alerts it raised answered by the alerted organisations;
- nine states (every third) have a national TLP:AMBER+STRICT incident of their own in the crisis,
  shared with ENISA and the Presidency only, the related incidents of the report;
- 1,000 situation updates (small: 27 × 4 = 108) by the analysts of the 27 CSIRTs in turn, each with
  the NIS Cooperation Group's assessment; the nine states post theirs on their own incident;
- report no. 1 drafted by ENISA's liaison officer (level 2: EU-CyCLONe's secretariat), submitted and
  published by a second ENISA crisis manager (four eyes): its facts are frozen when published.

Measured, each over ``--repeat`` runs after a warm-up (default 8 small, 100 full), for two readers:
ENISA's admin (reads every section) and CERT.PT's analyst (does not read the nine AMBER+STRICT
incidents: nine contributions, nine affected rows and the related incidents are left out):

1. ``gather(report)``: the portal's facts over the 1,000 updates as the author reads them (what
   publishing freezes, and what every read of a draft does);
2. ``report_for_reader``: the reader's version of the published report (the snapshot, redacted);
3. ``render_pdf(print_document(reader))``: laying out the reader's version as PDF (reportlab);
4. ``GET /awareness/sitreps/{id}/pdf/`` and ``GET /api/v1/sitreps/{id}/pdf/``: the whole request
   (session with its second factor, as a browser or a script with a session sends it).

Baseline of every row: ``GET /incidents/{id}/``, the primary incident's page, for the same reader
(the author's for ``gather``), measured in the same run.
"""

import argparse
import io
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_NAME", "csoa_bench_sitreps")
import common  # noqa: E402

SIZES = {"small": {"updates_per_state": 4, "repeat": 8}, "full": {"updates": 1_000, "repeat": 100}}
TITLE = "Bench crisis: grid control encrypted across the Union ({updates} updates)"
STRICT_EVERY = 3  # every third state has a national AMBER+STRICT incident of its own
IMPACT = ["green", "yellow", "red", "yellow"]
OUTLOOK = ["improving", "stable", "worsening"]
THREAT = ["medium", "high", "high", "low"]


def updates_for(size: str) -> int:
    spec = SIZES[size]
    return spec.get("updates") or 27 * spec["updates_per_state"]


def eu_states():
    from liaison.models import MemberState

    return list(MemberState.objects.filter(kind=MemberState.Kind.EU_MEMBER).order_by("code"))


def person(email: str):
    from liaison.models import User

    return User.objects.get(email=email)


def second_enisa_crisis_manager():
    """The four eyes of publishing: an ENISA crisis manager besides the demo's liaison officer."""
    from liaison import services
    from liaison.models import Organisation, User

    email = "crisis@enisa.bench"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = services.create_person(actor=None, email=email, full_name="ENISA crisis manager (bench)",
                                      organisation=Organisation.objects.get(code="enisa"), roles=["crisis_manager"])
    return user


def _vocabulary_values(vocabulary, wanted: list[str]) -> list[str]:
    values = [v for v in wanted if v in vocabulary.values]
    return values or list(vocabulary.values)


def dataset_name(n_updates: int) -> str:
    return f"situation_report_crisis_{n_updates}"


def generate(n_updates: int) -> int:
    """The crisis and its published report; returns the report's id."""
    from django.utils import timezone

    from awareness.services import sitreps as sitrep_services
    from incidents import services
    from incidents.models import Alert, Incident
    from incidents.policy import presidency_state_id
    from incidents.services.escalations import declare_level, evaluate_incident
    from incidents.vocabulary import SITUATION_TAXONOMY
    from liaison.models import MemberState, Organisation

    states = eu_states()
    assert len(states) == 27, [s.code for s in states]
    orgs = {o.code: o for o in Organisation.objects.filter(code__regex=r"^[a-z]{2}-(csirt|authority)$")}
    presidency = MemberState.objects.get(pk=presidency_state_id())
    authority = orgs[f"{presidency.code.lower()}-authority"]
    chair = person(f"liaison@{authority.code}.demo")
    enisa = Organisation.objects.get(code="enisa")
    csirts = [orgs[f"{s.code.lower()}-csirt"] for s in states]
    reporter = person("analyst@de-csirt.demo")
    aware = timezone.now() - timedelta(hours=30)

    common.progress(f"reporting the crisis over the 27 member states (Presidency: {presidency.code})")
    primary = services.report_incident(
        actor=reporter, organisation=orgs["de-csirt"], title=TITLE.format(updates=n_updates), aware_at=aware, tlp="amber", severity="high",
        description="Control systems of transmission operators encrypted; manual operation across the Union.",
        affected_member_states=states, cross_border_impact=True, suspected_malicious=True)
    services.share_incident(actor=reporter, incident=primary,
                            organisations=[o for o in csirts if o.pk != primary.reporting_organisation_id]
                            + [enisa, authority])
    evaluate_incident(incident_id=primary.pk)
    primary.refresh_from_db()
    if primary.crisis_level < 2:
        declare_level(actor=chair, incident=primary, level=2, reason="Large-scale: 27 member states affected.")
        primary.refresh_from_db()
    alerts = list(Alert.objects.filter(incident=primary).select_related("organisation"))
    common.progress(f"level {primary.crisis_level}; answering its {len(alerts)} alerts")
    for alert in alerts:
        answerer = alert.organisation.memberships.select_related("user").order_by("id").first()
        if answerer is not None:
            services.answer_alert(actor=answerer.user, alert=alert, affected=True)

    national = {}
    for state, csirt in zip(states, csirts, strict=True):
        if states.index(state) % STRICT_EVERY == 1:
            analyst = person(f"analyst@{csirt.code}.demo")
            incident = services.report_incident(
                actor=analyst, organisation=csirt, title=f"National grid impact in {state.name}", aware_at=aware,
                tlp="amber+strict", severity="high", affected_member_states=[state])
            services.share_incident(actor=analyst, incident=incident, organisations=[enisa, authority])
            Incident.objects.filter(pk=incident.pk).update(crisis_level=2)
            national[state.code] = incident

    impact = _vocabulary_values(SITUATION_TAXONOMY["impact_severity"][1], IMPACT)
    outlook = _vocabulary_values(SITUATION_TAXONOMY["impact_outlook"][1], OUTLOOK)
    threat = _vocabulary_values(SITUATION_TAXONOMY["threat_severity"][1], THREAT)
    analysts = {s.code: person(f"analyst@{s.code.lower()}-csirt.demo") for s in states}
    common.progress(f"posting {n_updates:,} situation updates by the 27 CSIRTs")
    started = time.perf_counter()
    for i in range(n_updates):
        state = states[i % 27]
        incident = national.get(state.code, primary)
        services.add_timeline_entry(
            actor=analysts[state.code], incident=incident, kind="situation", tlp=incident.tlp,
            text=f"{state.name}, update {i // 27 + 1}: {40 - i % 40} substations on manual control; "
                 f"restoration of the control room continues, backups verified.",
            impact_severity=impact[i % len(impact)], impact_outlook=outlook[i % len(outlook)],
            threat_severity=threat[i % len(threat)])
        if i and i % 200 == 0:
            common.progress(f"{i:,} updates ({(time.perf_counter() - started) / i * 1000:.0f} ms each)")

    common.progress("drafting, submitting and publishing report no. 1 (ENISA, four eyes)")
    author = person("liaison@enisa.demo")
    report = sitrep_services.draft_report(
        actor=author, incident=primary, related_incidents=[i.pk for i in national.values()],
        title="EU-CyCLONe situation report: grid control encrypted",
        assessment="\n\n".join(f"Assessment {n}: transmission operators restore control room by control room."
                               for n in range(1, 6)),
        next_steps="Next report in 12 hours.")
    sitrep_services.submit_report(actor=author, report=report)
    report = sitrep_services.publish_report(actor=second_enisa_crisis_manager(), report=report)
    return report.pk


def session_client(user):
    """The person's signed-in session (second factor passed), as a browser sends it."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def getter(client, url: str, content_type: str):
    def call():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        assert response["Content-Type"].startswith(content_type), response["Content-Type"]
        return response

    return call


def pdf_facts(pdf: bytes) -> dict:
    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(pdf)).pages
    return {"bytes": len(pdf), "pages": len(pages)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement (default 8 small, 100 full)")
    parser.add_argument("--fresh", action="store_true", help="regenerate the crisis even if one of this size exists")
    args = parser.parse_args()
    repeat = args.repeat or SIZES[args.size]["repeat"]
    n_updates = updates_for(args.size)

    common.setup_django()
    from django.core.management import call_command

    from awareness.models import SituationReport
    from awareness.pdf import render_pdf
    from awareness.selectors import sitreps as selectors
    from incidents.models import TimelineEntry

    common.progress("loading the demo network")
    call_command("load_demo", stdout=open(os.devnull, "w"))
    spec = {"updates": n_updates, "states": 27, "strict_every": STRICT_EVERY, "version": 1}
    dataset = dataset_name(n_updates)
    report = (SituationReport.objects.filter(incident__title=TITLE.format(updates=n_updates), status="published")
              .order_by("-id").first())
    if report is not None:
        spec["report"] = report.pk
    if args.fresh or report is None or not common.dataset_ready(dataset, spec):
        common.forget_dataset(dataset)
        started = time.perf_counter()
        report_id = generate(n_updates)
        common.mark_dataset(dataset, {**spec, "report": report_id})
        spec["report"] = report_id
        common.progress(f"crisis generated in {time.perf_counter() - started:.0f} s")
    else:
        common.progress(f"crisis of {n_updates:,} updates already present (report {report.pk})")
    report = SituationReport.objects.select_related(
        "incident__reporting_organisation", "author_organisation", "author").get(pk=spec["report"])
    ids = [report.incident_id, *report.related_incidents.values_list("pk", flat=True)]
    updates = TimelineEntry.objects.filter(incident_id__in=ids, kind="situation").count()
    assert updates == n_updates, (updates, n_updates)

    readers = {"ENISA admin": person("admin@enisa.demo"), "CERT.PT analyst": person("analyst@pt-csirt.demo")}
    author = report.author
    clients = {name: session_client(user) for name, user in readers.items()}
    incident_url = f"/incidents/{report.incident_id}/"
    baselines = {name: getter(clients[name], incident_url, "text/html") for name in readers}
    author_page = getter(session_client(author), incident_url, "text/html")

    common.progress("checking what each reader gets")
    facts = {"updates": updates, "level": report.level, "related_incidents": len(ids) - 1}
    versions = {}
    for name, user in readers.items():
        reader = selectors.report_for_reader(report=report, user=user)
        contributions = next(s for s in reader.sections if s.key == "contributions")
        pdf = getter(clients[name], f"/awareness/sitreps/{report.pk}/pdf/", "application/pdf")().content
        facts[name] = {"contributions": len(contributions.items), "left_out": bool(reader.omitted_note),
                       **pdf_facts(pdf)}
        versions[name] = reader
    assert facts["ENISA admin"]["contributions"] == 27 and not facts["ENISA admin"]["left_out"], facts
    assert facts["CERT.PT analyst"]["contributions"] < 27 and facts["CERT.PT analyst"]["left_out"], facts

    rows = []
    common.progress(f"timing, {repeat} runs each")
    author_base = common.timed(author_page, repeat=repeat)
    gathered = common.timed(lambda: selectors.gather(report), repeat=repeat)
    rows.append(common.summary(f"gather() over {updates:,} updates, as the author reads", gathered, author_base))
    for name, user in readers.items():
        base = common.timed(baselines[name], repeat=repeat)
        built = common.timed(lambda user=user: selectors.report_for_reader(report=report, user=user), repeat=repeat)
        rows.append(common.summary(f"report_for_reader, {name}", built, base))
        reader = versions[name]
        rendered = common.timed(lambda reader=reader: render_pdf(selectors.print_document(reader)), repeat=repeat)
        rows.append(common.summary(f"render_pdf(print_document(…)), {name}", rendered, base))
        page = common.timed(getter(clients[name], f"/awareness/sitreps/{report.pk}/pdf/", "application/pdf"),
                            repeat=repeat)
        rows.append(common.summary(f"GET /awareness/sitreps/{{id}}/pdf/ {name}", page, base))
        api = common.timed(getter(clients[name], f"/api/v1/sitreps/{report.pk}/pdf/", "application/pdf"),
                           repeat=repeat)
        rows.append(common.summary(f"GET /api/v1/sitreps/{{id}}/pdf/ {name}", api, base))

    title = (f"Situation report and PDF ({args.size}: 27 member states, {updates:,} situation updates; "
             "baseline = GET /incidents/{id}/ for the same reader)")
    common.print_table(title, rows)
    for name in readers:
        f = facts[name]
        print(f"{name}: {f['contributions']} contributions, "
              f"{'something left out' if f['left_out'] else 'nothing left out'}; PDF {f['pages']} pages, "
              f"{f['bytes'] / 1024:.0f} KiB")
    path = common.write_results(f"situation_report_{args.size}", {"title": title, "rows": rows, "facts": facts})
    print(f"written to {path.relative_to(common.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
