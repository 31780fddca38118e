"""The drawings of a printed product: the EU tile-grid map and the bar charts.

Pure layout with ``reportlab.graphics``: strings drawn here are never parsed as markup.
"""

from dataclasses import dataclass

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from awareness.pdf_fonts import printable

# The 27 member states on a tile grid, (column west→east, row north→south), roughly where
# they lie. Greece is "EL" in EU usage and "GR" in ISO 3166; both are accepted.
TILES = {
    "SE": (4, 0), "FI": (5, 0),
    "IE": (0, 1), "DK": (3, 1), "EE": (5, 1),
    "NL": (2, 2), "DE": (3, 2), "PL": (4, 2), "LV": (5, 2),
    "BE": (1, 3), "LU": (2, 3), "CZ": (3, 3), "SK": (4, 3), "LT": (5, 3),
    "FR": (1, 4), "AT": (3, 4), "HU": (4, 4), "RO": (5, 4),
    "PT": (0, 5), "ES": (1, 5), "IT": (2, 5), "SI": (3, 5), "HR": (4, 5), "BG": (5, 5),
    "MT": (2, 6), "EL": (5, 6), "CY": (6, 6),
}
ALIASES = {"GR": "EL"}

AFFECTED, CONTRIBUTED, OTHER = "affected", "contributed", "other"
FILL = {
    AFFECTED: colors.HexColor("#C62828"),
    CONTRIBUTED: colors.HexColor("#1565C0"),
    OTHER: colors.HexColor("#BDBDBD"),
    None: colors.HexColor("#EEEEEE"),
}
INK = {AFFECTED: colors.white, CONTRIBUTED: colors.white, OTHER: colors.black, None: colors.HexColor("#616161")}
LEGEND = ((AFFECTED, "Affected"), (CONTRIBUTED, "Contributed"), (OTHER, "Other involvement"), (None, "Not involved"))
_RANK = {AFFECTED: 3, CONTRIBUTED: 2, OTHER: 1}

TILE, GAP = 30, 3


def involvement(value: str) -> str:
    value = (value or "").strip().lower()
    return value if value in (AFFECTED, CONTRIBUTED) else OTHER


@dataclass(frozen=True)
class MapStates:
    tiles: dict[str, str]  # tile code -> AFFECTED, CONTRIBUTED or OTHER
    other: dict[str, str]  # the product's code -> its own word, for the states involved otherwise
    unknown: dict[str, str]  # codes that are not EU member states -> their value: listed, never dropped
    greece: str  # the label of Greece's tile: the code the product used ("GR" or "EL")


def sort_states(map_states: dict[str, str]) -> MapStates:
    tiles: dict[str, str] = {}
    other: dict[str, str] = {}
    unknown: dict[str, str] = {}
    greece = "EL"
    for raw_code, raw_value in map_states.items():
        code, value = printable(raw_code).strip().upper(), printable(raw_value)
        tile = ALIASES.get(code, code)
        if tile not in TILES:
            unknown[printable(raw_code)] = value
            continue
        if tile == "EL":
            greece = code
        kind = involvement(value)
        if kind == OTHER:
            other[code] = value
        # The same state given twice (GR and EL): the stronger involvement wins.
        if _RANK[kind] > _RANK.get(tiles.get(tile), 0):
            tiles[tile] = kind
    return MapStates(tiles, other, unknown, greece)


def eu_map(states: MapStates, *, font: str, bold: str) -> Drawing:
    columns = 1 + max(c for c, _ in TILES.values())
    rows = 1 + max(r for _, r in TILES.values())
    grid_width = columns * (TILE + GAP)
    legend_x = grid_width + 24
    width, height = legend_x + 130, rows * (TILE + GAP)
    drawing = Drawing(width, height)
    for code, (column, row) in TILES.items():
        kind = states.tiles.get(code)
        x, y = column * (TILE + GAP), height - (row + 1) * (TILE + GAP)
        drawing.add(Rect(x, y, TILE, TILE, fillColor=FILL[kind], strokeColor=colors.white, strokeWidth=0.5))
        label = states.greece if code == "EL" else code
        drawing.add(String(x + TILE / 2, y + TILE / 2 - 3.5, label, fontName=bold, fontSize=9,
                           fillColor=INK[kind], textAnchor="middle"))
    for index, (kind, text) in enumerate(LEGEND):
        y = height - (index + 1) * 18
        drawing.add(Rect(legend_x, y, 12, 12, fillColor=FILL[kind], strokeColor=colors.HexColor("#9E9E9E"),
                         strokeWidth=0.5))
        drawing.add(String(legend_x + 18, y + 2.5, text, fontName=font, fontSize=9))
    return drawing


def _shorten(text: str, *, font: str, size: float, width: float) -> str:
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def bar_chart(bars: tuple[tuple[str, int], ...], *, width: float, font: str) -> Drawing:
    """One bar per label with its value on top; past 8 bars the labels stand upright (rotated 90°)."""
    count = len(bars)
    rotated = count > 8
    label_size = 8 if count <= 30 else 7
    label_room = 70 if rotated else 14
    plot_height = 140
    height = plot_height + label_room + 24
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 34, label_room + 6
    # A few bars stay bar-shaped instead of filling the page's width.
    chart.width, chart.height = min(width - 44, max(160, 56 * count)), plot_height
    values = [int(value) for _, value in bars]
    chart.data = [values]
    chart.bars[0].fillColor = colors.HexColor("#1565C0")
    chart.bars.strokeColor = None
    low, high = min(0, *values), max(0, *values)
    chart.valueAxis.valueMin = low
    chart.valueAxis.valueMax = high + max(1, (high - low) // 10) if high > low else low + 1
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.labelTextFormat = "%d"
    chart.valueAxis.forceZero = True
    slot = chart.width / count
    labels = [_shorten(printable(label), font=font, size=label_size, width=label_room - 6 if rotated else slot - 2)
              for label, _ in bars]
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = label_size
    if rotated:
        chart.categoryAxis.labels.angle = 90
        chart.categoryAxis.labels.boxAnchor = "e"
        chart.categoryAxis.labels.dx = 0
        chart.categoryAxis.labels.dy = -3
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = label_size
    chart.barLabels.nudge = 6
    drawing.add(chart)
    return drawing
