"""The PDF of a situational-awareness product, read back with pypdf: what a reader finds on the pages.

Pure: no database. Each test builds a ``PrintDocument`` and reads the rendered PDF's text.
"""

import io
import re
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pypdf import PdfReader
from reportlab.lib import colors
from reportlab.lib.rl_accel import fp_str

from awareness import pdf_fonts, pdf_graphics
from awareness.documents import PrintChart, PrintDocument, PrintSection
from awareness.pdf import render_pdf, tlp_marking

GENERATED = datetime(2026, 12, 4, 18, 5, tzinfo=UTC)
TLP_CASES = [
    ("clear", "TLP:CLEAR", "#FFFFFF"),
    ("green", "TLP:GREEN", "#33FF00"),
    ("amber", "TLP:AMBER", "#FFC000"),
    ("amber+strict", "TLP:AMBER+STRICT", "#FFC000"),
    ("red", "TLP:RED", "#FF2B2B"),
]
EU_27 = "AT BE BG HR CY CZ DK EE FI FR DE EL HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()  # Greece is labelled EL (EU usage) unless the product says GR
UNICODE_FONT = pdf_fonts.fonts().unicode


def document(**overrides) -> PrintDocument:
    values = {"title": "Situation report 7", "tlp": "amber", "generated_at": GENERATED}
    values.update(overrides)
    return PrintDocument(**values)


def long_sections(count: int = 12) -> tuple[PrintSection, ...]:
    return tuple(
        PrintSection(heading=f"Section {n}", paragraphs=(f"Paragraph of section {n}. " * 60,) * 2) for n in range(count)
    )


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in read(pdf).pages]


def all_text(pdf: bytes) -> str:
    return "\n".join(pages_text(pdf))


def label_runs(page) -> list[tuple[float, float, float]]:
    """(x, y, font size) of each TLP label drawn on the page."""
    runs = []

    def visit(text, cm, tm, font, size):
        if text.strip().startswith("TLP:"):
            runs.append((tm[4], tm[5], size))

    page.extract_text(visitor_text=visit)
    return runs


# --- TLP marking ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "label", "colour"), TLP_CASES)
def test_every_page_of_a_long_document_has_the_tlp_label_in_its_header_and_footer(code, label, colour):
    pdf = render_pdf(document(tlp=code, sections=long_sections()))
    reader = read(pdf)
    assert len(reader.pages) >= 3
    for page in reader.pages:
        text = page.extract_text()
        assert len(re.findall(re.escape(label) + r"(?!\+)", text)) >= 2
        height, width = float(page.mediabox.height), float(page.mediabox.width)
        runs = label_runs(page)
        assert any(y > height - 100 and x > width / 2 for x, y, _ in runs), "header label, right-aligned"
        assert any(y < 100 for _, y, _ in runs), "footer label"
        assert all(size >= 10 for _, _, size in runs)


@pytest.mark.parametrize(("code", "label", "colour"), TLP_CASES)
def test_tlp_label_is_printed_in_its_first_colour_on_a_black_box(code, label, colour):
    pdf = render_pdf(document(tlp=code, sections=long_sections(4)))
    ink = fp_str(*colors.HexColor(colour).rgb())
    drawn = re.compile(rb"0 0 0 rg\nn [\d. ]+ re f\*\n" + re.escape(ink.encode()) + rb" rg\nBT /F\d+ 12 Tf")
    for page in read(pdf).pages:
        assert len(drawn.findall(page.get_contents().get_data())) == 2
    assert tlp_marking(code) == (label, colors.HexColor(colour))


@pytest.mark.parametrize("code", ["TLP:AMBER", "AMBER", "white", "", None, "amber-strict"])
def test_unknown_tlp_code_is_refused_rather_than_printed_unmarked(code):
    with pytest.raises(ValueError, match="TLP"):
        render_pdf(document(tlp=code))


# --- First page ---------------------------------------------------------------------------------------------


def test_first_page_has_title_subtitle_time_summary_box_and_omission_note():
    pdf = render_pdf(document(
        subtitle="Political level summary (ISAA)",
        summary=(("What", "Ransomware on hospital networks"), ("Where", "DE, FR, PT"),
                 ("Impact", "Emergency care diverted"), ("Outlook", "Worsening in the next 6 hours"),
                 ("Options", "Activate the Reserve")),
        omitted_note="Parts of this report were left out for you.",
        sections=long_sections(6),
    ))
    first = pages_text(pdf)[0]
    for expected in ("Situation report 7", "Political level summary (ISAA)", "2026-12-04 18:05 UTC",
                     "What", "Ransomware on hospital networks", "Outlook", "Worsening in the next 6 hours",
                     "Options", "Activate the Reserve", "Parts of this report were left out for you."):
        assert expected in first
    assert first.index("Ransomware on hospital networks") < first.index("Parts of this report were left out")


def test_generated_time_is_printed_in_utc_whatever_the_zone_it_came_in():
    brussels = datetime(2026, 12, 4, 19, 5, tzinfo=timezone(timedelta(hours=1)))
    assert "Generated 2026-12-04 18:05 UTC" in pages_text(render_pdf(document(generated_at=brussels)))[0]


