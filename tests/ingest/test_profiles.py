"""Mapping profiles (import-formats.md section 4): the real exports of other diary apps, the
rules every mapped value keeps, the checks on a profile, and profiles saved in the store."""

import csv
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from dashboard.db.models import AuditEvent, DiaryEntry, MappingProfile
from dashboard.db.session import session_scope
from dashboard.ingest import profiles
from dashboard.ingest.profiles import (
    ProfileError,
    ProfileExists,
    explain_unmappable,
    list_profiles,
    load_profile,
    parse_with_profile,
    save_profile,
    suggest_profile,
    validate_profile,
)
from dashboard.ingest.records import FileRefused
from dashboard.ingest.service import import_file

TODAY = date(2026, 3, 10)
MM = "data/real/diary_csv/monstermizer"

MONSTERMIZER = {
    "layout": "long", "item_column": "name", "value_column": "intensity",
    "date_parts": {"year": "startyear", "month": "startmonth", "day": "startday"},
    "fallback_date_column": "date", "fallback_date_format": "%Y-%m-%d %H:%M:%S", "one_entry_per_day": True,
}
P8_PAINS = ("Knee Pain", "Leg pain", "Headache", "Hip Pain", "Hand pain", "Abdominal pain", "Low Back Pain")
P8_ITEMS = dict.fromkeys(P8_PAINS, "pain")
PAIN_REGIONS = (
    "Knees", "Hands And Fingers", "Eyes (or around them)", "Forearm close to elbow", "Forehead and Eyes", "Forehead",
    "Quadricepts", "Shoulder", "Under the foot", "Shoulder Neck", "Gastrocnemius", "Acute Pain", "Eyes", "Neck",
    "right big toe", "Low back", "abs", "Bellow Ankle", "Hip", "Elbow", "Headache", "Thoracic region", "Ankle",
)
PAIN_CSV = {
    "layout": "long", "header_row": 2, "item_column": "region", "value_column": "intensity",
    "items": {**{r: "pain" for r in PAIN_REGIONS}, "Sick/Tired": None, "Sick": None},
    "date_parts": {"year": "year", "month": "month", "day": "day"}, "fill_down": True,
}
DAYLIO = {
    "layout": "wide", "columns": {"mood": "mood", "note": "notes"},
    "date_column": "full_date", "date_format": "%Y-%m-%d", "time_column": "time", "time_format": "%I:%M %p",
    "value_maps": {"mood": {"rad": 10, "good": 7.5, "average": 5, "meh": 5, "sad": 2.5, "bad": 2.5, "awful": 0}},
}
OBSERVATIONS = {
    "layout": "long", "item_column": "name", "value_column": "intensity", "items": {"Tired": "drowsiness"},
    "date_column": "date", "date_format": "%Y-%m-%d %H:%M:%S",
}


PAIN_FIRST = date(2015, 11, 25)


def read(shared_dir, path: str, profile: dict, aggregate: str = "max"):
    raw = (shared_dir / path).read_bytes()
    return parse_with_profile(raw, path.rsplit("/", 1)[-1], {**profile, "aggregate": aggregate}, patient_ref="P1")


def entry_on(parsed, day: date):
    return next(r for r in parsed.diary if r.recorded_at.date() == day)


