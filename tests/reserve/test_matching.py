"""Matching providers to an approved request: every exclusion with its reason, the ranking and its reasons."""

import dataclasses
import random
from datetime import date

import pytest
from django.core.exceptions import ValidationError

from reserve.matching import EXCLUSION_CODES, Candidate, Need, rank

NEED = Need(
    services=frozenset({"incident_response", "digital_forensics"}),
    sector="health",
    languages=frozenset({"pt", "en"}),
    member_state="PT",
    window_start=date(2026, 3, 2),
    window_end=date(2026, 3, 20),
    person_days=20,
    affected_entity="Hospital de Santa Maria",
    requester_org="pt-cncs",
)
FIT = Candidate(
    provider="acme-ir",
    name="ACME Incident Response",
    services=frozenset({"incident_response", "digital_forensics", "malware_analysis"}),
    sectors=frozenset({"health", "energy"}),
    languages=frozenset({"en", "pt", "es"}),
    member_states=frozenset({"PT", "ES", "FR"}),
    certified_from=date(2025, 1, 1),
    certified_until=date(2027, 12, 31),
    free_person_days=60,
    conflicts=frozenset(),
    response_hours=4,
    past_engagements=12,
    active=True,
)


def provider(code="acme-ir", **changes):
    return dataclasses.replace(FIT, provider=code, name=code.upper(), **changes)


def only(ranking, code):
    return next(item for item in ranking.ranked + ranking.excluded if item.provider == code)


def test_a_provider_that_fits_everything_is_ranked_first_with_full_marks():
    ranking = rank(NEED, [provider()])
    assert ranking.excluded == ()
    (first,) = ranking.ranked
    assert (first.provider, first.rank, first.score) == ("acme-ir", 1, 100.0)
    assert first.reasons == (
        "Offers 2 of 2 requested services (+30/30)",
        "Sector expertise in health (+25/25)",
        "Commits to respond within 4 h (+20/20)",
        "60 free person-days in the window for 20 needed, 3.0× (+15/15)",
        "12 past Reserve engagements (+10/10)",
    )


EXCLUSIONS = [
    ("inactive", {"active": False}, "Not active in the Reserve."),
    ("conflict", {"conflicts": frozenset({"hospital de santa maria"})},
     "Declared a conflict of interest with the affected entity (Hospital de Santa Maria)."),
    ("conflict", {"conflicts": frozenset({"pt-cncs"})},
     "Declared a conflict of interest with the requesting organisation (pt-cncs)."),
    ("certification", {"certified_from": None, "certified_until": None}, "No certification or vetting on record."),
    ("certification", {"certified_until": date(2026, 3, 19)},
     "Certification expires on 2026-03-19, before the window ends on 2026-03-20."),
    ("certification", {"certified_from": date(2026, 3, 3)},
     "Certification only starts on 2026-03-03, after the window starts on 2026-03-02."),
    ("certification", {"certified_from": None, "certified_until": None, "certification_status": "suspended"},
     "No valid certification or vetting (standing: suspended)."),
    ("service", {"services": frozenset({"crisis_communication"})},
     "Offers none of the requested services (digital forensics, incident response and handling)."),
    ("member_state", {"member_states": frozenset({"ES", "FR"})}, "Does not cover member state PT."),
    ("language", {"languages": frozenset({"de", "fr"})}, "Works in none of the requested languages (en, pt)."),
    ("capacity", {"free_person_days": 19},
     "Only 19 free person-days between 2026-03-02 and 2026-03-20, 20 needed."),
]


@pytest.mark.parametrize("code,changes,reason", EXCLUSIONS, ids=[f"{e[0]}:{e[2][:40]}" for e in EXCLUSIONS])
def test_every_exclusion_has_its_code_and_a_readable_reason(code, changes, reason):
    ranking = rank(NEED, [provider("bad", **changes), provider("good")])
    assert [r.provider for r in ranking.ranked] == ["good"]
    (excluded,) = ranking.excluded
    assert (excluded.provider, excluded.code, excluded.reason, excluded.codes) == ("bad", code, reason, (code,))
    assert excluded.name == "BAD"


