"""The "Map another layout" section, driven with AppTest, and the command line reusing what it saved."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from dashboard.app_pages.mapping_ui import widget_key
from dashboard.auth.accounts import add_user
from dashboard.db.models import DiaryEntry, MappingProfile, Patient
from dashboard.db.session import session_scope
from dashboard.ingest.profiles import list_profiles, load_profile, save_profile
from tests.clirun import cli

P2 = "data/real/diary_csv/monstermizer/Participant2Pain.csv"
SCRIPT = """
from dashboard.app_pages import mapping_ui
from dashboard.auth.accounts import User

mapping_ui.show(User(1, "staff1", "Staff One", "staff"))
"""


@pytest.fixture
def page(db_url, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    # The import service reads the importer's role from the stored account (dashboard.access).
    with session_scope(db_url) as session:
        add_user(session, username="staff1", display_name="Staff One", role="staff", password=None)
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, raw: bytes, patient: str = "MM-2") -> AppTest:
    at.file_uploader(key="map_upload").set_value((name, raw, "text/csv"))
    at.run()
    at.text_input(key="map_patient").input(patient)
    at.run()
    assert not at.exception
    return at


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def test_a_profile_saved_on_the_page_is_reused_by_the_cli(page, db_url, shared_dir, tmp_path):
    raw = (shared_dir / P2).read_bytes()
    upload(page, "Participant2Pain.csv", raw)
    # The suggestion maps the two items; staff confirm them and choose the mean for a day's values.
    assert page.selectbox(key=widget_key("item", "Knee Pain")).value == "pain"
    assert page.selectbox(key=widget_key("item", "happiness")).value == "mood"
    page.selectbox(key="map_aggregate").set_value("mean")
    page.text_input(key="map_profile_name").input("monstermizer")
    page.run()
    page.button(key="map_save").click()
    page.run()
    assert not page.exception and not page.error
    with session_scope(db_url) as session:
        saved = load_profile(session, "monstermizer")
        assert session.scalar(select(MappingProfile.created_by)) == "staff1"
    assert (saved["layout"], saved["aggregate"]) == ("long", "mean")
    assert saved["items"] == {"Knee Pain": "pain", "happiness": "mood"}

    path = tmp_path / "Participant2Pain.csv"
    path.write_bytes(raw)
    result = cli(db_url, "import", str(path), "--profile", "monstermizer", "--patient", "MM-2", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["status"], report["format"], report["patients"], report["entries_added"]) == (
        "imported", "profile:monstermizer", ["MM-2"], 553)
    with session_scope(db_url) as session:
        first, last = session.execute(select(func.min(DiaryEntry.diary_date), func.max(DiaryEntry.diary_date))).one()
        assert (first, last) == (date(2018, 1, 31), date(2020, 5, 3))
        day_one = session.execute(select(DiaryEntry.pain, DiaryEntry.mood, DiaryEntry.source)
                                  .where(DiaryEntry.diary_date == date(2018, 1, 31))).one()
        assert tuple(day_one) == (3.0, 4.0, "profile:monstermizer")  # rows 2-3 of the file


def test_import_from_the_page_after_saving(page, db_url, shared_dir):
    raw = (shared_dir / P2).read_bytes()
    upload(page, "Participant2Pain.csv", raw)
    assert "Save the profile to import with it: an import always uses a saved profile." in [i.value for i in page.info]
    page.text_input(key="map_profile_name").input("mm")
    page.run()
    page.button(key="map_save").click()
    page.run()
    assert any("Importing would add 553 diary entries" in t for t in texts(page))
    page.button(key="map_import").click()
    page.run()
    assert not page.exception
    assert [s.value for s in page.success][-1].startswith("Imported as import #")
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(DiaryEntry.id))) == 553
        assert session.scalar(select(Patient.ref)) == "MM-2"


def test_a_saved_profile_is_the_starting_point(page, db_url):
    text = "Day;Score;Feeling\n01/03/2026;6,5;ok\n02/03/2026;4;good\n"
    with session_scope(db_url) as session:
        save_profile(session, "other app", {
            "layout": "wide", "columns": {"Score": "pain", "Feeling": "mood"}, "date_column": "Day",
            "date_format": "%d/%m/%Y", "value_maps": {"mood": {"ok": 5, "good": 7.5}}, "aggregate": "mean",
        }, created_by="staff1")
    page.run()
    upload(page, "export.csv", text.encode())
    page.selectbox(key="map_start").set_value("other app")
    page.run()
    assert not page.exception and not page.error
    assert page.text_input(key="map_profile_name").value == "other app"
    assert page.selectbox(key="map_aggregate").value == "mean"
    assert page.number_input(key=widget_key("label_mood", "good")).value == 7.5
    assert [m.value for m in page.metric][:2] == ["2", "0"]  # two entries, nothing refused
    assert any("Importing would add 2 diary entries" in t for t in texts(page))


def test_a_file_that_cannot_be_mapped_says_why_in_plain_text(page, db_url):
    """No date: the open question says so, the preview says why nothing imports, and the suggestion
    still saves as it is (import-formats.md, "Version 3"), but nothing can be imported with it."""
    raw = "mood,activity\n**bold** <b>x</b>,walk\nsad,read\n".encode()
    upload(page, "notes.csv", raw)
    assert [e.value for e in page.error] == ["This file cannot be mapped with this profile yet:"]
    assert any("No column reads as a date" in t for t in texts(page))
    assert any("no row becomes a diary entry: row 2, column 'activity': 'walk' is not a date" in t for t in texts(page))
    # Cells are patient data: they show as plain text, never as markdown.
    assert any("**bold** <b>x</b>" in t for t in texts(page))
    assert not any("bold" in m.value for m in page.markdown)
    page.text_input(key="map_profile_name").input("unfinished")
    page.run()
    page.button(key="map_save").click()
    page.run()
    assert not page.exception and not page.error[1:]
    with session_scope(db_url) as session:
        assert list_profiles(session) == ["unfinished"]
    assert not [b for b in page.button if b.key == "map_import"]


def test_saving_over_another_profile_needs_replace(page, db_url, shared_dir):
    with session_scope(db_url) as session:
        save_profile(session, "mm", {
            "layout": "long", "item_column": "name", "value_column": "intensity", "items": {"Knee Pain": "pain"},
            "date_column": "date", "date_format": "%Y-%m-%d %H:%M:%S",
        }, created_by="someone")
    upload(page, "Participant2Pain.csv", (shared_dir / P2).read_bytes())
    page.text_input(key="map_profile_name").input("mm")
    page.run()
    page.button(key="map_save").click()
    page.run()
    assert any("a different profile called 'mm' exists" in t for t in texts(page))
    page.checkbox(key="map_replace").check()
    page.run()
    page.button(key="map_save").click()
    page.run()
    assert not page.exception
    with session_scope(db_url) as session:
        assert load_profile(session, "mm")["items"] == {"Knee Pain": "pain", "happiness": "mood"}


def test_day_month_dates_are_shown_both_ways_for_staff_to_confirm(page):
    raw = b"Date,Time,SYS,DIA,Pain level\n03/04/2026,0930,150,95,6\n05/06/2026,2130,140,90,5\n"
    upload(page, "bp.csv", raw)
    assert [w.value for w in page.warning] == [
        "These dates read two ways. Check which the app wrote and choose that date pattern."]
    assert "As %m/%d/%Y (chosen): 03/04/2026 = 4 March 2026; 05/06/2026 = 6 May 2026" in texts(page)
    assert "As %d/%m/%Y: 03/04/2026 = 3 April 2026; 05/06/2026 = 5 June 2026" in texts(page)
    page.selectbox(key="map_date_format").set_value("%d/%m/%Y").run()
    assert "As %d/%m/%Y (chosen): 03/04/2026 = 3 April 2026; 05/06/2026 = 5 June 2026" in texts(page)


HOSTILE_NAMES = ["![x](http://evil.example/col.png)", "<img src=http://evil.example/col.png>",
                 "[click](http://evil.example/) **now**"]


def _markdown_surfaces(at: AppTest) -> list[str]:
    """Every string Streamlit renders as markdown: text elements, alerts, and widget labels and radio options."""
    out = [e.value for kind in (at.markdown, at.caption, at.title, at.header, at.subheader, at.warning, at.error,
                                at.info, at.success) for e in kind]
    for widgets in (at.selectbox, at.text_input, at.number_input, at.checkbox, at.radio, at.button, at.multiselect):
        out += [w.label for w in widgets]
    out += [str(o) for r in at.radio for o in r.options]
    return out


@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=["image link", "html img", "link and bold"])
def test_uploaded_column_names_and_items_are_never_markdown(page, name, layout):
    """Issue 24 item 9: a column's or an item's name comes from the file: plain text wherever it shows."""
    raw = (f"date,pain,{name}\n2026-03-01,5,good\n2026-03-02,4,bad\n" if layout == "wide" else
           f"date,item,value\n2026-03-01,{name},good\n2026-03-01,pain,5\n").encode()
    upload(page, "other-app.csv", raw)
    if layout == "long":
        page.radio(key="map_layout").set_value("long").run()
        page.selectbox(key="map_item_column").set_value("item")
        page.selectbox(key="map_value_column").set_value("value").run()
    picker = page.selectbox(key=widget_key("column" if layout == "wide" else "item", name))
    picker.set_value("mood").run()  # its words ("good", "bad") now need numbers: more of the page shows
    assert not page.exception
    assert name in [t.value for t in page.text]
    assert [s for s in _markdown_surfaces(page) if "evil.example" in s] == []


IMOOD = (b"Date,Day of Week,Hour,Minute,Level,Medication\n"
         b"2026-03-01,Sunday,9,5,6,\"Ketamine 25 mg, Ketamine 25 mg\"\n"
         b"2026-03-01,Sunday,21,30,4,null\n"
         b"2026-03-02,Monday,8,0,n/a,Ketamine 25 mg\n")


def _preview_rows(at: AppTest):
    (frame,) = [d.value for d in at.dataframe if "file row" in d.value.columns]
    return frame


def test_the_suggestion_is_a_form_with_a_live_preview_saved_and_imported(page, db_url):
    """Issue 21 item 3: upload, the suggestion shown as a form, a column's field changed, the preview
    follows, then save and import, without any JSON."""
    upload(page, "imood.csv", IMOOD, patient="IM-1")
    assert not page.exception
    # The suggestion as a form: the time from hour and minute columns, each column's field and parse rule.
    assert page.radio(key="map_time_source").value == "an hour and a minute column"
    hour, minute = page.selectbox(key="map_time_hour").value, page.selectbox(key="map_time_minute").value
    assert (hour, minute) == ("Hour", "Minute")
    assert page.selectbox(key=widget_key("column", "Level")).value == "pain"
    assert page.selectbox(key=widget_key("column", "Medication")).value == "dose_mg"
    assert page.selectbox(key=widget_key("rule", "Medication")).value == "pattern"
    assert "null" in page.text_input(key="map_not_recorded").value
    # an open question
    assert any(t.startswith("Medication: Ketamine doses: each 'ketamine ... N mg' item") for t in texts(page))
    rows = _preview_rows(page)
    assert rows[["file row", "time", "pain", "dose_mg"]].values.tolist() == [
        ["2", "09:05", "6.0", "50.0"], ["3", "21:30", "4.0", ""], ["4", "08:00", "", "25.0"]]
    # iMoodJournal's Level is mood: staff change the field and the preview follows.
    page.selectbox(key=widget_key("column", "Level")).set_value("mood").run()
    assert not page.exception
    rows = _preview_rows(page)
    assert "pain" not in rows.columns and rows["mood"].tolist() == ["6.0", "4.0", ""]
    page.selectbox(key="map_timezone").set_value("Europe/Berlin").run()
    assert _preview_rows(page)["UTC offset"].tolist() == ["+01:00", "+01:00", "+01:00"]
    page.text_input(key="map_profile_name").input("imoodjournal").run()
    page.button(key="map_save").click().run()
    assert not page.exception and not page.error
    with session_scope(db_url) as session:
        saved = load_profile(session, "imoodjournal")
    assert (saved["columns"]["Level"], saved["time_parts"], saved["timezone"]) == (
        "mood", {"hour": "Hour", "minute": "Minute"}, "Europe/Berlin")
    assert any("Importing would add 3 diary entries" in t for t in texts(page))
    page.button(key="map_import").click().run()
    assert not page.exception
    assert [s.value for s in page.success][-1].startswith("Imported as import #")
    with session_scope(db_url) as session:
        stored = session.execute(select(DiaryEntry.mood, DiaryEntry.dose_mg, DiaryEntry.utc_offset_minutes)
                                 .order_by(DiaryEntry.id)).all()
    assert sorted(map(tuple, stored), key=str) == sorted([(6.0, 50.0, 60), (4.0, None, 60), (None, 25.0, 60)], key=str)


def test_a_header_less_file_is_read_from_its_first_row_on_the_page(page):
    raw = b"2021-09-28,10:00 pm,rad\n2021-09-27,11:00 pm,good\n"
    upload(page, "daylio.csv", raw)
    assert page.checkbox(key="map_header").value is False
    assert _preview_rows(page)["file row"].tolist() == ["1", "2"]  # the first row is an entry, not a header
    page.checkbox(key="map_header").check().run()  # staff say the first row is a header: one entry left
    assert not page.exception
    assert _preview_rows(page)["file row"].tolist() == ["2"]


LONG_RATED = b"item,value,date\nKnee Pain,6/10,2026-03-01\nhappiness,4/10,2026-03-01\nKnee Pain,5/10,2026-03-02\n"


def test_a_long_layouts_value_rule_is_shown_and_kept_when_saved_again(page, db_url):
    """A rule on a long layout's value column has its widget: re-saving from the page keeps it
    (before, the page dropped it silently) and editing it changes what is saved."""
    rule = {"pattern": r"(?P<v>\d+)\s*/\s*10"}
    with session_scope(db_url) as session:
        save_profile(session, "rated", {
            "layout": "long", "item_column": "item", "value_column": "value", "date_column": "date",
            "date_format": "%Y-%m-%d", "items": {"Knee Pain": "pain", "happiness": "mood"},
            "rules": {"value": rule}}, created_by="staff1")
    page.run()
    upload(page, "rated.csv", LONG_RATED)
    page.selectbox(key="map_start").set_value("rated").run()
    assert not page.exception and not page.error
    assert page.selectbox(key=widget_key("rule", "value")).value == "pattern"
    assert page.text_input(key=widget_key("regex_pattern", "value")).value == rule["pattern"]
    assert _preview_rows(page)[["pain", "mood"]].values.tolist() == [["6.0", "4.0"], ["5.0", ""]]
    assert any("Importing would add 2 diary entries" in t for t in texts(page))  # the page's profile is the saved one
    page.checkbox(key="map_replace").check().run()
    page.button(key="map_save").click().run()
    assert not page.exception and not page.error
    with session_scope(db_url) as session:
        assert load_profile(session, "rated")["rules"] == {"value": rule}
    # Edited on the page, the rule is saved as edited.
    page.text_input(key=widget_key("regex_pattern", "value")).input(r"(?P<v>\d+)/").run()
    page.button(key="map_save").click().run()
    assert not page.exception and not page.error
    with session_scope(db_url) as session:
        assert load_profile(session, "rated")["rules"] == {"value": {"pattern": r"(?P<v>\d+)/"}}


def test_a_pattern_that_could_hang_an_import_is_refused_on_the_page_in_words(page, db_url):
    upload(page, "imood.csv", IMOOD, patient="IM-1")
    hostile = r"(?P<mg>(\d+)+)$"
    page.text_input(key=widget_key("regex_pattern", "Medication")).input(hostile).run()
    assert not page.exception
    said = f"rules['Medication']['pattern']: {hostile!r} repeats a group that itself repeats or has alternatives"
    assert any(said in t for t in texts(page))  # the preview says why it cannot map
    page.text_input(key="map_profile_name").input("imood").run()
    page.button(key="map_save").click().run()
    assert [e.value for e in page.error][-1] == "The profile was not saved:"
    assert any(t.startswith(f"profile 'imood': {said}") for t in texts(page))
    with session_scope(db_url) as session:
        assert list_profiles(session) == []