@pytest.mark.parametrize(
    ("path", "profile", "aggregate", "entries", "first", "last", "day", "expected"),
    [
        # Knee pain and happiness of one day make one entry (row 2-3: pain 3, happiness 4).
        (f"{MM}/Participant2Pain.csv", {**MONSTERMIZER, "items": {"Knee Pain": "pain", "happiness": "mood"}}, "max",
         553, date(2018, 1, 31), date(2020, 5, 3), date(2018, 1, 31), {"pain": 3.0, "mood": 4.0}),
        # Rows 861-864 have startday=0: their `date` (2020-05-02) dates them; all four say 4.5.
        (f"{MM}/Participant8Pain.csv", {**MONSTERMIZER, "items": {**P8_ITEMS, "happiness": "mood"}}, "max", None,
         date(2019, 8, 12), date(2020, 5, 2), date(2020, 5, 2), {"pain": 4.5}),
        # 2015-11-25: Knees 5.7, Hands And Fingers 3, Forehead and Eyes 3 (rows 3-5, year and month filled down).
        (f"{MM}/pain.csv", PAIN_CSV, "max", 1490, PAIN_FIRST, date(2019, 12, 23), PAIN_FIRST, {"pain": 5.7}),
        (f"{MM}/pain.csv", PAIN_CSV, "mean", 1490, PAIN_FIRST, date(2019, 12, 23), PAIN_FIRST, {"pain": 3.9}),
        # Newest first in the file; "sad " has a trailing space; "10:00 pm" is 22:00.
        ("data/real/diary_csv/daylio/sample.csv", DAYLIO, "max", 3, date(2021, 9, 26), date(2021, 9, 28),
         date(2021, 9, 28), {"mood": 2.5}),
    ],
)
def test_real_exports_import_with_their_profile(shared_dir, path, profile, aggregate, entries, first, last, day,
                                                expected):
    parsed = read(shared_dir, path, profile, aggregate)
    assert parsed.refused == []
    if entries is not None:
        assert len(parsed.diary) == entries
    dates = [r.recorded_at for r in parsed.diary]
    assert dates == sorted(dates)
    assert (dates[0].date(), dates[-1].date()) == (first, last)
    assert entry_on(parsed, day).measures == expected


