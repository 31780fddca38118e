"""Lay out a printable product (``awareness.documents.PrintDocument``) as a PDF.

The product has already decided what this reader may see; this module only lays it out,
with reportlab (pure Python: it works on a machine with nothing but Python). Every page
carries the TLP 2.0 label in its header (right-aligned) and its footer, in FIRST's
colours on black; an unknown TLP code is refused rather than printed unmarked.

All text comes from users: reportlab's Paragraph reads markup, so every string is escaped
before it reaches one (``_text``); drawn strings (header, map, charts) are never parsed.
See docs/printing.md.
"""

import io
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    BaseDocTemplate,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from awareness import pdf_fonts, pdf_graphics
from awareness.documents import PrintChart, PrintDocument, PrintSection

PRODUCER = "CSoA Portal (situational awareness products, reportlab)"

# FIRST TLP 2.0: the label's colour on a black background; AMBER+STRICT is printed in amber.
TLP_MARKINGS = {
    "clear": ("TLP:CLEAR", colors.HexColor("#FFFFFF")),
    "green": ("TLP:GREEN", colors.HexColor("#33FF00")),
    "amber": ("TLP:AMBER", colors.HexColor("#FFC000")),
    "amber+strict": ("TLP:AMBER+STRICT", colors.HexColor("#FFC000")),
    "red": ("TLP:RED", colors.HexColor("#FF2B2B")),
}
TLP_BACKGROUND = colors.HexColor("#000000")
TLP_FONT, TLP_SIZE = "Helvetica-Bold", 12  # the label is ASCII: a built-in font always has it

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
HEADER_BAND = 14 * mm  # room above and below the frame for the marking
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN

# Past this many columns a table is printed in slices of columns, each a table of its own.
MAX_COLUMNS = 10
# Past this many bars a chart is printed as several charts, so every label stays readable.
MAX_BARS = 40


def tlp_marking(code: str) -> tuple[str, colors.Color]:
    """The printed label and its colour for an incidents TLP code; ValueError for anything else."""
    try:
        return TLP_MARKINGS[code]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown TLP code {code!r}: a document is never printed without its TLP marking.") from None


