"""An exercise run by ENISA with a controller of its own, on the Reserve's network (tests/reserve/conftest.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from liaison import services as liaison_services
from tests import factories
from tests.reserve.conftest import reserve  # noqa: F401  (the fixture)

PLAYERS = ("de-csirt", "de-authority", "de-spoc", "fr-csirt", "pt-csirt", "ec", "cert-eu", "provider-acme")


@pytest.fixture
def drill(reserve):  # noqa: F811
    """``reserve`` plus a Cyber Europe exercise that started a minute ago and runs a day, controlled by ENISA's
    ``controller`` (ENISA's crisis manager ``enisa_crisis`` runs it but does not control it)."""
    r = reserve
    people = r["people"]
    people["controller"] = factories.person("control@enisa.example", r["orgs"]["enisa"], ["analyst"])
    people["enisa_crisis"] = factories.person("crisis@enisa.example", r["orgs"]["enisa"], ["crisis_manager"])
    now = timezone.now()
    r["exercise"] = liaison_services.create_exercise(
        actor=people["enisa_crisis"], organisation=r["orgs"]["enisa"], name="Cyber Europe 2026", kind="cyber_europe",
        starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(days=1),
        participants=[r["orgs"][code] for code in PLAYERS], controllers=[people["controller"]])
    return r