def test_empty_document_still_renders_one_marked_page():
    pdf = render_pdf(document(title="", tlp="red"))
    texts = pages_text(pdf)
    assert len(texts) == 1
    assert texts[0].count("TLP:RED") >= 2


def test_pdf_metadata_carries_the_title_and_names_the_portal_as_producer():
    meta = read(render_pdf(document(title="Κρίση Σύνοψη <b>7</b>"))).metadata
    assert meta.title == "Κρίση Σύνοψη <b>7</b>"
    assert "CSoA Portal" in meta.producer


def test_same_document_renders_the_same_bytes():
    doc = document(sections=long_sections(3), map_states={"DE": "affected"}, charts=(PrintChart("c", (("a", 1),)),))
    assert render_pdf(doc) == render_pdf(doc)


# --- Sections ------------------------------------------------------------------------------------------------


def test_sections_print_heading_paragraphs_table_and_omission_note():
    pdf = render_pdf(document(sections=(
        PrintSection(heading="Affected sectors", paragraphs=("Energy and health are hit.",),
                     table=(("Sector", "Entities"), ("Energy", "12"), ("Health", "31")),
                     omitted_note="Two incidents you may not read were left out."),
    )))
    text = all_text(pdf)
    for expected in ("Affected sectors", "Energy and health are hit.", "Sector", "Entities", "Health", "31",
                     "Two incidents you may not read were left out."):
        assert expected in text


def test_a_section_the_product_left_out_is_not_in_the_pdf():
    pdf = render_pdf(document(sections=(PrintSection(heading="Public warnings", paragraphs=("Issued at 14:00.",)),)))
    text = all_text(pdf)
    assert "Public warnings" in text
    assert "Reserve deployments" not in text


def test_table_header_is_repeated_on_every_page_the_table_spans():
    rows = (("Organisation", "State", "Status"),) + tuple((f"org-{n}", "DE", "open") for n in range(300))
    pdf = render_pdf(document(sections=(PrintSection(heading="Requests", table=rows),)))
    pages_with_rows = [text for text in pages_text(pdf) if "org-" in text]
    assert len(pages_with_rows) >= 3
    assert all("Organisation" in text for text in pages_with_rows)
    assert "org-299" in pages_with_rows[-1]


def test_a_table_wider_than_the_page_prints_every_column_in_slices():
    rows = tuple(tuple(f"r{r}c{c}" for c in range(30)) for r in range(3))
    text = all_text(render_pdf(document(sections=(PrintSection(heading="Wide", table=rows),))))
    assert all(f"r2c{c}" in text for c in range(30))
    assert "Columns 21–30 of 30" in text


def test_very_long_words_and_urls_wrap_instead_of_running_off_the_page():
    url = "https://example.org/" + "a" * 400
    pdf = render_pdf(document(title="T" * 300, sections=(
        PrintSection(heading="Links", paragraphs=(url,), table=(("Source", "Link"), ("CERT-EU", url))),
    )))
    lines = all_text(pdf).splitlines()
    assert all(url not in line for line in lines), "a 420-character word cannot fit on one line"
    assert url in "".join(lines)


def test_a_table_cell_longer_than_a_page_splits_across_pages():
    rows = (("Entity", "Notes"), ("Hospital", "note " * 4000))
    pdf = render_pdf(document(sections=(PrintSection(heading="Notes", table=rows),)))
    assert len(read(pdf).pages) >= 3
    assert all(text.count("TLP:AMBER") >= 2 for text in pages_text(pdf))


# --- User text is text, never markup ---------------------------------------------------------------------------


def test_hostile_markup_is_printed_literally_and_loads_no_file():
    font_tag, img_tag = "<font size=80>x</font>", '<img src="/etc/passwd"/>'
    pdf = render_pdf(document(
        title=font_tag, subtitle=img_tag,
        summary=((img_tag, "a & b < c > d"),),
        sections=(PrintSection(heading="<para>&amp;", paragraphs=(img_tag, '<a href="file:///etc/passwd">x</a>'),
                               table=((img_tag, font_tag), ("]]>", "&nbsp;")), omitted_note="<i>not italic</i>"),),
        charts=(PrintChart(img_tag, ((font_tag, 1),)),),
    ))
    text = all_text(pdf)
    for literal in (font_tag, img_tag, "a & b < c > d", "<para>&amp;", '<a href="file:///etc/passwd">x</a>',
                    "&nbsp;", "<i>not italic</i>"):
        assert literal in text
    assert b"/Subtype /Image" not in pdf


def test_control_characters_and_lone_surrogates_do_not_break_the_pdf():
    pdf = render_pdf(document(title="a\x00b\x07c\ud800", sections=(PrintSection(heading="x\x1by", paragraphs=("1\n2",)),)))
    text = all_text(pdf)
    assert "abc" in text
    assert "xy" in text


