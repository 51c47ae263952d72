"""Bearable export: small files written here in Bearable's layout (every field quoted)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from dashboard.ingest.bearable import looks_like_bearable, parse_bearable
from dashboard.ingest.records import FileRefused

HEADER = "date,date formatted,weekday,time of day,category,rating/amount,detail,notes"
OLD_HEADER = "date,weekday,time of day,category,rating/amount,detail,notes"


def iso(written: str) -> tuple[str, str]:
    """``22nd Sep 2020`` as the export's ``date formatted`` and weekday; blank when not a date."""
    try:
        day, month, year = written.split()
        when = datetime.strptime(f"{int(day[:-2])} {month} {year}", "%d %b %Y")
    except ValueError:
        return "", ""
    return when.date().isoformat(), when.strftime("%A")


def export(*rows: tuple, header: str = HEADER) -> bytes:
    """Rows as (date, time of day, category, rating/amount, detail, notes); the other columns follow."""
    lines = [header]
    for written, slot, category, amount, detail, notes in rows:
        formatted, weekday = iso(written)
        cells = [written, formatted, weekday, slot, category, amount, detail, notes]
        if header == OLD_HEADER:
            del cells[1]
        lines.append(",".join('"' + c.replace('"', '""') + '"' for c in cells))
    return "\n".join(lines).encode() + b"\n"


def parse(*rows: tuple, **kwargs):
    return parse_bearable(export(*rows, **kwargs), "bearable.csv", patient_ref="P1")


@pytest.mark.parametrize("category, amount, detail, measures, side_effects", [
    ("Mood", "1", "sad", {"mood": 0}, {}),
    ("Mood", "10", "great | calm", {"mood": 10}, {}),
    ("Mood", "7", "", {"mood": 6.67}, {}),
    ("Sleep quality", "1", "", {"sleep": 0}, {}),
    ("Sleep quality", "4", "", {"sleep": 7.5}, {}),
    ("Symptom", "1", "Headache (Mild)", {"pain": 3}, {}),
    ("Symptom", "2", "Back (lower) pain (Moderate)", {"pain": 5}, {}),
    ("Symptom", "3", "Migraine (Severe)", {"pain": 7}, {}),
    ("Symptom", "2", "Neck pain (Unbearable)", {"pain": 9}, {}),
    ("Symptom", "4", "Muscle aches (Extremely severe)", {"pain": 9}, {}),
    ("Symptom", "0", "Joint pain (None)", {"pain": 0}, {}),
    ("Symptom", "1", "Nausea (Mild)", {}, {"nausea": 1}),
    ("Symptom", "2", "Dizziness (Moderate)", {}, {"dizziness": 2}),
    ("Symptom", "3", "Brain fog (Severe)", {}, {"brain_fog": 3}),
    ("Symptom", "4", "Dissociation (Unbearable)", {}, {"dissociation": 3}),
    ("Symptom", "1", "Sleepiness (Mild)", {}, {"drowsiness": 1}),
    ("Symptom", "2", "Drowsiness (Moderate)", {}, {"drowsiness": 2}),
    ("Symptom", "1", "Frequent urination (Mild)", {}, {"bladder": 1}),
    ("Symptom", "3", "Bladder pain (Severe)", {}, {"bladder": 3}),
    ("Meds/Supplements", "50", "Ketamine (mg)", {"dose_mg": 50}, {}),
    ("Meds/Supplements", "25|25", "Ketamine troche (mg)", {"dose_mg": 50}, {}),
    ("Meds/Supplements", "600", "Ibuprofen (mg)", {"other_medication": "Ibuprofen 600 mg"}, {}),
    ("Meds/Supplements", "", "Vitamin D", {"other_medication": "Vitamin D"}, {}),
])
def test_row_mapping(category, amount, detail, measures, side_effects):
    parsed = parse(("22nd Sep 2020", "am", category, amount, detail, ""))
    assert parsed.refused == []
    (entry,) = parsed.diary
    assert entry.measures == pytest.approx(measures, abs=0.005) and entry.side_effects == side_effects
    assert (entry.patient_ref, entry.recorded_at, entry.row, entry.utc_offset_minutes) == (
        "P1", datetime(2020, 9, 22, 9, 0), 2, None)


@pytest.mark.parametrize("slot, at, has_time", [
    ("pre", datetime(2020, 9, 22, 6, 0), True),
    ("am", datetime(2020, 9, 22, 9, 0), True),
    ("mid", datetime(2020, 9, 22, 13, 0), True),
    ("pm", datetime(2020, 9, 22, 19, 0), True),
    ("7:05", datetime(2020, 9, 22, 7, 5), True),
    ("21:45", datetime(2020, 9, 22, 21, 45), True),
    ("all day", datetime(2020, 9, 22), False),
    ("", datetime(2020, 9, 22), False),
])
def test_time_of_day(slot, at, has_time):
    (entry,) = parse(("22nd Sep 2020", slot, "Mood", "5", "", "")).diary
    assert (entry.recorded_at, entry.has_time) == (at, has_time)


