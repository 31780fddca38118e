"""URL helpers shared by the security tests: routes read from the URLconf and the OpenAPI schema."""

import re

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

MISSING = 987654321  # an id no object has


def page_routes(patterns=None, prefix="", *, skip=("api/", "admin/", "accounts/")):
    """Every route of the URLconf (``/incidents/<int:pk>/``), without the given prefixes."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith(skip):
                yield from page_routes(pattern.url_patterns, route, skip=skip)
        elif isinstance(pattern, URLPattern) and not route.startswith((*skip, "^")):
            yield "/" + route


def api_get_routes() -> list[str]:
    """Every path of the OpenAPI schema that answers GET (``/api/v1/incidents/{id}/``)."""
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    return [path for path, operations in schema["paths"].items() if "get" in operations]


def fill(route: str, ids: dict, *, missing: bool = False) -> str | None:
    """The route with real values, or None when a parameter has none.

    ``id``/``pk`` take the value of their collection (``ids["incidents"]`` in
    ``/incidents/<int:pk>/``), other parameters their own (``ids["attachment_id"]``). With
    ``missing``, the first id is one that no object has.
    """
    names = re.findall(r"\{(\w+)\}|<(?:\w+:)?(\w+)>", route)
    values = {}
    for index, (api_name, page_name) in enumerate(names):
        name = api_name or page_name
        collection = route.split("{" + name + "}" if api_name else "<")[0].rstrip("/").rsplit("/", 1)[-1]
        value = ids.get(collection) if name in ("id", "pk") else ids.get(name)
        if value is None:
            return None
        values[name] = MISSING if missing and index == 0 and isinstance(value, int) else value
    filled = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), route)
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), filled)


def body(response) -> str:
    """The response's text; for a PDF, the text of its pages (a marker in a PDF is drawn, not written as bytes)."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/pdf"):
        return pdf_text(content)
    return content.decode(errors="replace")


def pdf_text(content: bytes) -> str:
    """Every page's extracted text, plus the document's metadata (title, subject, keywords)."""
    from io import BytesIO

    from pypdf import PdfReader

    reader = PdfReader(BytesIO(content))
    metadata = " ".join(str(value) for value in (reader.metadata or {}).values())
    return "\n".join([metadata, *(page.extract_text() or "" for page in reader.pages)])
