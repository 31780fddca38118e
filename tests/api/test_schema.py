"""The OpenAPI contract and its interactive docs, served without a CDN and without inline scripts.

Decision: /api/schema/ and /api/docs/ need no login. They describe the API and hold no
data, and an integrator needs the contract before they hold a token.
"""

import re

import pytest
from django.core.management import call_command
from drf_spectacular.drainage import reset_generator_stats


def test_openapi_schema_generates_without_warnings_or_errors(tmp_path, capsys):
    target = tmp_path / "schema.yml"
    reset_generator_stats()  # count only this run's warnings, not those of schemas served earlier

    # --fail-on-warn raises on any warning or error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    captured = capsys.readouterr()
    assert "Warning" not in captured.err and "Error" not in captured.err
    assert "/api/v1/organisations/" in target.read_text()


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_are_readable_without_login(db, client, url):
    assert client.get(url).status_code == 200


def test_schema_declares_bearer_auth_and_documents_the_error_shape(db, client):
    response = client.get("/api/schema/", {"format": "json"})

    schema = response.json()
    assert response.status_code == 200
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "csoa_<prefix>_<secret>",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    operation = schema["paths"]["/api/v1/organisations/"]["get"]
    assert {"bearerAuth": []} in operation["security"]
    assert {"kind", "member_state", "cursor"} <= {p["name"] for p in operation["parameters"]}
    assert operation["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    feed = schema["paths"]["/api/v1/events/"]["get"]
    assert {"after", "limit"} <= {p["name"] for p in feed["parameters"]}


def test_docs_page_uses_only_local_static_files_and_no_inline_script(db, client):
    response = client.get("/api/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls, html
    # Local files only; "/" is the header's way back to the portal (tests/api/test_schema_docs.py).
    assert all(url.startswith(("/static/", "/api/")) or url == "/" for url in urls), urls
    assert "//" not in " ".join(urls)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_docs_script_and_swagger_assets_are_served_locally(db, client):
    html = client.get("/api/docs/").content.decode()

    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        if url == "/":
            continue  # the header's link back to the portal, not an asset
        asset = client.get(url.replace("&amp;", "&"))
        assert asset.status_code == 200, url