@pytest.mark.parametrize("changes", [
    {"certified_from": date(2026, 3, 2), "certified_until": date(2026, 3, 20)},  # exactly the window
    {"free_person_days": 20},  # exactly the effort
    {"languages": frozenset({"en"})},  # one shared working language is enough
    {"member_states": frozenset({"pt"})},  # codes compared case-insensitively
    {"services": frozenset({"digital_forensics"})},  # part of the services still ranks (ENISA may engage several)
    {"conflicts": frozenset({"hospital de lisboa"})},  # a conflict with someone else
    {"sectors": frozenset()},  # sector expertise ranks, never excludes
])
def test_boundaries_that_still_qualify(changes):
    ranking = rank(NEED, [provider(**changes)])
    assert ranking.excluded == () and len(ranking.ranked) == 1


def test_conflict_names_are_compared_ignoring_case_and_spacing():
    ranking = rank(NEED, [provider(conflicts=frozenset({"  HOSPITAL de  Santa MARIA "}))])
    assert ranking.excluded[0].code == "conflict"


def test_no_language_asked_means_no_language_constraint():
    ranking = rank(dataclasses.replace(NEED, languages=frozenset()), [provider(languages=frozenset({"fi"}))])
    assert len(ranking.ranked) == 1


def test_an_euiba_request_needs_providers_covering_the_eu():
    need = dataclasses.replace(NEED, member_state="EU")
    ranking = rank(need, [provider("eu", member_states=frozenset({"EU", "BE"})), provider("national")])
    assert [r.provider for r in ranking.ranked] == ["eu"]
    assert ranking.excluded[0].reason == "Does not cover member state EU."


def test_every_reason_is_listed_and_the_first_code_leads():
    bad = provider("bad", active=False, languages=frozenset({"de"}), free_person_days=0, certified_until=None)
    (excluded,) = rank(NEED, [bad]).excluded
    assert excluded.code == "inactive"
    assert excluded.codes == ("inactive", "certification", "language", "capacity")
    assert excluded.reason == (
        "Not active in the Reserve; No certification or vetting on record; "
        "Works in none of the requested languages (en, pt); "
        "Only 0 free person-days between 2026-03-02 and 2026-03-20, 20 needed."
    )
    assert set(excluded.codes) <= set(EXCLUSION_CODES)


def test_ranking_follows_services_sector_response_capacity_experience():
    candidates = [
        provider("generalist", sectors=frozenset({"banking"})),  # 30+0+20+15+10 = 75
        provider("slow", response_hours=30),  # 30+25+4+15+10 = 84
        provider("half-services", services=frozenset({"incident_response"})),  # 15+25+20+15+10 = 85
        provider("best"),  # 100
        provider("related-sector", sectors=frozenset({"energy.gas"})),  # 30+0+... no relation to health: 75
        provider("newcomer", past_engagements=0, free_person_days=25),  # 30+25+20+3+0 = 78
    ]
    ranking = rank(NEED, candidates)
    assert [(r.provider, r.rank, r.score) for r in ranking.ranked] == [
        ("best", 1, 100.0),
        ("half-services", 2, 85.0),
        ("slow", 3, 84.0),
        ("newcomer", 4, 78.0),
        ("generalist", 5, 75.0),
        ("related-sector", 6, 75.0),
    ]
    assert "Offers 1 of 2 requested services (missing: digital forensics) (+15/30)" in only(ranking, "half-services").reasons
    assert "Commits to respond within 30 h (+4/20)" in only(ranking, "slow").reasons
    assert "No listed expertise in sector health (+0/25)" in only(ranking, "generalist").reasons
    assert "0 past Reserve engagements (+0/10)" in only(ranking, "newcomer").reasons
    assert "25 free person-days in the window for 20 needed, 1.2× (+3/15)" in only(ranking, "newcomer").reasons
    assert "Same score as GENERALIST: ordered by provider code" in only(ranking, "related-sector").reasons
    assert not any("Same score" in reason for reason in only(ranking, "generalist").reasons)