@pytest.mark.parametrize("written, day", [
    ("1st Jan 2021", date(2021, 1, 1)), ("2nd Feb 2021", date(2021, 2, 2)), ("3rd Mar 2021", date(2021, 3, 3)),
    ("22nd Sep 2020", date(2020, 9, 22)), ("11th Nov 2021", date(2021, 11, 11)), ("31st Dec 2021", date(2021, 12, 31)),
])
def test_ordinal_dates_without_date_formatted(written, day):
    (entry,) = parse((written, "pm", "Mood", "5", "", ""), header=OLD_HEADER).diary
    assert entry.recorded_at.date() == day


def test_rows_at_the_same_time_merge_into_one_entry():
    parsed = parse(
        ("5th Jan 2022", "am", "Mood", "8", "content", "first note"),
        ("5th Jan 2022", "am", "Symptom", "1", "Neck pain (Mild)", ""),
        ("5th Jan 2022", "am", "Symptom", "3", "Back (mid) pain (Severe)", "back hurts, badly"),
        ("5th Jan 2022", "am", "Symptom", "2", "Headache (Moderate)", "first note"),
        ("5th Jan 2022", "am", "Symptom", "1", "Nausea (Mild)", ""),
        ("5th Jan 2022", "am", "Symptom", "2", "Nausea (Moderate)", ""),
        ("5th Jan 2022", "am", "Meds/Supplements", "50", "Ketamine (mg)", ""),
        ("5th Jan 2022", "am", "Meds/Supplements", "25", "Ketamine (mg)", ""),
        ("5th Jan 2022", "am", "Meds/Supplements", "10", "Oxycodone (mg)", ""),
        ("5th Jan 2022", "pm", "Mood", "4", "", ""),
        ("5th Jan 2022", "pm", "Meds/Supplements", "5", "Oxycodone (mg)", ""),
    )
    assert parsed.refused == []
    morning, evening = parsed.diary
    assert morning.measures == {"mood": pytest.approx(7.78), "pain": 7, "dose_mg": 75,
                                "other_medication": "Oxycodone 10 mg", "notes": "first note\nback hurts, badly"}
    assert morning.side_effects == {"nausea": 2} and morning.row == 2
    assert evening.measures == {"mood": pytest.approx(3.33), "other_medication": "Oxycodone 5 mg"}
    (oxycodone,) = parsed.comedications
    assert (oxycodone.name, oxycodone.start_date, oxycodone.drug_class, oxycodone.dose_text, oxycodone.source,
            oxycodone.row) == ("Oxycodone", date(2022, 1, 5), "opioid", "10 mg, 5 mg", "bearable", 10)


def test_co_medication_one_record_per_drug_and_day():
    parsed = parse(("5th Jan 2022", "am", "Meds/Supplements", "0.5", "Lorazepam (mg)", ""),
                   ("6th Jan 2022", "am", "Meds/Supplements", "1", "lorazepam (mg)", ""),
                   ("6th Jan 2022", "pm", "Meds/Supplements", "", "Lorazepam", ""))
    assert [(c.name, c.start_date, c.drug_class, c.dose_text) for c in parsed.comedications] == [
        ("Lorazepam", date(2022, 1, 5), "benzodiazepine", "0.5 mg"),
        ("lorazepam", date(2022, 1, 6), "benzodiazepine", "1 mg"),
    ]


def test_what_the_diary_has_no_place_for_is_counted():
    parsed = parse(
        ("5th Jan 2022", "am", "Energy", "3", "Ok", ""),
        ("5th Jan 2022", "all day", "Factors", "", "Coffee | Walk", ""),
        ("5th Jan 2022", "all day", "Sleep", "7:30", "In bed 23:00 - 07:00", ""),
        ("5th Jan 2022", "all day", "Gratitudes", "", "Family", ""),
        ("5th Jan 2022", "mid", "Symptom", "2", "Fatigue (Moderate)", ""),
        ("5th Jan 2022", "pm", "Symptom", "1", "Fatigue (Mild)", ""),
        ("5th Jan 2022", "pm", "Bowel Movements", "4", "", ""),
        ("5th Jan 2022", "pm", "Food Diary", "", "Lunch", "lovely soup"),
        ("5th Jan 2022", "pm", "Mood", "6", "", ""),
    )
    assert parsed.ignored == {"Energy": 1, "Factors": 1, "Sleep": 1, "Gratitudes": 1, "Symptom: Fatigue": 2,
                              "Bowel Movements": 1, "Food Diary": 1}
    (entry,) = parsed.diary
    assert entry.measures == {"mood": pytest.approx(5.56), "notes": "lovely soup"}


def test_a_note_alone_is_counted_not_imported():
    parsed = parse(("5th Jan 2022", "mid", "Factors", "", "Work", "long day"))
    assert parsed.diary == []
    assert parsed.ignored == {"Factors": 1, "notes at a time with nothing else to import": 1}


