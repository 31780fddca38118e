"""A draft withdrawn before it was circulated stays its drafter's: the concerned authorities and ENISA never
see it, nor its withdrawal (a warning is shown beyond its drafter once circulated, whatever its status since)."""

import importlib

import pytest
from awareness.services import warnings as services
from liaison.models import Event, EventAudience
from liaison.selectors import events_visible_to
from tests.awareness import warnings_support
from tests.awareness.warnings_support import circulated, draft
from tests.conftest import verified_client

pytestmark = pytest.mark.django_db

cross_border = warnings_support.cross_border


def _withdrawn_event(warning) -> Event:
    return Event.objects.get(kind="warning.withdrawn", subject_type="publicwarning", subject_id=str(warning.pk))


def _audience(event) -> set[int]:
    return set(EventAudience.objects.filter(event=event).values_list("group_id", flat=True))


def test_a_draft_withdrawn_before_circulation_is_seen_and_told_only_in_its_drafters_organisation(cross_border):
    people, orgs = cross_border["people"], cross_border["orgs"]
    warning = services.withdraw_warning(actor=people["de_analyst"], warning=draft(cross_border))

    event = _withdrawn_event(warning)
    assert _audience(event) == {orgs["de-csirt"].group_id} and event.payload["recipient_groups"] == []
    for who in ("fr_analyst", "enisa_triage"):
        client = verified_client(people[who])
        assert client.get(f"/awareness/warnings/{warning.pk}/").status_code == 404, who
        assert client.get(f"/api/v1/warnings/{warning.pk}/").status_code == 404, who
        assert event not in events_visible_to(people[who])[0], who
    assert event in events_visible_to(people["de_analyst"])[0]


def test_a_circulated_warning_withdrawn_is_still_told_to_the_concerned_authorities(cross_border):
    people, orgs = cross_border["people"], cross_border["orgs"]
    warning = services.withdraw_warning(actor=people["de_analyst"], warning=circulated(cross_border))

    event = _withdrawn_event(warning)
    assert orgs["fr-csirt"].group_id in _audience(event) and event.payload["recipient_groups"]
    assert event in events_visible_to(people["fr_analyst"])[0]


def test_the_migration_narrows_the_withdrawal_event_a_draft_had_told_to_others(cross_border):
    from django.apps import apps

    people, orgs = cross_border["people"], cross_border["orgs"]
    warning = services.withdraw_warning(actor=people["de_analyst"], warning=draft(cross_border))
    kept = circulated(cross_border)
    services.withdraw_warning(actor=people["de_analyst"], warning=kept)
    event = _withdrawn_event(warning)  # as the portal wrote it before: to the concerned authorities too
    EventAudience.objects.create(event=event, group_id=orgs["fr-csirt"].group_id)
    event.payload["recipient_groups"] = ["org:fr-csirt"]
    event.save(update_fields=["payload"])
    before = _audience(_withdrawn_event(kept))

    importlib.import_module("awareness.migrations.0006_withdrawn_draft_audience").narrow(apps, None)

    event.refresh_from_db()
    assert _audience(event) == {orgs["de-csirt"].group_id} and event.payload["recipient_groups"] == []
    assert _audience(_withdrawn_event(kept)) == before, "a circulated warning's withdrawal keeps its audience"


def test_the_circulation_rule_as_predicate_and_as_filter_agree_on_every_state(cross_border):
    """``was_circulated`` (rows) and ``CIRCULATED`` (querysets) state one rule twice: they must not drift."""
    from awareness.models import PublicWarning
    from awareness.policy.warnings import CIRCULATED, was_circulated

    analyst = cross_border["people"]["de_analyst"]
    kept_draft = draft(cross_border)
    withdrawn_draft = services.withdraw_warning(actor=analyst, warning=draft(cross_border))
    live = circulated(cross_border)
    withdrawn_live = services.withdraw_warning(actor=analyst, warning=circulated(cross_border))
    warnings = PublicWarning.objects.filter(pk__in=[w.pk for w in (kept_draft, withdrawn_draft, live, withdrawn_live)])

    by_filter = set(warnings.filter(**CIRCULATED).values_list("pk", flat=True))
    assert by_filter == {w.pk for w in warnings if was_circulated(w)} == {live.pk, withdrawn_live.pk}