def test_fallback_dates_the_rows_without_a_start_day(shared_dir):
    parsed = read(shared_dir, f"{MM}/Participant8Pain.csv", {**MONSTERMIZER, "items": P8_ITEMS})
    with open(shared_dir / f"{MM}/Participant8Pain.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["name"] != "happiness"]
    start_days = {date(int(r["startyear"]), int(r["startmonth"]), int(r["startday"])) for r in rows if r["startmonth"]}
    fallback_days = {date.fromisoformat(r["date"][:10]) for r in rows if not r["startmonth"]}
    assert len([r for r in rows if not r["startmonth"]]) > 300  # SOURCES.md: 377 rows with startday=0
    assert [r.recorded_at.date() for r in parsed.diary] == sorted(start_days | fallback_days)
    last = entry_on(parsed, date(2020, 5, 2))
    assert (last.row, last.has_time) == (861, False)
    assert parsed.ignored == {"name 'happiness'": 230}


def test_daylio_times_are_twelve_hour_and_entries_sorted(shared_dir):
    parsed = read(shared_dir, "data/real/diary_csv/daylio/sample.csv", DAYLIO)
    assert [(r.recorded_at, r.row, r.measures["mood"]) for r in parsed.diary] == [
        (datetime(2021, 9, 26, 23, 0), 4, 5.0),
        (datetime(2021, 9, 27, 23, 0), 3, 5.0),
        (datetime(2021, 9, 28, 22, 0), 2, 2.5),
    ]
    assert parsed.format == "profile"
    assert parsed.ignored["column 'activities'"] == 3


def test_pain_csv_is_windows_1252_with_its_header_on_row_2(shared_dir):
    parsed = read(shared_dir, f"{MM}/pain.csv", PAIN_CSV)
    # The junk region "é" is cp1252 byte E9; it is ignored, as are the unmapped regions and `side`.
    assert parsed.ignored == {"column 'side'": 79, "region 'Sick/Tired'": 197, "region 'Sick'": 11, "region 'é'": 1}
    assert entry_on(parsed, date(2015, 11, 25)).row == 3


def test_observation_flags_become_side_effect_grades(shared_dir):
    parsed = read(shared_dir, f"{MM}/Participant8Observations.csv", OBSERVATIONS)
    assert parsed.refused == []
    assert len(parsed.diary) == 98  # one Tired flag per logged time
    assert {r.side_effects["drowsiness"] for r in parsed.diary} == {0, 1}
    assert parsed.ignored["name 'Poor sleep'"] == 39


# --- rules on small files written here -------------------------------------------------------------

LONG = {"layout": "long", "item_column": "item", "value_column": "value", "items": {"Pain": "pain", "Sick": "nausea"},
        "date_column": "when", "date_format": "%d/%m/%Y"}
WIDE = {"layout": "wide", "columns": {"Pain": "pain"}, "date_column": "when", "date_format": "%d/%m/%Y"}
WITH_MOOD = {**WIDE, "columns": {"Pain": "pain", "Mood": "mood"}}


def parse(text: str, profile: dict, patient_ref: str | None = "P1", encoding: str = "utf-8"):
    return parse_with_profile(text.encode(encoding), "other.csv", profile, patient_ref=patient_ref, today=TODAY)


def refusals(parsed):
    return [(r.row, r.column, r.value) for r in parsed.refused]


@pytest.mark.parametrize(
    ("text", "profile", "expected"),
    [
        ("when,Pain\n2026-03-01,4\n", WIDE, [(2, "when", "2026-03-01")]),  # the pattern is day/month/year
        ("when,Pain\n01/03/2026,11\n", WIDE, [(2, "Pain", "11")]),
        ("when,Pain\n12/03/2026,4\n", WIDE, [(2, "when", "12/03/2026")]),  # after tomorrow (dashboard.fields)
        ("when,Pain\n31/12/1899,4\n", WIDE, [(2, "when", "31/12/1899")]),  # before 1900
        ("when,Pain,Mood\n01/03/2026,4,great\n", WITH_MOOD, [(2, "Mood", "great")]),
        ("when,Pain\n01/03/2026,\n", WIDE, [(2, "when", "01/03/2026")]),  # no measure recorded
        ("item,value,when\nPain,4,01/03/2026\nSick,4,01/03/2026\n", LONG,
         [(2, "when", "01/03/2026"), (3, "value", "4")]),
        ("item,value,when\nPain,x,01/03/2026\nPain,4,02/03/2026\n", LONG, [(2, "value", "x")]),
        ("note\nitem,value,when\nPain,4,31/02/2026\n", {**LONG, "header_row": 2}, [(3, "when", "31/02/2026")]),
        ("year,month,day,Pain\n,,1,4\n", {**WIDE, "date_column": None, "date_format": None, "fill_down": True,
                                         "date_parts": {"year": "year", "month": "month", "day": "day"}},
         [(2, "year", "")]),  # nothing above to fill down from
        ("when,Pain,patient\n01/03/2026,4,P2\n", {**WIDE, "patient_column": "patient"}, [(2, "patient", "P2")]),
        ("when,sys,dia\n01/03/2026,120,\n", {**WIDE, "columns": {"sys": "bp_systolic", "dia": "bp_diastolic"}},
         [(2, "dia", "")]),
        ("when,Pain,extra\n01/03/2026,4,x,y\n", WIDE, [(2, "column 4", "y")]),
    ],
)
def test_bad_cells_are_refused_with_row_column_and_value(text, profile, expected):
    assert refusals(parse(text, profile)) == expected


def test_an_entry_is_imported_whole_or_not_at_all():
    text = "item,value,when\nPain,4,01/03/2026\nPain,12,01/03/2026\nPain,3,02/03/2026\n"
    parsed = parse(text, LONG)
    assert refusals(parsed) == [(2, "when", "01/03/2026"), (3, "value", "12")]
    assert "row 3 of the same entry was refused" in parsed.refused[0].reason
    assert [r.recorded_at.day for r in parsed.diary] == [2]


@pytest.mark.parametrize(
    ("rows", "aggregate", "expected_measures", "expected_effects"),
    [
        (["Pain,4", "Pain,7", "Sick,1", "Sick,mild", "Sick,2"], "max", {"pain": 7.0}, {"nausea": 2}),
        (["Pain,4", "Pain,7", "Sick,1", "Sick,2"], "mean", {"pain": 5.5}, {"nausea": 2}),  # grades keep the worst
        (["Dose,25", "Dose,50", "Note,slept badly", "Note,slept badly", "Note,dizzy"], "mean",
         {"dose_mg": 75.0, "notes": "slept badly; dizzy"}, {}),
    ],
)
def test_several_rows_at_one_time_make_one_entry(rows, aggregate, expected_measures, expected_effects):
    items = {"Pain": "pain", "Sick": "nausea", "Dose": "dose_mg", "Note": "notes"}
    profile = {**LONG, "aggregate": aggregate, "items": items}
    parsed = parse("item,value,when\n" + "".join(f"{r},01/03/2026\n" for r in rows), profile)
    (entry,) = parsed.diary
    assert (entry.measures, entry.side_effects, entry.row) == (expected_measures, expected_effects, 2)


@pytest.mark.parametrize(
    ("scale", "cell", "expected"),
    [
        ({"pain": {"from": [1, 5], "to": [0, 10]}}, "3", {"pain": 5.0}),
        ({"pain": {"from": [5, 1], "to": [0, 10]}}, "2", {"pain": 7.5}),  # a scale where 5 is best, reversed
        ({"nausea": {"from": [0, 1], "to": [0, 3]}}, "1", {"nausea": 3}),
    ],
)
def test_scale_stretches_the_apps_own_scale(scale, cell, expected):
    field = next(iter(scale))
    profile = {**WIDE, "columns": {"Pain": field}, "scale": scale}
    (entry,) = parse(f"when,Pain\n01/03/2026,{cell}\n", profile).diary
    assert {**entry.measures, **entry.side_effects} == expected


@pytest.mark.parametrize(
    ("scale", "cell", "reason"),
    [
        ({"pain": {"from": [1, 5], "to": [0, 10]}}, "6", "outside the app's scale 1 to 5"),
        ({"nausea": {"from": [0, 2], "to": [0, 3]}}, "1", "graded 0 (none)"),  # 1.5 is no grade
    ],
)
def test_scaled_values_keep_the_diary_ranges(scale, cell, reason):
    field = next(iter(scale))
    parsed = parse(f"when,Pain\n01/03/2026,{cell}\n", {**WIDE, "columns": {"Pain": field}, "scale": scale})
    assert refusals(parsed) == [(2, "Pain", cell)]
    assert reason in parsed.refused[0].reason


def test_times_offsets_and_patient_column():
    profile = {**WIDE, "columns": {"Pain": "pain"}, "date_format": "%Y-%m-%dT%H:%M%z", "patient_column": "who"}
    parsed = parse("who,when,Pain\nP7,2026-03-01T21:30+0100,4\n", profile, patient_ref=None)
    (entry,) = parsed.diary
    assert (entry.patient_ref, entry.recorded_at, entry.utc_offset_minutes, entry.has_time) == (
        "P7", datetime(2026, 3, 1, 21, 30), 60, True)


@pytest.mark.parametrize(
    ("text", "profile", "patient_ref", "reason"),
    [
        ("when,Pain\n01/03/2026,4\n", WIDE, None, "name the patient when importing"),
        ("date,Pain\n01/03/2026,4\n", WIDE, "P1",
         "'when' (date_column) named in the profile is not in the file (the header has: date, Pain)"),
        ("when,Pain\n", {**WIDE, "header_row": 3}, "P1", "the header should be on row 3"),
        ("when,Pain\n01/03/2026,4\n", {**WIDE, "layout": "tall"}, "P1", "layout: 'tall' is not one of"),
    ],
)
def test_files_that_cannot_be_read_are_refused_whole(text, profile, patient_ref, reason):
    with pytest.raises(FileRefused) as caught:
        parse(text, profile, patient_ref=patient_ref)
    assert reason in caught.value.refused.reason


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"layout": None}, "layout: missing"),
        ({"colums": {}}, "unknown key 'colums'"),
        ({"columns": {"Pain": "agony"}}, "columns['Pain']: 'agony' is not a diary field"),
        ({"columns": {"Pain": None}}, "columns: no column is mapped to a diary field"),
        ({"columns": {"Pain": "pain", " pain ": "mood"}}, "'Pain' and ' pain ' are the same column"),
        ({"date_column": None}, "no column can serve as the date"),
        ({"date_parts": {"year": "y", "month": "m", "day": "d"}}, "either 'date_column' or 'date_parts'"),
        ({"date_format": "%d/%m"}, "date_format: '%d/%m' must hold a year"),
        ({"date_format": "%Y-%m-%d %Q"}, "date_format: '%Y-%m-%d %Q' is not a pattern this importer can read"),
        ({"time_column": "t", "time_format": "%I:%M"}, "without am/pm (%p)"),
        ({"time_column": "t"}, "time_format: give the time pattern"),
        ({"fill_down": True}, "fill_down: applies to 'date_parts' only"),
        ({"header_row": 0}, "header_row: 0 is not a row number"),
        ({"aggregate": "sum"}, "aggregate: 'sum' is not one of"),
        ({"value_maps": {"mood": {"rad": 11}}}, "value_maps['mood']['rad']: give the number this label stands for"),
        ({"value_maps": {"mood": {"rad": None}}}, "value_maps['mood']['rad']"),
        ({"value_maps": {"sleep": {"good": 8}}}, "value_maps['sleep']: no column or item is mapped to sleep"),
        ({"value_maps": {"mood": {"Rad": 10, "rad ": 9}}}, "'Rad' and 'rad ' are the same label"),
        ({"scale": {"pain": {"from": [1, 1], "to": [0, 10]}}}, "scale['pain']['from']: the two ends must differ"),
        ({"scale": {"pain": {"from": [1, 5], "to": [0, 100]}}}, "scale['pain']['to']: pain runs from 0 to 10"),
        ({"patient_column": "when"}, "column 'when' is both date_column and patient_column"),
        ({"items": {"a": "pain"}}, "items: belongs to a long layout"),
        ({"name": "x" * 33}, "name: at most 32 characters"),
    ],
)
def test_validation_names_the_wrong_key(change, message):
    with pytest.raises(ProfileError) as caught:
        validate_profile({**WITH_MOOD, **change})
    assert message in str(caught.value)