def test_quoted_fields_with_delimiters_and_line_breaks_keep_row_numbers():
    raw = (HEADER + "\r\n"
           '"5th Jan 2022","2022-01-05","Wednesday","am","Mood","6","","went out, then\r\nslept"\r\n'
           '"5th Jan 2022","2022-01-05","Wednesday","pm","Mood","seven","",""\r\n').encode("utf-8-sig")
    parsed = parse_bearable(raw, "b.csv", patient_ref="P1")
    assert [d.measures["notes"] for d in parsed.diary] == ["went out, then\r\nslept"]
    assert [(r.row, r.column, r.value) for r in parsed.refused] == [(3, "rating/amount", "seven")]


@pytest.mark.parametrize("row, column, value", [
    (("32nd Jan 2022", "am", "Mood", "5", "", ""), "date", "32nd Jan 2022"),
    (("5th Foo 2022", "am", "Mood", "5", "", ""), "date", "5th Foo 2022"),
    (("5th Jan 2022", "noon", "Mood", "5", "", ""), "time of day", "noon"),
    (("5th Jan 2022", "25:00", "Mood", "5", "", ""), "time of day", "25:00"),
    (("5th Jan 2022", "am", "Mood", "seven", "", ""), "rating/amount", "seven"),
    (("5th Jan 2022", "am", "Mood", "0", "", ""), "rating/amount", "0"),
    (("5th Jan 2022", "am", "Mood", "", "", ""), "rating/amount", ""),
    (("5th Jan 2022", "am", "Sleep quality", "6", "", ""), "rating/amount", "6"),
    (("5th Jan 2022", "am", "Symptom", "2", "Headache", ""), "detail", "Headache"),
    (("5th Jan 2022", "am", "Symptom", "2", "Nausea (Awful)", ""), "detail", "Nausea (Awful)"),
    (("5th Jan 2022", "am", "Meds/Supplements", "2", "Ketamine (ml)", ""), "detail", "Ketamine (ml)"),
    (("5th Jan 2022", "am", "Meds/Supplements", "", "Ketamine (mg)", ""), "rating/amount", ""),
    (("5th Jan 2022", "am", "Meds/Supplements", "fifty", "Ketamine (mg)", ""), "rating/amount", "fifty"),
    (("5th Jan 2022", "am", "Meds/Supplements", "1,5", "Ibuprofen (mg)", ""), "rating/amount", "1,5"),
])
def test_malformed_rows_are_refused_with_row_column_and_value(row, column, value):
    parsed = parse(("5th Jan 2022", "am", "Energy", "3", "", ""), row)
    assert [(r.row, r.column, r.value) for r in parsed.refused] == [(3, column, value)]
    assert all(r.reason for r in parsed.refused) and parsed.diary == []


def test_disagreeing_moods_at_one_time_refuse_the_later_row():
    parsed = parse(("5th Jan 2022", "am", "Mood", "5", "", ""), ("5th Jan 2022", "am", "Mood", "5", "", ""),
                   ("5th Jan 2022", "am", "Mood", "8", "", ""))
    assert [d.measures for d in parsed.diary] == [{"mood": pytest.approx(4.44)}]
    (refused,) = parsed.refused
    assert (refused.row, refused.column, refused.value) == (4, "rating/amount", "8") and "row 2" in refused.reason


def test_date_formatted_must_agree_with_date():
    raw = (HEADER + '\n"5th Jan 2022","2022-01-06","Wednesday","am","Mood","5","",""\n').encode()
    (refused,) = parse_bearable(raw, "b.csv", patient_ref="P1").refused
    assert (refused.row, refused.column, refused.value) == (2, "date formatted", "2022-01-06")


def test_extra_cells_are_refused():
    raw = (OLD_HEADER + '\n"5th Jan 2022","Wednesday","am","Mood","5","","",surprise\n').encode()
    (refused,) = parse_bearable(raw, "b.csv", patient_ref="P1").refused
    assert (refused.row, refused.column, refused.value) == (2, "column 8", "surprise")


@pytest.mark.parametrize("patient_ref", [None, "", "   "])
def test_patient_must_be_named(patient_ref):
    with pytest.raises(FileRefused) as caught:
        parse_bearable(export(("5th Jan 2022", "am", "Mood", "5", "", "")), "b.csv", patient_ref=patient_ref)
    assert caught.value.refused.row == 1 and "name the patient" in str(caught.value)


@pytest.mark.parametrize("header", ["date,time of day,category,detail", "when,category,rating/amount,detail"])
def test_missing_columns_refuse_the_file(header):
    with pytest.raises(FileRefused) as caught:
        parse_bearable((header + "\n").encode(), "b.csv", patient_ref="P1")
    assert caught.value.refused.row == 1 and caught.value.refused.column


@pytest.mark.parametrize("raw, expected", [
    (export(), True),
    (export(header=OLD_HEADER), True),
    (b'\xef\xbb\xbf"date","weekday","time of day","category","rating/amount","detail","notes"\r\n', True),
    (b"date,pain,sleep\n2026-03-01,5,6\n", False),
    (b"full_date,date,weekday,time,mood,activities,note_title,note\n", False),
    (b'{"resourceType": "Bundle"}', False),
    (b"\x00\x01\x02", False),
    (b"", False),
])
def test_looks_like_bearable(raw, expected):
    assert looks_like_bearable(raw) is expected