# --- Fonts ------------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not UNICODE_FONT, reason="DejaVu Sans is not installed on this machine")
def test_greek_and_cyrillic_are_printed_as_text_with_the_unicode_font():
    pdf = render_pdf(document(title="Κυβερνοκρίση στην Ελλάδα", sections=(
        PrintSection(heading="България", paragraphs=("Кибератака срещу болници.",), table=(("Δήμος", "Статус"),)),
    ), map_states={"EL": "affected", "BG": "contributed"}, charts=(PrintChart("Περιστατικά", (("София", 3),)),)))
    text = all_text(pdf)
    for expected in ("Κυβερνοκρίση στην Ελλάδα", "България", "Кибератака срещу болници.", "Δήμος", "Статус",
                     "Περιστατικά", "София"):
        assert expected in text


def test_greek_and_cyrillic_do_not_crash_the_renderer_without_the_unicode_font(monkeypatch):
    monkeypatch.setattr(pdf_fonts, "fonts", lambda: pdf_fonts.HELVETICA)
    pdf = render_pdf(document(title="Κυβερνοκρίση", sections=(PrintSection(heading="България", table=(("Δ", "С"),)),),
                              charts=(PrintChart("Περιστατικά", (("София", 3),)),)))
    assert all(text.count("TLP:AMBER") >= 2 for text in pages_text(pdf))


def test_without_dejavu_on_the_machine_the_fonts_fall_back_to_helvetica(tmp_path):
    assert pdf_fonts.fonts((str(tmp_path),)) == pdf_fonts.HELVETICA
    (tmp_path / "DejaVuSans.ttf").write_bytes(b"not a font")
    assert pdf_fonts.fonts((str(tmp_path), "/nonexistent")) == pdf_fonts.HELVETICA


# --- Map -------------------------------------------------------------------------------------------------------


def test_map_shows_all_27_member_states_with_a_legend_and_lists_unknown_codes():
    pdf = render_pdf(document(map_states={"DE": "affected", "FR": "contributed", "PT": "monitoring",
                                          "XK": "affected", "UK": "contributed"}))
    first = pages_text(pdf)[0]
    tokens = set(first.split())
    assert set(EU_27) <= tokens
    for legend in ("Affected", "Contributed", "Other involvement", "Not involved"):
        assert legend in first
    assert "Other involvement: PT (monitoring)" in first
    assert "Not on the map (not an EU member state code): UK (contributed), XK (affected)" in first


@pytest.mark.parametrize("greece", ["GR", "EL"])
def test_greece_is_accepted_as_gr_or_el_and_labelled_as_the_product_spelled_it(greece):
    first = pages_text(render_pdf(document(map_states={greece: "affected"})))[0]
    assert greece in first.split()
    assert "Not on the map" not in first
    assert pdf_graphics.sort_states({greece: "affected"}).tiles == {"EL": "affected"}


def test_map_colours_states_by_involvement_and_anything_else_neutral():
    states = pdf_graphics.sort_states({"de": "Affected", "FR": "contributed", "IT": "observer", "GR": "contributed",
                                       "EL": "affected"})
    assert states.tiles == {"DE": "affected", "FR": "contributed", "IT": "other", "EL": "affected"}
    assert states.unknown == {}


def test_no_map_is_drawn_when_no_state_is_involved():
    assert "Member states involved" not in all_text(render_pdf(document()))


# --- Charts ----------------------------------------------------------------------------------------------------


def test_charts_print_their_titles_and_value_labels():
    pdf = render_pdf(document(charts=(
        PrintChart("Incidents by sector", (("Energy", 17), ("Health", 42))),
        PrintChart("Reserve requests", ()),
    )))
    text = all_text(pdf)
    assert "Incidents by sector" in text
    assert {"Energy", "Health", "17", "42"} <= set(text.split())
    assert "Reserve requests\nNo data" in text


def test_a_chart_with_many_bars_keeps_every_label_readable():
    bars = tuple((f"S{n:03d}", n) for n in range(100))
    text = all_text(render_pdf(document(charts=(PrintChart("Requests per state", bars),))))
    assert all(f"S{n:03d}" in text for n in range(100))
    assert "Bars 81–100 of 100" in text


def test_thirty_five_bars_fit_in_one_chart():
    bars = tuple((f"State {n}", n) for n in range(35))
    text = all_text(render_pdf(document(charts=(PrintChart("Per state", bars),))))
    assert "Bars" not in text
    assert all(f"State {n}" in text for n in range(35))


# --- Speed -----------------------------------------------------------------------------------------------------


def test_thirty_sections_and_a_thousand_row_table_render_in_seconds():
    rows = (("Organisation", "State", "Status", "Notes"),) + tuple(
        (f"org-{n}", "DE", "open", "note " * (n % 30)) for n in range(1000))
    doc = document(sections=long_sections(29) + (PrintSection(heading="All requests", table=rows),))
    started = time.perf_counter()
    pdf = render_pdf(doc)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"took {elapsed:.1f}s"
    assert "org-999" in pages_text(pdf)[-1]
