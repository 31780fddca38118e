"""The fonts of the printed products: DejaVu Sans when the machine has it, Helvetica otherwise.

EU languages need Greek and Cyrillic (Bulgarian) besides Latin. reportlab's built-in
fonts (Helvetica, and the Vera it ships) cover Latin only: a Greek or Cyrillic character
prints as a black box, but never crashes the renderer. DejaVu Sans covers Latin, Greek
and Cyrillic; Debian ships it as ``fonts-dejavu-core``
(``/usr/share/fonts/truetype/dejavu/``), Fedora and Arch in the other folders below.
See docs/printing.md.
"""

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu: fonts-dejavu-core
    "/usr/share/fonts/dejavu-sans-fonts",  # Fedora
    "/usr/share/fonts/dejavu",  # older Fedora, openSUSE
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts",
)

# (reportlab face name, file name); the regular face is required, the others fall back to it.
_DEJAVU_FACES = {
    "regular": ("CSoA-DejaVuSans", "DejaVuSans.ttf"),
    "bold": ("CSoA-DejaVuSans-Bold", "DejaVuSans-Bold.ttf"),
    "italic": ("CSoA-DejaVuSans-Oblique", "DejaVuSans-Oblique.ttf"),
    "bold_italic": ("CSoA-DejaVuSans-BoldOblique", "DejaVuSans-BoldOblique.ttf"),
}
_FAMILY = "CSoA-DejaVuSans"

# Control characters print nothing useful; lone surrogates cannot even be encoded.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def printable(text) -> str:
    """Any value as text the PDF can carry: NFC, no control characters, U+FFFD for lone surrogates."""
    text = "" if text is None else str(text)
    text = _SURROGATE.sub("\ufffd", text)
    return _UNPRINTABLE.sub("", unicodedata.normalize("NFC", text))


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    italic: str
    bold_italic: str
    unicode: bool  # True: Greek and Cyrillic print (and extract) as text; False: as boxes


HELVETICA = Fonts("Helvetica", "Helvetica-Bold", "Helvetica-Oblique", "Helvetica-BoldOblique", unicode=False)


@lru_cache(maxsize=8)
def fonts(dirs: tuple[str, ...] = FONT_DIRS) -> Fonts:
    """Register DejaVu Sans from the first folder that has it (once per process); Helvetica otherwise."""
    for folder in dirs:
        regular = Path(folder) / _DEJAVU_FACES["regular"][1]
        if not regular.is_file():
            continue
        try:
            names = {}
            for face, (name, filename) in _DEJAVU_FACES.items():
                path = Path(folder) / filename
                if not path.is_file():
                    path = regular
                font = TTFont(name, str(path))  # parsed even when registered: proves this folder's file
                if name not in pdfmetrics.getRegisteredFontNames():
                    pdfmetrics.registerFont(font)
                names[face] = name
        except (TTFError, OSError):
            continue  # an unreadable or broken file: try the next folder, then Helvetica
        # <b> and <i> inside a Paragraph pick the matching face.
        addMapping(_FAMILY, 0, 0, names["regular"])
        addMapping(_FAMILY, 1, 0, names["bold"])
        addMapping(_FAMILY, 0, 1, names["italic"])
        addMapping(_FAMILY, 1, 1, names["bold_italic"])
        return Fonts(names["regular"], names["bold"], names["italic"], names["bold_italic"], unicode=True)
    return HELVETICA
