"""The pre-visit report PDF: its text (read back with pypdf) says what the summary says.

Figures are compared with ``summary --json`` (the Review's JSON), formatted the way the page
formats them; notes with the stored diary text; hostile text must come back as text; fonts
must be embedded; the chart must be an image drawn by kaleido (Chromium is required for it).
"""

from __future__ import annotations

import math
from io import BytesIO

import pandas as pd
import pytest
from pypdf import PdfReader

from dashboard.stored.review import patient_review
from dashboard.auth.accounts import add_user, share
from dashboard.config import chromium_path
from dashboard.db import queries
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file
from dashboard.report import report_pdf
from dashboard.stored.review import patient_report
from tests.conftest import require

REFS = ("DEMO-001", "DEMO-002", "DEMO-004", "DEMO-009")  # substantial, minimal, worse step + flags, co-sedatives


def flat(text: str) -> str:
    """Whitespace as one space: a PDF wraps lines where the page would not."""
    return " ".join(text.split())


def signed(value: float) -> str:
    return f"{value:+.1f}".replace("-", "−")


def pct(value: float) -> str:
    return f"{math.trunc(value):+d} %".replace("-", "−")


def pdf_text(pdf: bytes) -> str:
    return flat("\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages))


@pytest.fixture(scope="module")
def reports(demo_url):
    require(chromium_path() is not None, "Chromium not found (the report's chart is drawn by kaleido through it)")
    out = {}
    for ref in REFS:
        with session_scope(demo_url) as session:
            review = patient_review(session, ref)
            out[ref] = (review, patient_report(session, ref))
    return out


@pytest.mark.parametrize("ref", REFS)
def test_the_report_holds_the_summarys_figures_flags_and_notes(reports, ref):
    review, pdf = reports[ref]
    summary = review.to_dict()  # what summary --json prints
    text = pdf_text(pdf)
    assert len(PdfReader(BytesIO(pdf)).pages) <= 3  # two of text at most, and the timeline
    patient = summary["patient"]
    assert f"{patient['name']} · {patient['ref']}" in text
    assert flat(patient["condition"]) in text
    step = summary["current_step"]
    assert f"{step['daily_dose_mg']:g} mg/day" in text and f"({step['days_on_step']} days)" in text
    done = summary["completeness_last_30_days"]
    assert f"diary {done['diary_days']} of the last {done['days']} days" in text
    last_visit = pd.Timestamp(summary["last_visit"]["date"]).strftime("%d %b %Y")
    assert f"Last visit {last_visit}" in text
    # Did the last step work: the comparison, its interval and verdict.
    troche = [s for s in summary["steps"] if s["route"] == "troche"]
    vs = troche[-1]["vs_previous"]
    before = next(s for s in troche if s["step_id"] == vs["previous_step_id"])
    low, high = (signed(v) for v in vs["ci"])
    assert (f"{troche[-1]['daily_dose_mg']:g} mg/day vs {before['daily_dose_mg']:g} mg/day: "
            f"{signed(vs['difference'])} points ({low} to {high}), {vs['verdict']}") in text
    if troche[-1]["responder"]:
        assert f"{pct(troche[-1]['response_change_pct'])}, {troche[-1]['responder']}" in text
    # Safety since the last visit.
    safety = summary["safety_since_last_visit"]
    if safety["bp_days"]:
        assert f"highest {safety['max_systolic']:g}/{safety['max_diastolic']:g}" in text
    else:
        assert "no reading since the last visit" in text
    for name in safety["co_sedatives"]:
        assert flat(name) in text
    # Open flags by rule with their human names and counts, safety first, new ones marked.
    for count in summary["flag_counts"]:
        assert count["rule"] not in text.replace("DEMO", "")  # never the raw key
        kind = "safety" if count["safety"] else "course"
        new = f"NEW {count['new']}" if count["new"] else "—"
        assert f"{count['name']} {kind} {count['open']} {new}" in text
    positions = [text.index(f"{c['name']} {'safety' if c['safety'] else 'course'}") for c in summary["flag_counts"]]
    assert positions == sorted(positions)
    # Every step in the step table, every note since the last visit as the patient wrote it.
    for s in troche:
        assert f"{s['daily_dose_mg']:g} mg/day" in text
    notes = review.notes[review.notes["diary_date"] >= pd.Timestamp(summary["last_visit"]["date"])]
    for note in notes["notes"].dropna():
        assert flat(note) in text
    assert "a summary for clinical judgement, not a prescription" in text.lower()
    assert f"as of {pd.Timestamp(summary['as_of']):%d %b %Y}" in text


def test_fonts_are_embedded_and_the_chart_is_an_image(reports):
    _, pdf = reports["DEMO-001"]
    reader = PdfReader(BytesIO(pdf))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[str(font["/BaseFont"])] = font
    assert fonts and all("DejaVu" in name for name in fonts)
    for font in fonts.values():
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor  # the TrueType program itself is in the file
    images = [image for page in reader.pages for image in page.images]
    assert len(images) == 1 and images[0].image.width >= 1800  # the timeline, kaleido's PNG at scale 2


HOSTILE_NOTES = ["<script>alert('x')</script> woke at 3", "**x** and _y_ # not a heading",
                 "é ≥ − ½ naïve “quoted” — Ωμ"]  # DejaVu Sans covers Latin, Greek, Cyrillic, not CJK


def test_hostile_notes_and_names_are_written_as_text(sqlite_url):
    require(chromium_path() is not None, "Chromium not found")
    rows = "\n".join(f'P-HOS,2026-03-0{i + 1}T21:00,{5 + i},"{note}"' for i, note in enumerate(HOSTILE_NOTES))
    diary = f"patient_id,date,pain,notes\n{rows}\n"
    assert import_file(diary.encode(), "hostile.csv", url=sqlite_url, actor="test").status == "imported"
    with session_scope(sqlite_url) as session:
        patient = queries.patient_by_ref(session, "P-HOS")
        patient.name = "<b>Zoë</b> **Ünal**"
        add_user(session, username="dr.h", display_name="dr.h", role="clinician", password=None)
        share(session, username="dr.h", patient_ref="P-HOS")
    with session_scope(sqlite_url) as session:
        review = patient_review(session, "P-HOS", as_of=pd.Timestamp("2026-03-04").date())
        pdf = report_pdf(review, visits=queries.visits_frame(session, patient.id),
                         imports=queries.imports_frame(session, "P-HOS"))
    text = pdf_text(pdf)
    for note in HOSTILE_NOTES:
        assert flat(note) in text, note
    assert "<b>Zoë</b> **Ünal** · P-HOS" in text


@pytest.mark.parametrize("browser", [None, "/bin/false"])
def test_without_a_working_chromium_the_report_says_so_instead_of_a_chart(demo_url, monkeypatch, browser):
    """No Chromium, or one kaleido cannot drive: the report is still made, and says why it has no chart."""
    monkeypatch.setattr("dashboard.report.chart.chromium_path", lambda: browser)
    with session_scope(demo_url) as session:
        pdf = patient_report(session, "DEMO-002")
    reader = PdfReader(BytesIO(pdf))
    assert list(reader.pages[0].images) == []
    text = pdf_text(pdf)
    assert "The timeline could not be drawn for this report" in text and "it is on the review page" in text
    assert ("no Chromium found" in text) is (browser is None)


def font_sizes(node) -> list[float]:
    """Every font size set anywhere in a figure's JSON (a "font" or "tickfont" with a "size")."""
    if isinstance(node, dict):
        own = [v["size"] for k, v in node.items() if k in ("font", "tickfont") and isinstance(v, dict) and "size" in v]
        return own + [size for v in node.values() for size in font_sizes(v)]
    if isinstance(node, list):
        return [size for v in node for size in font_sizes(v)]
    return []


@pytest.mark.parametrize("ref", REFS)
def test_the_printed_chart_text_is_at_least_8_pt(reports, demo_url, ref):
    """The chart's smallest text, at the size the PDF prints the chart on A4, is 8 pt or more
    (issue 19: the page's 10 px labels came out at ~5 pt)."""
    import json
    import re

    from dashboard.report import print_figure
    from dashboard.report.chart import WIDTH_PX

    review, pdf = reports[ref]
    with session_scope(demo_url) as session:
        visits = queries.visits_frame(session, queries.patient_by_ref(session, ref).id)
    figure = json.loads(print_figure(review, visits).to_json())
    sizes = font_sizes(figure["layout"]) + font_sizes(figure["data"])
    smallest = min(sizes + [figure["layout"]["font"]["size"]])  # what a text without its own size takes
    (placed,) = [float(m.group(1)) for page in PdfReader(BytesIO(pdf)).pages
                 for m in re.finditer(r"([\d.]+) 0 0 [\d.]+ [\d.]+ [\d.]+ cm\s*/I\w+ Do",
                                      page.get_contents().get_data().decode("latin-1"))]
    assert smallest * placed / WIDTH_PX >= 8.0, (smallest, placed)
    assert len(PdfReader(BytesIO(pdf)).pages) <= 3  # two of text at most, and the timeline
