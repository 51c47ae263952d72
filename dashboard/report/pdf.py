"""The pre-visit report laid out on A4 with fpdf2: the review page's answers on one or two pages
of text, and the timeline after them (on a page of its own unless it fits below the text).

Page 1 answers the visit's questions as the page's first screen does (who and where, the
current step, did the last step work, safety since the last visit, open flags), then the step
and visit tables, the patient's notes since the last visit and where the data came from. The
timeline comes last, printed at the size at which its smallest text is 8 pt (``report.chart``):
squeezed onto page 1 beside the text, as before issue 19, its labels printed at ~5 pt. Every
figure and every phrase comes from the ``Review`` through ``analysis.review_words`` (and its
``last_step_words``, ``safety_words`` and ``review_tables``); nothing is recomputed here.

Print-safe: DejaVu Sans is embedded (a subset), and no meaning is carried by colour alone:
findings are bold and marked "!", new flags "NEW", the verdict is a word. Patient text
(name, condition, notes, medication names) is written as text: fpdf2's markdown is off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pandas as pd
from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos
from PIL import Image

from dashboard.analysis import last_step_words, review_tables, safety_words
from dashboard.analysis import review_words as words
from dashboard.analysis.review import Review
from dashboard.report.chart import SCALE, mm_per_px

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core (Bitstream Vera licence)
FONT = "DejaVu"
DISCLAIMER = "A summary for clinical judgement, not a prescription."
MARGIN = 12
WIDTH = 210 - 2 * MARGIN
LINE = 4.2
MAX_PAGES = 2  # of text; the timeline may take a page of its own after them (see render())


@dataclass(frozen=True)
class ReportInputs:
    """What the report shows beside the Review: the visits the timeline marks and the imports it names."""

    review: Review
    visits: pd.DataFrame  # date, kind
    imports: pd.DataFrame  # file_name, format, imported_at, imported_by
    chart_png: bytes | None  # the timeline, or None with ``chart_problem`` saying why (a sentence)
    chart_problem: str | None
    generated_at: datetime


class _Pdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, size=7)
        self.set_text_color(60)
        self.cell(WIDTH - 20, 4, self.footer_text)
        self.cell(20, 4, f"page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0)


def render(inputs: ReportInputs) -> bytes:
    """The PDF; notes are shortened (and the shortening said) until the text fits on two pages. The
    timeline follows, on a page of its own when it does not fit below the text: it is never shrunk
    below the size at which its smallest text prints at 8 pt (issue 19), so a long review is two
    pages of text and a page of timeline rather than issue 11's two pages with unreadable labels."""
    shown_notes = len(inputs.review.notes)
    while True:
        pdf = _layout(inputs, shown_notes)
        if pdf.pages_count <= MAX_PAGES + (inputs.chart_png is not None) or shown_notes == 0:
            return bytes(pdf.output())
        shown_notes = shown_notes // 2


def _fonts(pdf: FPDF) -> None:
    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if not regular.exists() or not bold.exists():
        raise FileNotFoundError(f"the report's font is missing: {regular} (apt-get install fonts-dejavu-core)")
    pdf.add_font(FONT, "", str(regular))
    pdf.add_font(FONT, "B", str(bold))


def _layout(inputs: ReportInputs, shown_notes: int) -> FPDF:
    review = inputs.review
    patient = review.patient
    as_of = words.long_date(review.as_of)
    pdf = _Pdf(format="A4", unit="mm")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=14)
    _fonts(pdf)
    name = patient.name or "Name not recorded"
    pdf.footer_text = f"{name} · {patient.ref} · as of {as_of} · {DISCLAIMER}"
    pdf.set_title(f"Pre-visit report: {name} ({patient.ref}), as of {as_of}")
    pdf.set_creator("Ketamine titration review dashboard")
    pdf.set_creation_date(inputs.generated_at)
    pdf.add_page()
    _header(pdf, review, inputs.imports, name, as_of)
    _cards(pdf, review)
    _flags(pdf, review)
    _steps(pdf, review)
    _visits(pdf, review)
    _notes(pdf, review, shown_notes)
    _sources(pdf, inputs, as_of)
    _chart(pdf, inputs)  # last: at the size its text needs, usually page 2 to itself
    return pdf


def _heading(pdf: FPDF, text: str, size: float = 9.5) -> None:
    if pdf.will_page_break(12):
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font(FONT, "B", size)
    pdf.cell(WIDTH, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=8.5)


