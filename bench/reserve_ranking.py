"""Benchmark: ranking Reserve providers for a request, through the selector, next to hand-written SQL.

    .venv/bin/python bench/reserve_ranking.py --size small|full

Full size: 500 providers (random but seeded services, sectors, languages, member states —
most cover every EU member state —, certification dates, conflicts, capacity) and 10,000 past engagements spread over 2,000
past requests and the last two years (small: 50 providers, 1,000 engagements). On a
database of its own (``BENCH_DATABASE_NAME``, default csoa_bench_reserve), PostgreSQL.

Measured, each over ``--repeat`` runs (default 50) after a warm-up:

1. ``reserve.selectors.ranking_for(request)``: load every provider with its free capacity in
   the window and its past engagements (``candidates_for``), then ``reserve.matching.rank``.
   Baseline: hand-written SQL loading the same candidate rows in one statement, plus the
   same ``rank()``: the cost of the ORM path over the minimum.
2. ``candidates_for`` alone (the DB load) against the raw SQL alone.
3. ``GET /api/v1/assistance-requests/{id}/ranking/`` as ENISA triage (session), against
   ``ranking_for``: what the API adds.
4. ``rank()`` alone over the preloaded candidates (pure Python; no baseline).

Both paths must give the same ranking, or the run stops.
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("BENCH_DATABASE_NAME", "csoa_bench_reserve")
import common  # noqa: E402

SIZES = {"small": {"providers": 50, "engagements": 1_000}, "full": {"providers": 500, "engagements": 10_000}}
PREFIX = "bench-p-"
ENGAGEMENTS_PER_REQUEST = 5
LANGUAGES = ["en", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "fi", "cs", "el", "ro", "hu"]
AFFECTED = "Stadtwerke Bench GmbH"


def generate(n_providers: int, n_engagements: int, *, fresh: bool = False) -> None:
    """Providers, their capacity and a history of engagements, with bulk inserts (seconds, not minutes)."""
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from incidents.models import Sector
    from liaison.models import MemberState, Organisation, User
    from reserve.models import AssistanceRequest, Engagement, ProviderCapacity, ProviderProfile
    from reserve.vocabulary import Service

    existing = ProviderProfile.objects.filter(organisation__code__startswith=PREFIX).count()
    if not fresh and existing == n_providers and Engagement.objects.filter(provider__code__startswith=PREFIX).count() == n_engagements:
        common.progress(f"dataset of {n_providers:,} providers and {n_engagements:,} engagements already present")
        return
    common.progress("clearing the Reserve tables and earlier bench providers")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE reserve_engagement, reserve_worklog, reserve_deploymentupdate, reserve_reservedeadline, "
                       "reserve_assistancerequest, reserve_assistancerequest_incidents, reserve_providercapacity, "
                       "reserve_providerprofile, reserve_providerprofile_sectors, reserve_providerprofile_member_states, "
                       "reserve_assistancerequestgroupobjectpermission, reserve_informationrequest, reserve_assessment, "
                       "reserve_decision, reserve_afteractionreport RESTART IDENTITY CASCADE")
    Organisation.objects.filter(code__startswith=PREFIX).delete()
    Group.objects.filter(name__startswith=f"org:{PREFIX}").delete()

    rng = random.Random(6)
    today = timezone.localdate()
    eu = list(MemberState.objects.filter(kind="eu_member").order_by("code"))
    everywhere = list(MemberState.objects.order_by("code"))
    sectors = list(Sector.objects.order_by("code"))
    services = list(Service.values)
    with transaction.atomic():
        common.progress(f"inserting {n_providers:,} providers")
        groups = Group.objects.bulk_create([Group(name=f"org:{PREFIX}{i:04d}") for i in range(n_providers)])
        orgs = Organisation.objects.bulk_create([
            Organisation(code=f"{PREFIX}{i:04d}", name=f"Bench Provider {i:04d}", kind="reserve_provider",
                         member_state=rng.choice(eu), group=g)
            for i, g in enumerate(groups)])
        profiles = []
        for org in orgs:
            roll = rng.random()
            if roll < 0.06:  # never vetted
                certified = ("pending", None, None)
            elif roll < 0.14:  # expires soon, possibly inside the window
                certified = ("certified", today - timedelta(days=700), today + timedelta(days=rng.randint(5, 40)))
            else:
                certified = (rng.choice(["certified", "vetted"]), today - timedelta(days=rng.randint(30, 900)),
                             today + timedelta(days=rng.randint(60, 900)))
            offered = rng.sample(services, rng.randint(1, 5))
            if rng.random() < 0.6 and "incident_response" not in offered:  # the Reserve's core service
                offered.append("incident_response")
            profiles.append(ProviderProfile(
                organisation=org, services=offered,
                languages=["en"] + rng.sample(LANGUAGES[1:], rng.randint(0, 3)),
                certification_status=certified[0], certified_from=certified[1], certified_until=certified[2],
                security_clearances=["EU SECRET"],
                conflicts_of_interest=[AFFECTED.lower()] if rng.random() < 0.03 else [f"entity {rng.randint(1, 99)}"],
                response_hours=rng.choice([2, 4, 4, 8, 12, 24, 48, 72]), is_active=rng.random() > 0.04))
        profiles = ProviderProfile.objects.bulk_create(profiles)
        sector_links, state_links, capacities = [], [], []
        for p in profiles:
            sector_links += [ProviderProfile.sectors.through(providerprofile_id=p.pk, sector_id=s.pk)
                             for s in rng.sample(sectors, rng.randint(1, 6))]
            # Art. 17(2): able to deploy in all member states; a few only cover a region (or third countries too).
            states = eu + rng.sample(everywhere, 5) if rng.random() < 0.8 else rng.sample(everywhere, rng.randint(3, 12))
            state_links += [ProviderProfile.member_states.through(providerprofile_id=p.pk, memberstate_id=m.pk)
                            for m in {m.pk: m for m in states}.values()]
            for year in (today.year - 2, today.year - 1, today.year, today.year + 1):
                capacities.append(ProviderCapacity(provider=p, period_start=date(year, 1, 1),
                                                   period_end=date(year, 12, 31),
                                                   person_days=rng.choice([40, 60, 100, 150, 200])))
        ProviderProfile.sectors.through.objects.bulk_create(sector_links)
        ProviderProfile.member_states.through.objects.bulk_create(state_links)
        ProviderCapacity.objects.bulk_create(capacities)

        requester = Organisation.objects.get(code="de-csirt")
        author = User.objects.filter(memberships__organisation=requester).order_by("id").first()
        n_requests = n_engagements // ENGAGEMENTS_PER_REQUEST
        common.progress(f"inserting {n_requests:,} past requests and {n_engagements:,} engagements")
        now = timezone.now()
        requests = AssistanceRequest.objects.bulk_create([
            AssistanceRequest(requester_organisation=requester, created_by=author, status="reported",
                              affected_entity=f"Past entity {i}", services=["incident_response"], person_days=20,
                              created_at=now - timedelta(days=730 - i * 730 // n_requests), updated_at=now)
            for i in range(n_requests)])
        engagements = []
        for i, request in enumerate(requests):
            start = today - timedelta(days=730 - i * 760 // n_requests)  # the last ~2 years, some this month
            for org in rng.sample(orgs, ENGAGEMENTS_PER_REQUEST):
                status = rng.choices(["completed", "declined", "expired", "accepted", "offered"], [60, 15, 10, 10, 5])[0]
                engagements.append(Engagement(
                    request=request, provider=org, status=status, services=["incident_response"],
                    person_days=rng.randint(1, 8), window_start=start, window_end=start + timedelta(days=10),
                    offered_at=now, respond_by=now + timedelta(hours=4)))
        Engagement.objects.bulk_create(engagements, batch_size=2_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def the_request():
    """An approved request of de-csirt to rank providers for: two services, a month's window from next week.

    Granted to the contracting authority's side as a submitted request is, so ENISA triage can read its ranking.
    """
    from django.utils import timezone

    from incidents.models import Sector
    from liaison.models import Organisation, User
    from reserve.models import AssistanceRequest
    from reserve.services.common import authority_groups, grant

    requester = Organisation.objects.get(code="de-csirt")
    start = timezone.localdate() + timedelta(days=7)
    request, _ = AssistanceRequest.objects.update_or_create(
        affected_entity=AFFECTED, requester_organisation=requester,
        defaults=dict(created_by=User.objects.filter(memberships__organisation=requester).order_by("id").first(),
                      status="approved", entity_type="essential", sector=Sector.objects.get(code="energy.electricity"),
                      services=["incident_response", "digital_forensics"], person_days=20, window_start=start,
                      window_end=start + timedelta(days=30), languages=["de", "en"], urgency="immediate"))
    grant(request, [requester.group, *authority_groups()])
    return request


RAW_CANDIDATES = """
    SELECT o.code, o.name, (o.is_active AND p.is_active), p.services, p.languages, p.certification_status,
           p.certified_from, p.certified_until, p.conflicts_of_interest, p.response_hours,
           ARRAY(SELECT s.code FROM reserve_providerprofile_sectors ps JOIN incidents_sector s ON s.id = ps.sector_id
                 WHERE ps.providerprofile_id = p.id),
           ARRAY(SELECT m.code FROM reserve_providerprofile_member_states pm
                 JOIN liaison_memberstate m ON m.id = pm.memberstate_id WHERE pm.providerprofile_id = p.id),
           c.person_days,
           (SELECT coalesce(sum(e.person_days), 0) FROM reserve_engagement e
             WHERE e.provider_id = o.id AND e.status IN ('offered', 'accepted', 'completed')
               AND e.window_start BETWEEN c.period_start AND c.period_end),
           (SELECT count(*) FROM reserve_engagement e WHERE e.provider_id = o.id AND e.status IN ('accepted', 'completed'))
    FROM reserve_providerprofile p
    JOIN liaison_organisation o ON o.id = p.organisation_id
    LEFT JOIN reserve_providercapacity c ON c.provider_id = p.id AND c.period_start <= %s AND c.period_end >= %s"""


def _list(value) -> list:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def raw_candidates(window_start: date) -> list:
    """The baseline: the same matching.Candidate rows from one hand-written statement."""
    from django.db import connection

    from reserve import matching

    with connection.cursor() as cursor:
        cursor.execute(RAW_CANDIDATES, [window_start, window_start])
        rows = cursor.fetchall()
    out = []
    for (code, name, active, services, languages, standing, cert_from, cert_until, conflicts, response_hours,
         sectors, states, committed, booked, past) in rows:
        engageable = standing in ("certified", "vetted")
        out.append(matching.Candidate(
            provider=code, name=name, services=frozenset(_list(services)), sectors=frozenset(sectors),
            languages=frozenset(_list(languages)), member_states=frozenset(states),
            certified_from=cert_from if engageable else None, certified_until=cert_until if engageable else None,
            free_person_days=max(0, committed - booked) if committed is not None else 0,
            conflicts=frozenset(str(c).strip().lower() for c in _list(conflicts)),
            response_hours=response_hours, past_engagements=past, active=active,
            certification_status="" if engageable else standing))
    return out


def ranking_client(request_id: int):
    """ENISA triage's signed-in session (second factor passed), as the browser's API calls use it."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from liaison.models import Membership

    user = Membership.objects.filter(role="enisa_triage", organisation__code="enisa").select_related("user").first().user
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    url = f"/api/v1/assistance-requests/{request_id}/ranking/"

    def call():
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        return response

    return call


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--repeat", type=int, default=50, help="runs per measurement (default 50)")
    parser.add_argument("--fresh", action="store_true", help="regenerate the dataset even if one of this size exists")
    args = parser.parse_args()
    size = SIZES[args.size]

    common.setup_django()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reserve import matching, selectors
    from reserve.models import Engagement, ProviderProfile

    common.progress("loading the demo network")
    call_command("load_demo", stdout=open(os.devnull, "w"))
    started = time.perf_counter()
    generate(size["providers"], size["engagements"], fresh=args.fresh)
    # load_demo registers a few demo providers: rank over exactly the generated ones.
    ProviderProfile.objects.exclude(organisation__code__startswith=PREFIX).delete()
    common.progress(f"dataset ready in {time.perf_counter() - started:.0f} s")
    request = _fresh(the_request())
    n_providers = ProviderProfile.objects.count()
    n_engagements = Engagement.objects.filter(provider__code__startswith=PREFIX).count()
    need = selectors.need_for(request)

    common.progress("checking that both paths rank alike")
    via_selector = selectors.ranking_for(request)
    via_sql = matching.rank(need, raw_candidates(request.window_start))
    assert via_selector == via_sql, "the selector and the raw SQL disagree on the ranking"
    api_call = ranking_client(request.pk)
    body = json.loads(api_call().content)
    assert [r["provider"] for r in body["ranked"]] == [r.provider for r in via_selector.ranked]

    rows = []
    common.progress(f"timing, {args.repeat} runs each")
    selector_runs = common.timed(lambda: selectors.ranking_for(request), repeat=args.repeat)
    sql_runs = common.timed(lambda: matching.rank(need, raw_candidates(request.window_start)), repeat=args.repeat)
    rows.append(common.summary("ranking_for: DB load + rank (baseline raw SQL + rank)", selector_runs, sql_runs))
    load_runs = common.timed(lambda: selectors.candidates_for(request.window_start), repeat=args.repeat)
    raw_runs = common.timed(lambda: raw_candidates(request.window_start), repeat=args.repeat)
    rows.append(common.summary("candidates_for: DB load only (baseline raw SQL)", load_runs, raw_runs))
    api_runs = common.timed(api_call, repeat=args.repeat)
    rows.append(common.summary("GET …/ranking/ as ENISA triage (baseline ranking_for)", api_runs, selector_runs))
    candidates = selectors.candidates_for(request.window_start)
    rows.append(common.summary(f"rank() alone over {len(candidates)} preloaded candidates",
                               common.timed(lambda: matching.rank(need, candidates), repeat=args.repeat)))
    with CaptureQueriesContext(connection) as captured:
        selectors.ranking_for(request)
    queries = len(captured.captured_queries)

    exclusions = {}
    for excluded in via_selector.excluded:
        exclusions[excluded.code] = exclusions.get(excluded.code, 0) + 1
    title = (f"Reserve ranking ({args.size}: {n_providers:,} providers, {n_engagements:,} engagements; "
             f"{len(via_selector.ranked)} ranked, {len(via_selector.excluded)} excluded)")
    common.print_table(title, rows)
    print(f"\nQueries per ranking_for: {queries}; exclusions by first reason: "
          + ", ".join(f"{k} {v}" for k, v in sorted(exclusions.items())))
    path = common.write_results(f"reserve_ranking_{args.size}", {
        "title": title, "rows": rows, "queries_per_ranking": queries, "providers": n_providers,
        "engagements": n_engagements, "ranked": len(via_selector.ranked), "excluded_by_code": exclusions})
    print(f"written to {path.relative_to(common.ROOT)}")
    return 0


def _fresh(request):
    from reserve.models import AssistanceRequest

    return AssistanceRequest.objects.select_related("requester_organisation__member_state", "sector").get(pk=request.pk)


if __name__ == "__main__":
    sys.exit(main())