@pytest.mark.parametrize("key", profiles.KEYS)
def test_every_profile_key_is_documented(key):
    assert f"``{key}``" in profiles.__doc__


def test_validation_fills_in_defaults_and_is_stable():
    checked = validate_profile(WIDE)
    defaults = (checked["header_row"], checked["aggregate"], checked["fill_down"], checked["one_entry_per_day"])
    assert defaults == (1, "max", False, False)
    assert validate_profile(checked) == checked


# --- suggestions and explanations ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"{MM}/Participant2Pain.csv", {"layout": "long", "item_column": "name", "value_column": "intensity",
                                        "fallback_date_column": "date", "one_entry_per_day": True,
                                        "items": {"Knee Pain": "pain", "happiness": "mood"}}),
        (f"{MM}/pain.csv", {"header_row": 2, "fill_down": True, "item_column": "region",
                            "date_parts": {"year": "year", "month": "month", "day": "day"}}),
        ("data/real/diary_csv/daylio/sample.csv", {
            "layout": "wide", "date_column": "full_date", "date_format": "%Y-%m-%d", "time_column": "time",
            # Mood words without known numbers: the column is left ignored and asked about, never saved without numbers.
            "time_format": "%I:%M %p", "value_maps": {},
        }),
    ],
)
def test_suggestions_from_the_header_and_values(shared_dir, path, expected):
    suggestion = suggest_profile((shared_dir / path).read_bytes(), "x.csv")
    assert {key: suggestion.get(key) for key in expected} == expected