SECTOR_NAMES = {"energy": "Energy", "energy.electricity": "Energy — Electricity", "energy.gas": "Energy — Gas",
                "energy.oil": "Energy — Oil", "health": "Health"}


@pytest.mark.parametrize("need_sector,provider_sectors,points,reason", [
    ("energy.electricity", {"energy.electricity"}, 25, "Sector expertise in Energy — Electricity"),
    ("energy.electricity", {"energy"}, 25, "Sector expertise in Energy — Electricity"),
    ("energy.electricity", {"energy.gas"}, 12, "Expertise in a related sector (Energy — Gas), not Energy — Electricity itself"),
    ("energy", {"energy.gas", "energy.oil"}, 12, "Expertise in a related sector (Energy — Gas, Energy — Oil), not Energy itself"),
    ("energy", {"health"}, 0, "No listed expertise in sector Energy"),
    ("", {"health"}, 0, "No sector given in the request: sector expertise not scored"),
])
def test_sector_expertise_counts_parent_and_related_sub_sectors_and_names_them(need_sector, provider_sectors, points,
                                                                               reason):
    need = dataclasses.replace(NEED, sector=need_sector, sector_names=SECTOR_NAMES)
    ranking = rank(need, [provider(sectors=frozenset(provider_sectors))])
    assert f"{reason} (+{points}/25)" in ranking.ranked[0].reasons


@pytest.mark.parametrize("hours,points", [(1, 20), (4, 20), (5, 16), (8, 16), (12, 12), (24, 8), (48, 4), (49, 0)])
def test_response_time_bands(hours, points):
    (ranked,) = rank(NEED, [provider(response_hours=hours)]).ranked
    assert f"Commits to respond within {hours} h (+{points}/20)" in ranked.reasons


@pytest.mark.parametrize("free,points", [(20, 3), (29, 3), (30, 6), (39, 6), (40, 10), (59, 10), (60, 15)])
def test_free_capacity_bands(free, points):
    (ranked,) = rank(NEED, [provider(free_person_days=free)]).ranked
    assert ranked.reasons[3].endswith(f"(+{points}/15)")


@pytest.mark.parametrize("engagements,points", [(0, 0), (1, 4), (2, 4), (3, 7), (9, 7), (10, 10)])
def test_experience_bands(engagements, points):
    (ranked,) = rank(NEED, [provider(past_engagements=engagements)]).ranked
    assert ranked.reasons[4].endswith(f"(+{points}/10)")


def test_ranking_is_deterministic_whatever_the_input_order():
    pool = [provider(f"p{i:02d}", response_hours=random.Random(i).choice([4, 8, 24]),
                     past_engagements=i % 4, free_person_days=20 + i % 3 * 20) for i in range(30)]
    pool += [provider(f"x{i:02d}", active=bool(i % 2), free_person_days=i) for i in range(6)]
    expected = rank(NEED, pool)
    for seed in range(5):
        shuffled = pool[:]
        random.Random(seed).shuffle(shuffled)
        assert rank(NEED, shuffled) == expected
    scores = [r.score for r in expected.ranked]
    assert scores == sorted(scores, reverse=True)
    for a, b in zip(expected.ranked, expected.ranked[1:]):
        assert a.score > b.score or a.provider < b.provider
    assert [r.rank for r in expected.ranked] == list(range(1, len(expected.ranked) + 1))
    assert [e.provider for e in expected.excluded] == sorted(e.provider for e in expected.excluded)


def test_next_after_proposes_the_next_provider_on_decline_or_timeout():
    ranking = rank(NEED, [provider("a"), provider("b", response_hours=24), provider("c", response_hours=48)])
    assert ranking.next_after([]).provider == "a"
    assert ranking.next_after(["a"]).provider == "b"
    assert ranking.next_after(["a", "b"]).provider == "c"
    assert ranking.next_after(["a", "b", "c"]) is None