def utc_stamp(moment: datetime) -> str:
    """'2026-12-04 18:05 UTC'; a naive time is taken to be UTC already (storage is UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


_clean = pdf_fonts.printable


def _text(text) -> str:
    """User text as Paragraph markup that says exactly that text: escaped, line breaks kept."""
    return escape(_clean(text)).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br/>")


def _styles(fonts: pdf_fonts.Fonts) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=fonts.regular, fontSize=10, leading=13.5, alignment=TA_LEFT,
                          splitLongWords=1, spaceAfter=5)
    return {
        "body": base,
        "title": ParagraphStyle("title", base, fontName=fonts.bold, fontSize=20, leading=25, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", base, fontSize=13, leading=17, textColor=colors.HexColor("#424242")),
        "generated": ParagraphStyle("generated", base, fontSize=9, textColor=colors.HexColor("#616161"),
                                    spaceAfter=10),
        "heading": ParagraphStyle("heading", base, fontName=fonts.bold, fontSize=14, leading=18, spaceBefore=10,
                                  spaceAfter=6, keepWithNext=1),
        "chart_title": ParagraphStyle("chart_title", base, fontName=fonts.bold, fontSize=11, leading=14,
                                      spaceBefore=8, spaceAfter=2),
        "note": ParagraphStyle("note", base, fontName=fonts.italic, textColor=colors.HexColor("#424242")),
        "label": ParagraphStyle("label", base, fontName=fonts.bold, fontSize=9.5, leading=12.5, spaceAfter=0),
        "cell": ParagraphStyle("cell", base, fontSize=8.5, leading=10.5, spaceAfter=0),
        "header_cell": ParagraphStyle("header_cell", base, fontName=fonts.bold, fontSize=8.5, leading=10.5,
                                      spaceAfter=0),
    }


class _Document(BaseDocTemplate):
    """One page template: the frame between the TLP-marked header and footer."""

    def __init__(self, buffer, *, document: PrintDocument, fonts: pdf_fonts.Fonts):
        self.marking = tlp_marking(document.tlp)
        self.print_title = _clean(document.title)
        self.stamp = utc_stamp(document.generated_at)
        moment = document.generated_at
        self.stamp_moment = moment.astimezone(UTC) if moment.tzinfo else moment
        self.fonts = fonts
        super().__init__(
            buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN,
            topMargin=MARGIN + HEADER_BAND, bottomMargin=MARGIN + HEADER_BAND,
            title=self.print_title, author="CSoA Portal", subject=_clean(document.subtitle),
            creator="CSoA Portal", producer=PRODUCER, keywords=[self.marking[0]],
            invariant=1,  # same document, same bytes (ids and subset names do not vary)
        )
        frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._mark_page)])

    def _marking(self, canvas, *, baseline: float) -> float:
        """Draw the label right-aligned on its black box; returns the box's left edge."""
        label, colour = self.marking
        pad = 4
        text_width = stringWidth(label, TLP_FONT, TLP_SIZE)
        right = PAGE_WIDTH - MARGIN
        left = right - text_width - 2 * pad
        canvas.setFillColor(TLP_BACKGROUND)
        canvas.rect(left, baseline - 4, text_width + 2 * pad, TLP_SIZE + 5, stroke=0, fill=1)
        canvas.setFillColor(colour)
        canvas.setFont(TLP_FONT, TLP_SIZE)
        canvas.drawRightString(right - pad, baseline, label)
        return left

    def _mark_page(self, canvas, doc):
        canvas.saveState()
        # The creation date is the product's own time, so the bytes depend on the document only.
        canvas.setDateFormatter(lambda *_: "D:" + self._pdf_date())
        grey = colors.HexColor("#616161")
        header_baseline = PAGE_HEIGHT - MARGIN - TLP_SIZE
        left = self._marking(canvas, baseline=header_baseline)
        canvas.setFillColor(grey)
        canvas.setFont(self.fonts.regular, 8.5)
        canvas.drawString(MARGIN, header_baseline, self._fit(self.print_title, left - MARGIN - 12))
        canvas.setStrokeColor(colors.HexColor("#BDBDBD"))
        canvas.setLineWidth(0.5)
        canvas.line(MARGIN, header_baseline - 8, PAGE_WIDTH - MARGIN, header_baseline - 8)

        footer_baseline = MARGIN
        canvas.line(MARGIN, footer_baseline + TLP_SIZE + 6, PAGE_WIDTH - MARGIN, footer_baseline + TLP_SIZE + 6)
        self._marking(canvas, baseline=footer_baseline)
        canvas.setFillColor(grey)
        canvas.setFont(self.fonts.regular, 8.5)
        canvas.drawString(MARGIN, footer_baseline, f"CSoA Portal · generated {self.stamp} · page {doc.page}")
        canvas.restoreState()

    def _fit(self, text: str, width: float) -> str:
        text = " ".join(text.split())
        font = self.fonts.regular
        if stringWidth(text, font, 8.5) <= width:
            return text
        while text and stringWidth(text + "…", font, 8.5) > width:
            text = text[: max(0, len(text) - max(1, len(text) // 20))]
        return text + "…"

    def _pdf_date(self) -> str:
        return self.stamp_moment.strftime("%Y%m%d%H%M%S") + "+00'00'"


def _column_widths(rows: list[list[str]], total: float) -> list[float]:
    """Share the width by how much the columns say (sampled), each column at least a fair minimum."""
    count = len(rows[0])
    sample = rows[:200]
    weights = []
    for column in range(count):
        lengths = sorted(len(row[column]) for row in sample)
        typical = lengths[int(len(lengths) * 0.9)] if lengths else 1
        weights.append(min(max(typical, 4), 60))
    floor = total / count * 0.4
    spare = total - floor * count
    return [floor + spare * weight / sum(weights) for weight in weights]


def _table(rows: list[list[str]], styles) -> Table:
    """A table whose first row is the header, repeated on every page it spans; cells wrap."""
    widths = _column_widths(rows, FRAME_WIDTH)
    cells = [[Paragraph(_text(cell), styles["header_cell"] if index == 0 else styles["cell"]) for cell in row]
             for index, row in enumerate(rows)]
    table = Table(cells, colWidths=widths, repeatRows=1, splitInRow=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9E9E9E")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E3E8EF")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def _tables(rows: tuple[tuple[str, ...], ...], styles) -> list:
    """The section's table; a wider one than MAX_COLUMNS in slices of columns, each saying which."""
    count = max(len(row) for row in rows)
    texts = [[_clean(cell) for cell in row] + [""] * (count - len(row)) for row in rows]
    if count <= MAX_COLUMNS:
        return [_table(texts, styles), Spacer(1, 6)]
    parts = []
    for start in range(0, count, MAX_COLUMNS):
        stop = min(start + MAX_COLUMNS, count)
        parts.append(Paragraph(f"Columns {start + 1}–{stop} of {count}", styles["note"]))
        parts += [_table([row[start:stop] for row in texts], styles), Spacer(1, 6)]
    return parts


def _summary(document: PrintDocument, styles) -> list:
    rows = [[Paragraph(_text(label), styles["label"]), Paragraph(_text(text), styles["cell"])]
            for label, text in document.summary]
    table = Table(rows, colWidths=[FRAME_WIDTH * 0.22, FRAME_WIDTH * 0.78], splitInRow=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 1.2, colors.HexColor("#263238")),
        ("LINEBELOW", (0, 0), (-1, -2), 0.4, colors.HexColor("#B0BEC5")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#ECEFF1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
        ("RIGHTPADDING", (0, 0), (-1, -1), 6),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]))
    return [table, Spacer(1, 8)]


def _map(document: PrintDocument, styles, fonts: pdf_fonts.Fonts) -> list:
    states = pdf_graphics.sort_states(document.map_states)
    parts = [
        Paragraph("Member states involved", styles["chart_title"]),
        pdf_graphics.eu_map(states, font=fonts.regular, bold=fonts.bold),
    ]
    if states.other:
        listed = ", ".join(f"{code} ({value or 'no value'})" for code, value in sorted(states.other.items()))
        parts.append(Paragraph(_text(f"Other involvement: {listed}"), styles["body"]))
    if states.unknown:
        listed = ", ".join(f"{code or '(empty code)'} ({value or 'no value'})" for code, value in sorted(states.unknown.items()))
        parts.append(Paragraph(_text(f"Not on the map (not an EU member state code): {listed}"), styles["body"]))
    return [KeepTogether(parts), Spacer(1, 6)]


def _chart(chart: PrintChart, styles, fonts: pdf_fonts.Fonts) -> list:
    """The chart under its title; more than MAX_BARS bars become several charts, each saying which bars."""
    title = Paragraph(_text(chart.title), styles["chart_title"])
    if not chart.bars:
        return [KeepTogether([title, Paragraph("No data", styles["note"])])]
    count, parts = len(chart.bars), []
    for start in range(0, count, MAX_BARS):
        stop = min(start + MAX_BARS, count)
        part = [pdf_graphics.bar_chart(chart.bars[start:stop], width=FRAME_WIDTH, font=fonts.regular)]
        if count > MAX_BARS:
            part.insert(0, Paragraph(f"Bars {start + 1}–{stop} of {count}", styles["note"]))
        if not parts:
            part.insert(0, title)  # the title stays with the first chart
        parts.append(KeepTogether(part))
    return parts


def _section(section: PrintSection, styles) -> list:
    parts = [Paragraph(_text(section.heading), styles["heading"])]
    parts += [Paragraph(_text(paragraph), styles["body"]) for paragraph in section.paragraphs]
    if any(section.table):
        parts += _tables(section.table, styles)
    if section.omitted_note:
        parts.append(Paragraph(_text(section.omitted_note), styles["note"]))
    return parts


def render_pdf(document: PrintDocument) -> bytes:
    """The product as PDF bytes, TLP-marked on every page; ValueError for an unknown TLP code."""
    tlp_marking(document.tlp)  # refuse before doing any work
    fonts = pdf_fonts.fonts()
    styles = _styles(fonts)
    buffer = io.BytesIO()
    doc = _Document(buffer, document=document, fonts=fonts)

    story = [Paragraph(_text(document.title), styles["title"])]
    if document.subtitle:
        story.append(Paragraph(_text(document.subtitle), styles["subtitle"]))
    story.append(Paragraph(_text(f"Generated {utc_stamp(document.generated_at)}"), styles["generated"]))
    if document.summary:
        story += _summary(document, styles)
    if document.omitted_note:
        story.append(Paragraph(_text(document.omitted_note), styles["note"]))
    if document.map_states:
        story += _map(document, styles, fonts)
    for chart in document.charts:
        story += _chart(chart, styles, fonts)
    for section in document.sections:
        story += _section(section, styles)
    doc.build(story)
    return buffer.getvalue()
