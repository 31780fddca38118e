"""What a printable product says, as plain data: the contract between a product and ``awareness.pdf``.

A product (a situation report as one reader may read it, a review report) builds a
``PrintDocument`` from what that reader may see; ``awareness.pdf.render_pdf`` only lays it
out. Nothing here reads the database or decides visibility.
"""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class PrintSection:
    heading: str
    paragraphs: tuple[str, ...] = ()
    # A table: first row is the header. Empty: no table.
    table: tuple[tuple[str, ...], ...] = ()
    # Said when parts of this section were left out for this reader (never what was left out).
    omitted_note: str = ""


@dataclass(frozen=True)
class PrintChart:
    """A bar chart: one bar per label."""

    title: str
    bars: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class PrintDocument:
    title: str
    tlp: str  # an incidents TLP code: "clear", "green", "amber", "amber+strict", "red"
    generated_at: datetime
    subtitle: str = ""
    # The first page's summary box (e.g. the ISAA political-level summary): (label, text) pairs.
    summary: tuple[tuple[str, str], ...] = ()
    sections: tuple[PrintSection, ...] = ()
    # Member state code ("DE") -> how it is involved ("affected", "contributed", ...); drawn as the map.
    map_states: dict[str, str] = field(default_factory=dict)
    charts: tuple[PrintChart, ...] = ()
    # Said on the first page when anything was left out for this reader.
    omitted_note: str = ""
