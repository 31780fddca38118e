"""Reading a situation report's PDF back as its reader gets it (page or API), with pypdf.

Builds on ``tests.awareness.sitreps_support`` (the three-incident crisis and its readers); adds a
report long enough for several pages, a level-3 report with its ISAA summary, and helpers that
fetch the PDF and say what each page shows.
"""

import io
from dataclasses import dataclass

from pypdf import PdfReader

from incidents.models import Incident
from tests.awareness.sitreps_support import published

# Enough paragraphs of assessment to push the report over two A4 pages whoever reads it.
ASSESSMENT = "\n\n".join(
    f"Assessment paragraph {n}: the grid operators restore control room by control room; "
    "the encrypted historians are rebuilt from backups and the operators work on manual switching meanwhile. " * 3
    for n in range(1, 25))
NEXT_STEPS = "Next report at 18:00 UTC.\n\nThe Reserve's deployment is reviewed at the next EU-CyCLONe call."
ISAA = {"summary_what": "ISAA-WHAT grid control systems encrypted across three states",
        "summary_where": "ISAA-WHERE Germany, France and Portugal; energy and transport",
        "summary_impact": "ISAA-IMPACT regional outages for 2 million customers",
        "summary_outlook": "ISAA-OUTLOOK restoration within 48 hours",
        "summary_options": "ISAA-OPTIONS activate the EU Cybersecurity Reserve"}

# The header's and the footer's marking sit within this many points of the page's edge; the body
# (whose tables also name TLPs, in their TLP column) starts further in (awareness.pdf: margin + band).
HEADER_BAND = 75

PAGE_PDF = "/awareness/sitreps/{pk}/pdf/"
API_PDF = "/api/v1/sitreps/{pk}/pdf/"


def long_report(crisis, **fields):
    """A published level-2 report (TLP:AMBER+STRICT, its related incidents' TLP) of several pages."""
    fields.setdefault("title", "SITREP grid crisis")
    return published(crisis, assessment=ASSESSMENT, next_steps=NEXT_STEPS, **fields)


def level3_report(crisis, **fields):
    """A published level-3 report drafted by the Presidency's crisis authority, with its ISAA summary."""
    Incident.objects.filter(pk=crisis["primary"].pk).update(crisis_level=3)
    crisis["primary"].refresh_from_db()
    fields = {"title": "ISAA contribution", "assessment": ASSESSMENT, **ISAA, **fields}
    return published(crisis, author="ie_chair", publisher="ie_chair2", **fields)


@dataclass(frozen=True)
class Page:
    text: str
    # The TLP labels drawn on the page: (label, x, y), in PDF points from the bottom left.
    labels: tuple[tuple[str, float, float], ...]
    width: float
    height: float

    @property
    def squashed(self) -> str:
        """The text without any whitespace: a phrase wrapped over lines or cells is still found whole."""
        return "".join(self.text.split())

    def says(self, phrase: str) -> bool:
        return "".join(phrase.split()) in self.squashed

    def header_labels(self) -> list[str]:
        return [label for label, x, y in self.labels if y > self.height - HEADER_BAND and x > self.width / 2]

    def footer_labels(self) -> list[str]:
        return [label for label, _, y in self.labels if y < HEADER_BAND]


def pages(pdf: bytes) -> list[Page]:
    out = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        labels = []

        def visit(text, cm, tm, font, size, labels=labels):
            if text.strip().startswith("TLP:"):  # where on the page: the text matrix within the drawing's
                x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                labels.append((text.strip(), x, y))

        text = page.extract_text(visitor_text=visit)
        out.append(Page(text=text, labels=tuple(labels), width=float(page.mediabox.width),
                        height=float(page.mediabox.height)))
    return out


def everything(document_pages: list[Page]) -> Page:
    """All pages as one, for what must (not) be anywhere in the document."""
    first = document_pages[0]
    return Page(text="\n".join(p.text for p in document_pages), labels=(), width=first.width, height=first.height)
