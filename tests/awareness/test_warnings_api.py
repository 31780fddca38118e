"""The public-warning API: the same workflow and refusals as the pages, in JSON with ISO 8601 times."""

from datetime import timedelta

import pytest
from django.utils import timezone

from awareness.models import PublicWarning
from tests.awareness import warnings_support
from tests.awareness.warnings_support import circulated

cross_border = warnings_support.cross_border  # the fixture

pytestmark = pytest.mark.django_db


def _api(client, method, url, data=None):
    return getattr(client, method)(f"/api/v1/{url}", data=data, content_type="application/json")


def test_the_api_facts_panel_marks_clear_and_refuses_non_clear_facts(cross_border, login):
    client = login(cross_border["people"]["de_analyst"])
    facts = {f["text"]: f for f in _api(client, "get", f"incidents/{cross_border['incident'].pk}/warning-facts/")
             .json()["facts"]}
    assert facts["203.0.113.5"]["clear"] is True
    assert facts["198.51.100.7"]["clear"] is False and "TLP:AMBER" in facts["198.51.100.7"]["why_not"]
    refused = _api(client, "post", "warnings/", {"incident": cross_border["incident"].pk, "title": "T",
                                                 "facts": [f"observable:{cross_border['amber_ip'].pk}"]})
    assert refused.status_code == 400
    assert "198.51.100.7" in refused.json()["error"]["fields"]["facts"][0]
    assert not PublicWarning.objects.exists()


def test_the_workflow_over_the_api(cross_border, login):
    people = cross_border["people"]
    drafter = login(people["de_analyst"])
    made = _api(drafter, "post", "warnings/", {"incident": cross_border["incident"].pk, "title": "Rail outages",
                                               "facts": [f"observable:{cross_border['clear_ip'].pk}"]})
    assert made.status_code == 201, made.json()
    pk = made.json()["id"]
    assert made.json()["actions"] == ["edit", "circulate", "withdraw"]
    deadline = (timezone.now() + timedelta(hours=6)).replace(microsecond=0)
    body = _api(drafter, "post", f"warnings/{pk}/circulate/", {"response_deadline": deadline.isoformat()}).json()
    assert body["status"] == "circulated" and body["response_deadline"] == deadline.isoformat().replace(
        "+00:00", "Z")
    answered = _api(login(people["fr_analyst"]), "post", f"warnings/{pk}/respond/",
                    {"response": "agreed", "own_language": "fr", "own_title": "Perturbations",
                     "own_text": "Texte."})
    assert answered.status_code == 200
    fr = next(p for p in answered.json()["participations"] if p["member_state"] == "FR")
    assert fr["response"] == "agreed" and fr["own_language"] == "fr"


def test_bad_input_over_the_api_is_4xx_naming_the_problem(cross_border, login):
    people = cross_border["people"]
    warning = circulated(cross_border)
    fr = login(people["fr_analyst"])
    not_concerned = _api(fr, "post", f"warnings/{warning.pk}/respond/", {"response": "agreed", "member_state": "PT"})
    assert not_concerned.status_code == 400
    assert "Portugal is not concerned" in not_concerned.json()["error"]["fields"]["member_state"][0]
    enisa = _api(login(people["enisa_triage"]), "post", f"warnings/{warning.pk}/respond/", {"response": "agreed"})
    assert enisa.status_code == 403 and "not concerned" in enisa.json()["error"]["message"]
    _api(fr, "post", f"warnings/{warning.pk}/respond/", {"response": "agreed"})
    past = _api(login(people["de_analyst"]), "post", f"warnings/{warning.pk}/schedule/",
                {"publish_at": (timezone.now() - timedelta(minutes=5)).isoformat()})
    assert past.status_code == 400 and "in the past" in past.json()["error"]["fields"]["publish_at"][0]
    assert _api(login(people["pt_analyst"]), "get", f"warnings/{warning.pk}/").status_code == 404
    warning.refresh_from_db()
    assert warning.status == "circulated" and warning.publish_at is None
    assert list(warning.participations.values_list("member_state__code", "response")) == [
        ("DE", "pending"), ("FR", "agreed")]
