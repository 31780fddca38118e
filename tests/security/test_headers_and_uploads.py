"""Content Security Policy on every page, and uploads: sniffed, bounded, never executed or rendered.

The pages are generated from the URLconf (every GET-able pattern, filled with the ids of
real objects), so a page added later is checked too. Browser tests (tests/e2e) fail on
any console error, which includes CSP violations.
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Attachment
from incidents.services import timeline as timeline_services
from tests.security.support import body, fill, page_routes

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


@pytest.fixture
def incident(network, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    de = network["people"]["de_analyst"]
    incident = incident_services.report_incident(
        actor=de, organisation=network["orgs"]["de-csirt"], title="Ransomware at a DSO", tlp="amber",
        aware_at=timezone.now() - timedelta(hours=2))
    incident_services.add_timeline_entry(actor=de, incident=incident, text="Notes", files=[
        SimpleUploadedFile("notes.txt", b"plain notes", content_type="text/plain")])
    return incident


def _csp_directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in header.split(";")) if d}


def _problems(response) -> list:
    csp = _csp_directives(response)
    scripts = csp.get("script-src", csp.get("default-src", []))
    found = []
    if "'self'" not in scripts or {"'unsafe-inline'", "'unsafe-eval'"} & set(scripts) or "*" in scripts:
        found.append(("script-src", scripts))
    if csp.get("object-src") != ["'none'"] or csp.get("frame-ancestors") != ["'none'"]:
        found.append(("object-src/frame-ancestors", csp))
    html = body(response)
    found += [("inline", match.group(0)[:120]) for pattern in (INLINE_SCRIPT, INLINE_HANDLER, JAVASCRIPT_URL)
              if (match := pattern.search(html))]
    return found


def _admin_pages():
    from django.contrib import admin

    pages = ["/admin/"]
    for model in admin.site._registry:
        pages += [f"/admin/{model._meta.app_label}/{model._meta.model_name}/",
                  f"/admin/{model._meta.app_label}/{model._meta.model_name}/1/change/"]
    return pages


def test_every_page_has_a_csp_without_inline_scripts_and_no_inline_script_or_handler(network, incident, login, client):
    admin = network["people"]["enisa_admin"]  # a network admin (and staff) reaches the most pages
    admin.is_staff = admin.is_superuser = True
    admin.save()
    ids = {"incidents": incident.pk, "attachment_id": incident.timeline.get().attachments.get().pk,
           "kind": "early_warning", "part": "levels", "code": "de-csirt"}
    signed_in = login(admin)
    urls = [(signed_in, fill(route, ids)) for route in page_routes()]
    urls += [(client, route) for route in page_routes(skip=("api/", "admin/")) if route.startswith("/accounts/")]
    urls += [(signed_in, url) for url in _admin_pages()] + [(client, "/api/docs/")]
    problems, checked = [], []

    for browser, url in urls:
        if url is None or "<" in url:
            continue
        response = browser.get(url)
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
            checked.append(url)
            problems += [(url, *problem) for problem in _problems(response)]

    assert len(checked) > 40 and "/accounts/login/" in checked and "/admin/" in checked
    assert problems == []


def test_an_attachment_over_the_size_limit_is_refused_naming_it_and_nothing_is_written(
        network, incident, login, monkeypatch):
    monkeypatch.setattr(timeline_services, "MAX_ATTACHMENT_BYTES", 1024)
    before = Attachment.objects.count(), incident.timeline.count()

    response = login(network["people"]["de_analyst"]).post(f"/incidents/{incident.pk}/timeline/", {
        "timeline-text": "Big dump", "timeline-kind": "update", "timeline-tlp": "amber",
        "timeline-files": [SimpleUploadedFile("dump.txt", b"x" * 1025, content_type="text/plain")],
    })

    assert response.status_code == 400
    assert "dump.txt is larger than" in response.content.decode()
    assert (Attachment.objects.count(), incident.timeline.count()) == before


def test_a_request_body_over_the_limit_is_refused_with_413_before_it_is_read(network, incident, login, settings):
    settings.REQUEST_MAX_BODY_BYTES = 2048

    response = login(network["people"]["de_analyst"]).post(f"/incidents/{incident.pk}/timeline/", {
        "timeline-text": "x", "timeline-kind": "update", "timeline-tlp": "amber",
        "timeline-files": [SimpleUploadedFile("big.txt", b"x" * 4096, content_type="text/plain")],
    })

    assert response.status_code == 413
    assert "limit is 2048 bytes" in response.content.decode()
    assert incident.timeline.count() == 1


@pytest.mark.parametrize("name,content", [
    ("shell.php", b"<?php system($_GET['c']); ?>"),
    ("page.html", b"<html><script>alert(1)</script></html>"),
    ("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
])
def test_an_accepted_upload_is_stored_under_a_random_name_and_only_ever_downloaded_as_inert_data(
        network, incident, login, settings, name, content):
    client = login(network["people"]["de_analyst"])
    response = client.post(f"/incidents/{incident.pk}/timeline/", {
        "timeline-text": "Sample", "timeline-kind": "update", "timeline-tlp": "amber",
        "timeline-files": [SimpleUploadedFile(name, content, content_type="text/html")],
    })
    assert response.status_code == 302
    attachment = Attachment.objects.get(original_name=name)
    stored = Path(attachment.file.path)

    assert stored.suffix == ".bin" and Path(name).stem not in stored.name  # never the uploaded name or extension
    assert Path(settings.MEDIA_ROOT) in stored.parents and not stored.is_relative_to(settings.STATIC_ROOT)
    assert client.get("/media/" + attachment.file.name).status_code == 404  # media is not served directly
    download = client.get(f"/incidents/{incident.pk}/attachments/{attachment.pk}/")
    assert download["Content-Type"] == "text/plain"  # sniffed from the bytes, never the declared text/html
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert body(download) == content.decode()