@pytest.mark.parametrize(
    ("text", "profile", "reason"),
    [
        ("mood,weather\ngood,sun\n", {**WIDE, "date_column": None}, "no column can serve as the date"),
        ("date,Pain\n01/03/2026,4\n", WIDE,
         "column 'when' (date_column) named in the profile is not in the file (the header has: date, Pain)"),
        ("when,Mood\n01/03/2026,sad\n", {**WIDE, "columns": {"Mood": "mood"}},
         "mood: these words have no number in value_maps: 'sad'"),
        ("item,value,when\nTired,1,01/03/2026\n", LONG,
         "none of the items the profile maps is in column 'item' (it has: Tired)"),
        ("when,Pain\n2026-03-01,4\n", WIDE, "no row becomes a diary entry: row 2, column 'when'"),
    ],
)
def test_explain_says_exactly_why_a_file_cannot_be_mapped(text, profile, reason):
    raw = text.encode()
    profile = profile or suggest_profile(raw, "x.csv")
    reasons = explain_unmappable(raw, "x.csv", profile, patient_ref="P1", today=TODAY)
    assert any(reason in r for r in reasons), reasons


def test_explain_asks_numbers_only_for_the_words_of_each_field():
    raw = b"item,value,when\nPain,4,01/03/2026\nMood,good,01/03/2026\n"
    reasons = explain_unmappable(raw, "x.csv", {**LONG, "items": {"Pain": "pain", "Mood": "mood"}}, patient_ref="P1",
                                 today=TODAY)
    assert reasons[0] == "mood: these words have no number in value_maps: 'good'"
    assert not any(r.startswith("pain") for r in reasons)


