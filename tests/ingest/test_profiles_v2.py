"""Mapping profiles, version 2 (import-formats.md, "Version 3"), each rule at its edges: Unix times
(1970, 2038-01-19T03:14:08Z), two-digit years, the patient's time zone across Europe/Berlin's
summer-time changes, hour and minute columns, ISO times ending +0000, header-less files, "not
recorded" words, patterns summed over a list cell, packed ratings; and saved version-1 profiles."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from dashboard.ingest.profiles import (
    NOT_RECORDED,
    ProfileError,
    explain_unmappable,
    load_profile,
    parse_with_profile,
    preview_mapping,
    save_profile,
    suggest_mapping,
    validate_profile,
)
from dashboard.db.models import MappingProfile
from dashboard.db.session import session_scope
from dashboard.ingest.records import FileRefused

TODAY = date(2026, 12, 1)
MG = r"(?P<mg>\d+(?:\.\d+)?)\s*mg"
WIDE = {"layout": "wide", "columns": {"pain": "pain"}, "date_column": "when", "date_format": "%Y-%m-%d %H:%M"}


def read(text: str, profile: dict, today: date = TODAY, name: str = "f.csv"):
    return parse_with_profile(text.encode(), name, profile, patient_ref="P1", today=today)


def one(text: str, profile: dict, today: date = TODAY):
    parsed = read(text, profile, today)
    assert not parsed.refused, parsed.refused
    (entry,) = parsed.diary
    return entry


def _ms(at: datetime) -> int:
    return int(at.replace(tzinfo=timezone.utc).timestamp()) * 1000


# Unix times

UNIX = {"layout": "wide", "columns": {"pain": "pain"}, "date_column": "t", "date_format": "unix_ms"}


@pytest.mark.parametrize(("ms", "at"), [
    (0, datetime(1970, 1, 1)),
    (1, datetime(1970, 1, 1, 0, 0, 0, 1000)),
    (2_147_483_647_000, datetime(2038, 1, 19, 3, 14, 7)),  # the last second a signed 32-bit time holds
    (2_147_483_648_000, datetime(2038, 1, 19, 3, 14, 8)),  # and the first it cannot: read all the same
])
def test_unix_milliseconds_at_the_edges(ms, at):
    entry = one(f"t,pain\n{ms},5\n", UNIX, today=date(2038, 2, 1))
    assert (entry.recorded_at, entry.utc_offset_minutes, entry.has_time) == (at, 0, True)


def test_unix_seconds_and_the_patients_zone():
    profile = {**UNIX, "date_format": "unix_s", "timezone": "Europe/Berlin"}
    entry = one("t,pain\n2147483648,5\n", profile, today=date(2038, 2, 1))
    assert (entry.recorded_at, entry.utc_offset_minutes) == (datetime(2038, 1, 19, 4, 14, 8), 60)  # CET
    summer = one(f"t,pain\n{_ms(datetime(2026, 7, 1, 20, 0)) // 1000},5\n", profile)
    assert (summer.recorded_at, summer.utc_offset_minutes) == (datetime(2026, 7, 1, 22, 0), 120)  # CEST


def test_a_unix_time_after_tomorrow_or_not_a_number_is_refused_naming_the_cell():
    parsed = read("t,pain\n2147483648000,5\n17646x,4\n", UNIX)
    assert [(r.row, r.column, r.value) for r in parsed.refused] == [(2, "t", "2147483648000"), (3, "t", "17646x")]
    assert "not a Unix time in milliseconds since 1970" in parsed.refused[1].reason


# Two-digit years and ISO offsets

@pytest.mark.parametrize(("written", "pattern", "day"), [
    ("3/14/26", "%m/%d/%y", date(2026, 3, 14)),
    ("14.03.26", "%d.%m.%y", date(2026, 3, 14)),
    ("12/31/99", "%m/%d/%y", date(1999, 12, 31)),  # 69-99 are the 1900s
    ("1/1/00", "%m/%d/%y", date(2000, 1, 1)),
])
def test_two_digit_years(written, pattern, day):
    entry = one(f"when,pain\n{written},5\n", {**WIDE, "date_format": pattern})
    assert entry.recorded_at == datetime.combine(day, datetime.min.time()) and not entry.has_time


def test_a_two_digit_year_is_not_read_by_a_four_digit_pattern():
    parsed = read("when,pain\n3/14/26,5\n", {**WIDE, "date_format": "%m/%d/%Y"})
    assert [(r.row, r.column, r.value) for r in parsed.refused] == [(2, "when", "3/14/26")]


@pytest.mark.parametrize(("written", "offset"), [
    ("2026-03-01T10:00:00+0000", 0), ("2026-03-01T10:00:00Z", 0), ("2026-03-01T10:00:00+0100", 60),
    ("2026-03-01T10:00:00-05:30", -330),
])
def test_iso_times_keep_their_offset_over_the_profiles_zone(written, offset):
    profile = {**WIDE, "date_format": "%Y-%m-%dT%H:%M:%S%z", "timezone": "Asia/Tokyo"}
    entry = one(f"when,pain\n{written},5\n", profile)
    assert (entry.recorded_at, entry.utc_offset_minutes) == (datetime(2026, 3, 1, 10, 0), offset)


# The patient's time zone across a summer-time change (Europe/Berlin: 2026-03-29 02:00 -> 03:00,
# 2026-10-25 03:00 -> 02:00)

BERLIN = {**WIDE, "timezone": "Europe/Berlin"}


@pytest.mark.parametrize(("written", "offset"), [
    ("2026-03-29 01:59", 60),
    ("2026-03-29 02:30", 60),  # skipped by the clock: the offset before the change, kept as written
    ("2026-03-29 03:00", 120),
    ("2026-10-25 01:59", 120),
    ("2026-10-25 02:30", 120),  # passed twice: the first, summer-time one
    ("2026-10-25 03:00", 60),
])
def test_the_patients_zone_across_summer_time_changes(written, offset):
    entry = one(f"when,pain\n{written},5\n", BERLIN)
    assert (entry.recorded_at, entry.utc_offset_minutes) == (datetime.fromisoformat(written), offset)


def test_a_date_only_entry_takes_no_offset_and_one_entry_per_day_drops_it():
    assert one("when,pain\n2026-03-29,5\n", {**BERLIN, "date_format": "%Y-%m-%d"}).utc_offset_minutes is None
    entry = one("when,pain\n2026-03-29 10:00,5\n", {**BERLIN, "one_entry_per_day": True})
    assert (entry.utc_offset_minutes, entry.has_time) == (None, False)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd", "", 5])
def test_a_zone_that_is_not_iana_is_refused_at_save(zone):
    if zone == "":
        assert validate_profile({**WIDE, "timezone": zone})["timezone"] is None
        return
    with pytest.raises(ProfileError, match="timezone: .* is not a time zone name"):
        validate_profile({**WIDE, "timezone": zone})


# Hour and minute columns (iMoodJournal): a day's entries stay apart

IMOOD = {"layout": "wide", "columns": {"Level": "mood"}, "date_column": "Date", "date_format": "%Y-%m-%d",
         "time_parts": {"hour": "Hour", "minute": "Minute"}}


def test_hour_and_minute_columns_keep_a_days_entries_apart():
    parsed = read("Date,Hour,Minute,Level\n2026-03-01,9,5,6\n2026-03-01,21,30,4\n2026-03-02,,,5\n", IMOOD)
    assert [(e.recorded_at, e.has_time, e.measures["mood"]) for e in parsed.diary] == [
        (datetime(2026, 3, 1, 9, 5), True, 6.0), (datetime(2026, 3, 1, 21, 30), True, 4.0),
        (datetime(2026, 3, 2), False, 5.0)]


def test_an_hour_out_of_range_is_refused_naming_the_cell():
    parsed = read("Date,Hour,Minute,Level\n2026-03-01,24,5,6\n", IMOOD)
    assert [(r.row, r.column, r.value) for r in parsed.refused] == [(2, "Hour", "24")]
    assert "not an hour (a whole number from 0 to 23)" in parsed.refused[0].reason


def test_time_parts_and_a_time_column_are_not_both():
    with pytest.raises(ProfileError, match="either 'time_column' or 'time_parts'"):
        validate_profile({**IMOOD, "time_column": "Time", "time_format": "%H:%M"})


# Files without a header (Daylio): the first row is data, never lost

DAYLIO = ('2021-09-28,28 September,Tuesday,10:00 pm,good,"clean | music","",""\n'
          '2021-09-27,27 September,Monday,11:00 pm,rad,"",,"x"\n'
          '2021-09-26,26 September,Sunday,9:00 pm,weird,"",,""\n')
HEADERLESS = {"layout": "wide", "header": False, "columns": {"column 5": "mood", "column 8": "notes"},
              "date_column": "column 1", "date_format": "%Y-%m-%d", "time_column": "column 4",
              "time_format": "%I:%M %p", "value_maps": {"mood": {"rad": 10, "good": 7.5}}}


def test_a_file_without_a_header_keeps_its_first_row_and_counts_rows_as_the_file_does():
    parsed = read(DAYLIO, HEADERLESS)
    assert [(e.row, e.recorded_at, e.measures) for e in parsed.diary] == [
        (2, datetime(2021, 9, 27, 23, 0), {"mood": 10.0, "notes": "x"}),
        (1, datetime(2021, 9, 28, 22, 0), {"mood": 7.5})]
    assert [(r.row, r.column, r.value) for r in parsed.refused] == [(3, "column 5", "weird")]
    assert parsed.ignored == {"column 'column 2'": 3, "column 'column 3'": 3, "column 'column 6'": 1,
                              "column 'column 7'": 0}


def test_a_header_less_profile_names_columns_by_position_only():
    with pytest.raises(FileRefused, match="'column 9' .* is not in the file"):
        read(DAYLIO, {**HEADERLESS, "columns": {"column 9": "mood"}})
    with pytest.raises(ProfileError, match="header_row: a file without a header"):
        validate_profile({**HEADERLESS, "header_row": 2})


def test_a_header_less_file_with_bad_quotes_names_the_files_own_row():
    with pytest.raises(FileRefused) as refused:
        read('2021-09-28,1,x\n2021-09-27,2,"a"b"\n', {**HEADERLESS, "columns": {"column 2": "pain"},
                                                       "time_column": None, "time_format": None, "value_maps": {}})
    assert refused.value.refused.row == 2


# "Not recorded" words

@pytest.mark.parametrize("word", ["null", "NULL", "[]", "-", "n/a", "N/A", " nan "])
def test_a_placeholder_in_a_number_column_leaves_the_field_empty(word):
    profile = {**WIDE, "columns": {"pain": "pain", "mood": "mood"}}
    entry = one(f"when,pain,mood\n2026-03-01 10:00,{word},6\n", profile)
    assert entry.measures == {"mood": 6.0}


def test_a_row_of_placeholders_only_is_refused_as_holding_no_measure():
    parsed = read("when,pain\n2026-03-01 10:00,null\n", WIDE)
    assert [(r.row, r.column) for r in parsed.refused] == [(2, "when")]
    assert "no measure recorded" in parsed.refused[0].reason


def test_placeholder_words_are_the_profiles_and_none_stays_a_severity():
    profile = {**WIDE, "columns": {"pain": "pain", "nausea": "nausea"}, "not_recorded": ["?"]}
    assert validate_profile(profile)["not_recorded"] == ["?"]
    entry = one("when,pain,nausea\n2026-03-01 10:00,?,none\n", profile)
    assert (entry.measures, entry.side_effects) == ({}, {"nausea": 0})
    refused = read("when,pain,nausea\n2026-03-01 10:00,null,1\n", profile).refused  # not the profile's word now
    assert [(r.row, r.column, r.value) for r in refused] == [(2, "pain", "null")]
    assert "none" not in [w.casefold() for w in NOT_RECORDED]


def test_a_word_both_not_recorded_and_mapped_is_refused():
    with pytest.raises(ProfileError, match="not_recorded: '-' is also a label of value_maps\\['mood'\\]"):
        validate_profile({**WIDE, "columns": {"pain": "pain", "mood": "mood"}, "value_maps": {"mood": {"-": 5}},
                          "not_recorded": ["-"]})


# Patterns summed over a list cell

DOSES = {"layout": "wide", "columns": {"Drug Intakes": "dose_mg"}, "date_column": "Date", "date_format": "%m/%d/%y",
         "rules": {"Drug Intakes": {"pattern": rf"ketamin\w*[^\d,\]]*{MG}"}}}


@pytest.mark.parametrize(("cell", "dose"), [
    ('"[Ketamine troche 25 mg]"', 25.0),
    ('"[Ketamine troche 25 mg, KETAMIN 12.5 MG, Ibuprofen 400 mg]"', 37.5),  # a list sums its items, any case
    ('"[Ibuprofen 400 mg, Ketamine 50mg]"', 50.0),
])
def test_a_pattern_is_summed_over_every_match_in_a_list_cell(cell, dose):
    assert one(f"Date,Drug Intakes\n3/14/26,{cell}\n", DOSES).measures == {"dose_mg": dose}


def test_a_cell_the_pattern_finds_nothing_in_is_not_recorded_and_counted():
    text = 'Date,Drug Intakes,Pain\n3/14/26,"[Ibuprofen 400 mg]",5\n3/15/26,[],4\n3/16/26,"[Ketamine 25 mg]",3\n'
    parsed = read(text, {**DOSES, "columns": {"Drug Intakes": "dose_mg", "Pain": "pain"}})
    assert [e.measures for e in parsed.diary] == [{"pain": 5.0}, {"pain": 4.0}, {"dose_mg": 25.0, "pain": 3.0}]
    assert parsed.ignored == {"column 'Drug Intakes': no match for its rule (not recorded)": 1}  # [] is not recorded


def test_a_summed_dose_above_the_maximum_is_refused_naming_the_cell():
    parsed = read('Date,Drug Intakes\n3/14/26,"[Ketamine 900 mg, Ketamine 900 mg]"\n', DOSES)
    assert [(r.row, r.column, r.value) for r in parsed.refused] == [
        (2, "Drug Intakes", "[Ketamine 900 mg, Ketamine 900 mg]")]
    assert "dose_mg must be a number from 0 to" in parsed.refused[0].reason


def test_a_decimal_comma_in_a_semicolon_file():
    entry = one('Date;Drug Intakes\n3/14/26;"Ketamin 12,5 mg; Ketamin 12,5 mg"\n',
                {**DOSES, "rules": {"Drug Intakes": {"pattern": r"(?P<mg>\d+(?:,\d+)?)\s*mg"}}})
    assert entry.measures == {"dose_mg": 25.0}


@pytest.mark.parametrize(("rule", "message"), [
    ({"pattern": r"\d+\s*mg"}, "needs exactly one named group"),
    ({"pattern": r"(?P<a>\d+)/(?P<b>\d+)"}, "needs exactly one named group"),
    ({"pattern": "(?P<mg>[0-9+"}, "is not a regular expression"),
    ({"sum": MG}, "give one of 'pattern', 'label'"),
])
def test_a_rule_that_cannot_work_is_refused_at_save(rule, message):
    with pytest.raises(ProfileError, match=message):
        validate_profile({**DOSES, "rules": {"Drug Intakes": rule}})


# Patterns that could hang an import (catastrophic backtracking) and cells too long for a pattern

HOSTILE = r"(?P<mg>(\d+)+)$"


@pytest.mark.parametrize(("regex", "group"), [
    (HOSTILE, r"(\d+)+"),
    (r"(?:(?P<mg>\d+),?)*x", r"(?:(?P<mg>\d+),?)*"),
    (r"(?:a|aa)+(?P<mg>\d)", r"(?:a|aa)+"),
    (r"(?P<mg>(?:[\d.]{1,3})+)", r"(?:[\d.]{1,3})+"),
])
def test_a_rule_that_repeats_a_repeating_group_is_refused_in_words(regex, group):
    with pytest.raises(ProfileError) as refused:
        validate_profile({**DOSES, "rules": {"Drug Intakes": {"pattern": regex}}})
    said = str(refused.value)
    assert said.startswith(f"rules['Drug Intakes']['pattern']: {regex!r} repeats a group that itself repeats")
    assert f"{group!r}" in said and "catastrophic backtracking" in said


def test_the_rules_the_suggester_and_the_docs_write_are_not_refused_as_nested():
    for regex in (MG, rf"ketamin\w*[^\d,\]]*{MG}", r"ketamin[^\d,;|\]]*?(?P<mg>\d+(?:\.\d+)?)\s*mg\b",
                  r"Sleep Quality:\s*(?P<v>\d+(?:\.\d+)?)\s*/\s*10\b", r"(?P<mg>[(+*]+\d{1,3})"):
        validate_profile({**DOSES, "rules": {"Drug Intakes": {"pattern": regex}}})


def test_a_suggested_profile_with_patterns_still_saves(sqlite_url):
    raw = (b"Date,Hour,Minute,Medication,Scales\n"
           b"2026-03-01,9,5,\"Ketamine 25 mg, Ibuprofen 400 mg\",Sleep Quality: 8/10 points | Mood: 3/5\n"
           b"2026-03-02,8,0,Ketamine 25 mg,Sleep Quality: 6/10 points | Mood: 2/5\n")
    found = suggest_mapping(raw, "packed.csv")
    assert {kind for rule in found.profile["rules"].values() for kind in rule} == {"pattern", "label"}
    with session_scope(sqlite_url) as session:
        save_profile(session, "packed", found.profile, created_by="staff1")
    with session_scope(sqlite_url) as session:
        assert load_profile(session, "packed")["rules"] == found.profile["rules"]


def test_a_stored_profile_with_a_hostile_rule_is_refused_at_import_naming_it(sqlite_url):
    with session_scope(sqlite_url) as session:  # stored before the check existed: written directly
        session.add(MappingProfile(name="old", mapping={**DOSES, "rules": {"Drug Intakes": {"pattern": HOSTILE}}},
                                   created_by="staff1", created_at=datetime(2026, 12, 1, tzinfo=timezone.utc)))
    with session_scope(sqlite_url) as session:
        profile = load_profile(session, "old")
    with pytest.raises(FileRefused) as refused:
        read("Date,Drug Intakes\n3/14/26," + "1" * 22 + "x\n", profile)
    assert "the mapping profile 'old' cannot be used: rules['Drug Intakes']['pattern']" in str(refused.value)


def test_a_cell_longer_than_a_rule_reads_is_refused_naming_the_cell():
    long_cell = "[" + ", ".join(["Ketamine 25 mg"] * 40) + "]"  # 640 characters
    parsed = read(f'Date,Drug Intakes\n3/14/26,"{long_cell}"\n3/15/26,"[Ketamine 25 mg]"\n', DOSES)
    assert [e.measures for e in parsed.diary] == [{"dose_mg": 25.0}]
    (refused,) = parsed.refused
    assert (refused.row, refused.column) == (2, "Drug Intakes")
    assert refused.reason.startswith(f"the cell has {len(long_cell)} characters; the column's pattern")
    assert "reads cells of at most 500" in refused.reason


def test_a_rule_needs_a_column_mapped_to_a_number():
    with pytest.raises(ProfileError, match="a rule applies to a column mapped to a diary field"):
        validate_profile({**DOSES, "rules": {"Other": {"pattern": MG}}})
    with pytest.raises(ProfileError, match="notes is free text"):
        validate_profile({**DOSES, "columns": {"Drug Intakes": "notes", "x": "pain"}})


# Packed ratings

PACKED = {"layout": "wide", "columns": {"scales": "sleep"}, "date_column": "date", "date_format": "%Y-%m-%d",
          "rules": {"scales": {"label": r"Sleep Quality:\s*(?P<v>\d+(?:\.\d+)?)\s*/\s*10"}}}


@pytest.mark.parametrize(("cell", "sleep"), [
    ("Sleep Quality: 8/10 points | Sleep Time: 8:00", 8.0),
    ("Sleep Time: 6:30 | sleep quality: 3/10 points", 3.0),
    ("Sleep Quality: 0/10 points", 0.0),
    ("Sleep Quality: 10/10 points | Sleep Quality: 2/10", 10.0),  # the first rating: one value, never summed
])
def test_a_packed_rating_is_picked_by_its_label(cell, sleep):
    assert one(f'date,scales\n2026-03-01,"{cell}"\n', PACKED).measures == {"sleep": sleep}


def test_a_packed_rating_on_another_scale_is_converted_to_0_10():
    profile = {**PACKED, "rules": {"scales": {"label": r"Sleep Quality:\s*(?P<v>\d+)\s*/\s*5"}},
               "scale": {"sleep": {"from": [0, 5], "to": [0, 10]}}}
    assert one('date,scales\n2026-03-01,"Sleep Quality: 4/5 | Mood: 3/5"\n', profile).measures == {"sleep": 8.0}
    parsed = read('date,scales\n2026-03-01,"Sleep Quality: 7/5"\n', profile)
    assert [(r.row, r.column, r.value) for r in parsed.refused] == [(2, "scales", "Sleep Quality: 7/5")]
    assert "outside the app's scale 0 to 5" in parsed.refused[0].reason


# Version 1 profiles

V1 = {"layout": "wide", "columns": {"Pain": "pain"}, "date_column": "when", "date_format": "%d/%m/%Y"}


def test_a_version_1_profile_reads_as_before_with_the_version_2_defaults():
    checked = validate_profile(V1)
    assert (checked["version"], checked["header"], checked["rules"], checked["timezone"]) == (2, True, {}, None)
    assert checked["not_recorded"] == list(NOT_RECORDED)
    with pytest.raises(ProfileError, match="version: 3 is not one of 1, 2"):
        validate_profile({**V1, "version": 3})


def test_a_version_1_profile_stored_before_version_2_loads_and_saves_again_unchanged(db_url):
    # As version 1 stored it: the checked profile, without the version-2 keys.
    stored_v1 = {**V1, "header_row": 1, "date_parts": None, "fill_down": False, "time_column": None,
                 "time_format": None,
                 "fallback_date_column": None, "fallback_date_format": None, "one_entry_per_day": False,
                 "patient_column": None, "aggregate": "max", "value_maps": {}, "scale": {}}
    with session_scope(db_url) as session:
        session.add(MappingProfile(name="old", mapping=stored_v1, created_by="someone",
                                   created_at=datetime(2026, 1, 1)))
    with session_scope(db_url) as session:
        loaded = load_profile(session, "old")
        save_profile(session, "old", V1, created_by="staff1")  # the same mapping: no "a different profile" refusal
    assert one("when,Pain\n01/03/2026,4\n", loaded).measures == {"pain": 4.0}


def test_why_a_header_less_file_cannot_be_mapped_reads_it_without_a_header():
    profile = {**HEADERLESS, "value_maps": {"mood": {"rad": 10}}}
    reasons = explain_unmappable(DAYLIO.encode(), "f.csv", profile, patient_ref="P1", today=TODAY)
    assert reasons == ["mood: these words have no number in value_maps: 'good', 'weird'"]
    shown = preview_mapping(DAYLIO.encode(), "f.csv", profile, patient_ref="P1", today=TODAY)
    assert shown.rows["file row"].tolist() == [2] and [r.row for r in shown.refused] == [1, 3]