@pytest.mark.parametrize("changes,message", [
    ({"window_end": date(2026, 3, 1)}, "window_end 2026-03-01 is before window_start 2026-03-02"),
    ({"person_days": 0}, "person_days must be at least 1"),
    ({"services": frozenset()}, "services"),
])
def test_an_impossible_need_is_refused_with_a_clear_message(changes, message):
    with pytest.raises(ValueError, match=message):
        rank(dataclasses.replace(NEED, **changes), [provider()])


# CSoA Art. 17(2): a request that needs cleared staff matches only providers whose recorded clearances reach the level.
CLEARANCE_CASES = [
    # needed, the provider's recorded clearances, matched?
    ("", frozenset(), True),  # no clearance asked: no constraint
    ("secret", frozenset(), False),
    ("secret", frozenset({"EU SECRET (4 staff)"}), True),
    ("secret", frozenset({"SECRET UE"}), True),
    ("secret", frozenset({"EU TOP SECRET (1 staff)"}), True),  # a higher level covers the lower ones
    ("secret", frozenset({"TRÈS SECRET UE"}), True),
    ("secret", frozenset({"EU CONFIDENTIAL (6 staff)"}), False),
    ("confidential", frozenset({"CONFIDENTIEL UE/EU CONFIDENTIAL"}), True),
    ("confidential", frozenset({"National security vetting (no level)"}), False),
    ("top_secret", frozenset({"EU SECRET (4 staff)", "NATO SECRET"}), False),
    ("top_secret", frozenset({"EU SECRET (4 staff)", "EU TOP SECRET (2 staff)"}), True),
]


@pytest.mark.parametrize("needed,clearances,matched", CLEARANCE_CASES)
def test_csoa_art17_a_request_needing_cleared_staff_matches_only_providers_holding_the_clearance(
        needed, clearances, matched):
    ranking = rank(dataclasses.replace(NEED, clearance=needed), [provider(clearances=clearances)])
    found = only(ranking, "acme-ir")
    if matched:
        assert ranking.excluded == ()
        if needed:  # the explanation says the requirement is met, and by what
            assert any(r.startswith("Staff cleared to ") and "CSoA Art. 17(2)" in r for r in found.reasons)
        else:
            assert not any("cleared" in r for r in found.reasons)
    else:
        assert found.code == "clearance" and found.codes == ("clearance",)
        assert "security clearance" in found.reason and "CSoA Art. 17(2)" in found.reason
        assert ("holds: none recorded" in found.reason) == (not clearances)


def test_csoa_art17_clearance_is_a_requirement_not_points():
    plain = only(rank(NEED, [provider(clearances=frozenset({"EU SECRET"}))]), "acme-ir")
    cleared = only(rank(dataclasses.replace(NEED, clearance="secret"), [provider(clearances=frozenset({"EU SECRET"}))]),
                   "acme-ir")
    assert plain.score == cleared.score


def test_an_unknown_clearance_level_in_the_need_is_refused_naming_the_field():
    with pytest.raises(ValueError, match="clearance"):
        rank(dataclasses.replace(NEED, clearance="cosmic"), [provider()])


@pytest.mark.django_db
def test_csoa_art17_the_ranking_of_a_request_uses_the_clearances_stored_on_the_providers(reserve):
    from reserve import selectors, services
    from reserve.models import ProviderProfile
    from reserve.workflow import RequestStatus
    from tests.reserve.factories import request_in

    request = request_in(RequestStatus.APPROVED, reserve, security_clearance="top_secret")
    beta = ProviderProfile.objects.get(organisation__code="provider-beta")
    services.update_provider(actor=reserve["people"]["enisa_admin"], profile=beta,
                             security_clearances=["EU TOP SECRET (2 staff)"])
    ranking = selectors.ranking_for(request)
    assert [r.provider for r in ranking.ranked] == ["provider-beta"]
    acme = only(ranking, "provider-acme")
    assert acme.code == "clearance" and "EU SECRET (4 staff)" in acme.reason
    with pytest.raises(ValidationError, match="clearance"):
        services.engage_provider(actor=reserve["people"]["enisa_triage"], request=request,
                                 provider=reserve["orgs"]["provider-acme"])