def _header(pdf: FPDF, review: Review, imports: pd.DataFrame, name: str, as_of: str) -> None:
    pdf.set_font(FONT, size=8)
    pdf.cell(WIDTH, 4, f"Pre-visit report · as of {as_of}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "B", 15)
    pdf.multi_cell(WIDTH, 7, f"{name} · {review.patient.ref}", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=8.5)
    pdf.multi_cell(WIDTH, LINE, " · ".join(words.header_facts(review, imports)), align="L",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _cards(pdf: FPDF, review: Review) -> None:
    """The first screen's three boxes side by side: current step, did the last step work, safety."""
    gap, top = 3, pdf.get_y()
    widths = (48, 66, WIDTH - 48 - 66 - 2 * gap)
    xs = (MARGIN, MARGIN + widths[0] + gap, MARGIN + widths[0] + widths[1] + 2 * gap)
    bottoms = [_card(pdf, x, top, w, title, body) for x, w, (title, body) in
               zip(xs, widths, (_current_step(review), _last_step(review), _safety(review)))]
    bottom = max(bottoms) + 1.5
    pdf.set_draw_color(90)
    for x, w in zip(xs, widths):
        pdf.rect(x, top, w, bottom - top)
    pdf.set_xy(MARGIN, bottom + 1)


def _card(pdf: FPDF, x: float, top: float, width: float, title: str, body: list[tuple[str, str]]) -> float:
    """A box's lines, each (style, text); returns the y under the last one."""
    pdf.set_xy(x + 1.5, top + 1.5)
    pdf.set_font(FONT, "B", 7.5)
    pdf.multi_cell(width - 3, LINE, title.upper(), align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    for style, text in body:
        size = 12 if style == "BIG" else 8
        pdf.set_font(FONT, "B" if style in ("B", "BIG") else "", size)
        pdf.multi_cell(width - 3, 6 if style == "BIG" else 3.8, text, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    return pdf.get_y()


def _current_step(review: Review) -> tuple[str, list[tuple[str, str]]]:
    value, lines = words.current_step_lines(review)
    return "Current step", [("BIG", value), *[("", line) for line in lines]]


def _last_step(review: Review) -> tuple[str, list[tuple[str, str]]]:
    answer = last_step_words.last_step(review)
    if answer is None:
        return "Did the last step work?", [("", "No troche step recorded yet.")]
    body = ([("", answer.pending)] if answer.pending else []) + [
        ("B", answer.headline), ("", answer.window), ("", answer.baseline_line)]
    if answer.lowest_effective:
        body.append(("", answer.lowest_effective))
    return "Did the last step work?", body


def _safety(review: Review) -> tuple[str, list[tuple[str, str]]]:
    new = words.new_open_rules(review)
    body = []
    for line in safety_words.safety_lines(review):
        mark = "! " if line.level in ("alarm", "warn") else ""
        names = f": {', '.join(line.names)}" if line.names else ""
        tail = " NEW" if line.rule in new else ""
        body.append(("B" if mark else "", f"{mark}{line.label}: {line.text}{names}{line.note}{tail}"))
    return safety_words.safety_heading(review), body


def _table(pdf: FPDF, header: list[str], rows: list[list[str]], widths: tuple[float, ...],
           bold_rows: set[int] = frozenset()) -> None:
    pdf.set_font(FONT, size=7.5)
    pdf.set_draw_color(150)
    with pdf.table(col_widths=widths, width=WIDTH, text_align="LEFT", line_height=3.6, padding=0.8,
                   headings_style=FontFace(emphasis="BOLD"), markdown=False, first_row_as_headings=True) as table:
        table.row(header)
        for i, row in enumerate(rows):
            table.row([str(cell) for cell in row], style=FontFace(emphasis="BOLD") if i in bold_rows else None)
    pdf.set_font(FONT, size=8.5)


def _flags(pdf: FPDF, review: Review) -> None:
    _heading(pdf, "Open flags (by rule, safety first)")
    counts = review.flag_counts
    if counts.empty:
        pdf.cell(WIDTH, LINE, "None up to this date.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    rows = [[row.name, "safety" if row.safety else "course", str(row.open),
             f"NEW {row.new}" if row.new else "—", str(row.acknowledged) if row.acknowledged else "—",
             words.long_date(row.last)] for row in counts.itertuples(index=False)]
    bold = {i for i, row in enumerate(counts.itertuples(index=False)) if row.safety and row.open}
    _table(pdf, ["Flag", "Kind", "Open", "New since last visit", "Acknowledged", "Last day"], rows,
           (70, 20, 14, 30, 24, 28), bold)


def _chart(pdf: FPDF, inputs: ReportInputs) -> None:
    if inputs.chart_png is None:
        if pdf.will_page_break(7 + 4 * LINE):  # the heading and its few lines kept together
            pdf.add_page()
        _heading(pdf, "Timeline")
        pdf.multi_cell(WIDTH, LINE, inputs.chart_problem, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return


    with Image.open(BytesIO(inputs.chart_png)) as image:
        px_w, px_h = image.size
    # Printed at the scale its text was sized for (report.chart: 8 pt or more), never smaller: on
    # this page if it fits there with its heading, else at the top of the next.
    scale = mm_per_px(px_h / SCALE)
    width, height = px_w / SCALE * scale, px_h / SCALE * scale
    if pdf.get_y() + 7 + height > pdf.h - 14:
        pdf.add_page()
    _heading(pdf, "Timeline")
    pdf.image(BytesIO(inputs.chart_png), x=MARGIN + (WIDTH - width) / 2, y=pdf.get_y(), w=width, h=height)
    pdf.set_y(pdf.get_y() + height + 1)


def _steps(pdf: FPDF, review: Review) -> None:
    if pdf.will_page_break(50):  # the tables start page 2 unless page 1 has room for them (no chart)
        pdf.add_page()
    _heading(pdf, "Response to each titration step")
    table = review_tables.step_table(review)
    if table.empty:
        pdf.cell(WIDTH, LINE, "No titration recorded.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    columns = ["Step", "Dates", "Response pain", "vs previous step", "Verdict", "Taken", "vs baseline", "Responder"]
    rows = [[*(row[c] for c in columns), "early" if row["Early"] else ""] for _, row in table.iterrows()]
    _table(pdf, [*columns, "Early"], rows, (26, 27, 23, 28, 22, 12, 16, 20, 12))
    pdf.set_font(FONT, size=7)
    pdf.multi_cell(WIDTH, 3.4, "Response pain: mean daily pain (0–10) in the response window, with its 95 % interval "
                   "allowing for day-to-day correlation. Taken: share of the prescribed mg taken (⚠ before a verdict: not a fair "
                   "test, see above). vs previous step: points against the previous troche step "
                   "(Welch); negative is less pain. Percentages are truncated toward zero.",
                   align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


VISIT_ROWS = 8  # the baseline and the latest intervals; older ones are on the review page


def _visits(pdf: FPDF, review: Review) -> None:
    _heading(pdf, "Visit by visit")
    table = review_tables.visit_table(review)
    if table.empty:
        pdf.cell(WIDTH, LINE, "No baseline or visits to compare.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    left_out = 0
    if len(table) > VISIT_ROWS:
        baseline = table[table["Period"] == "baseline"]
        rest = table[table["Period"] != "baseline"]
        left_out = len(rest) - (VISIT_ROWS - len(baseline))
        table = pd.concat([baseline, rest.tail(VISIT_ROWS - len(baseline))])
    rows = table.astype(str).values.tolist()
    latest = {i for i, period in enumerate(table["Period"]) if period.endswith("(latest)")}
    _table(pdf, list(table.columns), rows, (38, 20, 14, 26, 22, 18, 13, 13, 16), latest)
    if left_out:
        pdf.set_font(FONT, size=7)
        pdf.cell(WIDTH, 3.6, f"{words.plural(left_out, 'earlier interval')} on the review page.",
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _notes(pdf: FPDF, review: Review, shown: int) -> None:
    last = review.last_visit
    since = None if last is None else last.date.date()
    notes = review_tables.notes_since_last_visit(review)
    _heading(pdf, f"In the patient's words (since the last visit, {words.long_date(since)})" if since
             else "In the patient's words (all notes)")
    if notes.empty:
        pdf.cell(WIDTH, LINE, "No notes.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return
    pdf.set_font(FONT, size=8)
    for row in notes.head(shown).itertuples(index=False):
        text = row.notes if isinstance(row.notes, str) else ""
        if isinstance(row.other_medication, str) and row.other_medication:
            text += ("; " if text else "") + f"other medication: {row.other_medication}"
        pdf.set_font(FONT, "B", 8)
        pdf.cell(31, 3.8, f"{row.recorded_at:%Y-%m-%d %H:%M}")
        pdf.set_font(FONT, size=8)
        pdf.multi_cell(WIDTH - 31, 3.8, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if shown < len(notes):
        pdf.set_font(FONT, "B", 7.5)
        pdf.multi_cell(WIDTH, 3.8, f"{words.plural(len(notes) - shown, 'more note')} since the last visit: "
                       "shortened to keep this report to two pages; all notes are on the review page.",
                       align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _sources(pdf: FPDF, inputs: ReportInputs, as_of: str) -> None:
    review = inputs.review
    _heading(pdf, "Data sources and completeness")
    pdf.set_font(FONT, size=7.5)
    done = review.completeness_last_30_days
    lines = [f"Review as of {as_of}; review period {words.long_date(review.period[0])} – "
             f"{words.long_date(review.period[1])}. Generated {inputs.generated_at:%d %b %Y %H:%M}.",
             f"Diary completeness: {done.diary_days} of the last {done.days} days.",
             f"Imports: {words.imports_words(inputs.imports)}."]
    # One paragraph, not a line each: the report keeps to two pages with the timeline at print size.
    files = [f"{row.imported_at:%d %b %Y} · {row.format} · {row.file_name} · by {row.imported_by}"
             for row in inputs.imports.tail(6).itertuples(index=False)]
    if len(inputs.imports) > 6:
        files.append(f"and {words.plural(len(inputs.imports) - 6, 'earlier import')}")
    if files:
        lines.append("Files: " + "; ".join(files) + ".")
    for line in lines:
        pdf.multi_cell(WIDTH, 3.6, line, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    # Every page's footer says it too: a line of its own only where it needs no new page.
    if not pdf.will_page_break(1 + LINE):
        pdf.ln(1)
        pdf.set_font(FONT, "B", 8.5)
        pdf.multi_cell(WIDTH, LINE, DISCLAIMER, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