def test_labels_match_ignoring_case_and_spaces_in_long_files():
    profile = {**LONG, "items": {"Pain": "pain", "Mood": "mood"}, "value_maps": {"mood": {"good": 7.5, "Meh": 5}}}
    parsed = parse("item,value,when\nPain,4,01/03/2026\nMood,Good ,01/03/2026\nMood, meh,02/03/2026\n", profile)
    assert [(r.recorded_at.day, r.measures) for r in parsed.diary] == [(1, {"pain": 4.0, "mood": 7.5}), (2, {"mood": 5.0})]


def test_explain_is_empty_when_the_file_maps(shared_dir):
    raw = (shared_dir / "data/real/diary_csv/daylio/sample.csv").read_bytes()
    assert explain_unmappable(raw, "sample.csv", DAYLIO, patient_ref="P1") == []


# --- profiles in the store -------------------------------------------------------------------------


def test_save_load_and_refuse_to_overwrite(db_url):
    with session_scope(db_url) as session:
        save_profile(session, "daylio", DAYLIO, created_by="staff1")
        save_profile(session, "daylio", {**DAYLIO, "aggregate": "max"}, created_by="staff2")  # same content: no change
        with pytest.raises(ProfileExists):
            save_profile(session, "daylio", {**DAYLIO, "aggregate": "mean"}, created_by="staff2")
    with session_scope(db_url) as session:
        loaded = load_profile(session, "daylio")
        assert (loaded["name"], loaded["aggregate"], loaded["value_maps"]["mood"]["sad"]) == ("daylio", "max", 2.5)
        assert session.scalar(select(MappingProfile.created_by)) == "staff1"
        save_profile(session, "daylio", {**DAYLIO, "aggregate": "mean"}, created_by="staff2", replace=True)
        save_profile(session, "monstermizer", {**MONSTERMIZER, "items": {"Knee Pain": "pain"}}, created_by="staff2")
    with session_scope(db_url) as session:
        assert load_profile(session, "daylio")["aggregate"] == "mean"
        assert list_profiles(session) == ["daylio", "monstermizer"]
        unknown = r"no mapping profile called 'fitbit' \(saved profiles: daylio, monstermizer\)"
        with pytest.raises(LookupError, match=unknown):
            load_profile(session, "fitbit")
        saved = session.scalars(select(AuditEvent.action).where(AuditEvent.action == "save_mapping_profile")).all()
        assert len(saved) == 3  # the unchanged save wrote nothing


@pytest.mark.parametrize(("name", "mapping"), [("", DAYLIO), ("x" * 33, DAYLIO), ("bad", {**DAYLIO, "layout": "tall"})])
def test_invalid_profiles_are_not_saved(db_url, name, mapping):
    with session_scope(db_url) as session:
        with pytest.raises(ProfileError):
            save_profile(session, name, mapping, created_by="staff1")
        assert list_profiles(session) == []


def test_import_with_a_saved_profile_stores_entries_once(db_url, shared_dir):
    raw = (shared_dir / f"{MM}/Participant2Pain.csv").read_bytes()
    longest_name = "monstermizer-knee-pain-happiness"  # 32 characters: "profile:<name>" still fits the store
    with session_scope(db_url) as session:
        save_profile(session, longest_name, {**MONSTERMIZER, "items": {"Knee Pain": "pain", "happiness": "mood"}},
                     created_by="staff1")
    first = import_file(raw, "Participant2Pain.csv", url=db_url, profile_name=longest_name, patient_ref="MM-2")
    again = import_file(raw, "Participant2Pain.csv", url=db_url, profile_name=longest_name, patient_ref="MM-2")
    assert (first.status, first.entries_added, first.format) == ("imported", 553, f"profile:{longest_name}")
    assert again.status == "already-imported"
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(DiaryEntry.id))) == 553
        assert session.scalar(select(DiaryEntry.source).limit(1)) == f"profile:{longest_name}"
