"""/api/docs/ carries the portal's header, and every operation of the schema has a summary.

The summaries are the lines of the interactive docs: an operation without one shows only its
path. They come from ``extend_schema(summary=…)`` or the view's ``summaries`` (csoa_portal.api.schema).
"""

import pytest

METHODS = ("get", "post", "put", "patch", "delete")

pytestmark = pytest.mark.django_db


def _schema(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_every_operation_of_the_schema_has_a_summary(client):
    schema = _schema(client)
    operations = [(method.upper(), path, operation) for path, item in schema["paths"].items()
                  for method, operation in item.items() if method in METHODS]
    assert len(operations) >= 60
    missing = [f"{method} {path}" for method, path, operation in operations if not operation.get("summary", "").strip()]
    assert missing == []
    summaries = [operation["summary"] for _, _, operation in operations]
    assert all(len(summary) <= 80 and not summary.endswith(".") for summary in summaries), summaries
    assert len(set(summaries)) == len(summaries), "two operations share a summary"


def test_the_schema_info_names_the_portal_and_leads_back_to_it(client):
    info = _schema(client)["info"]
    assert info["title"] == "CSoA Portal API"
    assert "[CSoA Portal](/)" in info["description"]
    assert "Authorization: Bearer <token>" in info["description"]


def test_the_docs_page_has_the_portals_header_with_a_way_back(client):
    html = client.get("/api/docs/").content.decode()
    assert '<header class="api-docs-header">' in html
    assert '<a class="brand" href="/">CSoA Portal</a>' in html and '<a class="back" href="/">Back to the portal</a>' in html
    assert "CSoA Portal API" in html


def test_a_patch_can_be_previewed_with_dry_run_in_the_schema(client):
    patch = _schema(client)["paths"]["/api/v1/incidents/{id}/"]["patch"]
    assert "dry_run" in {p["name"] for p in patch["parameters"]}
    assert patch["summary"] == "Complete or correct an incident (or preview it with dry_run)"
