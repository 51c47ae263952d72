"""The COPY payload built column by column (``bulk.copy_text``) reads back exactly what was
given: hostile text, NULLs beside empty text, floats to the last bit, naive datetimes with
microseconds; values it does not know how to write go through psycopg row by row instead."""

import math
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import insert, select

from dashboard.db.models import DiaryEntry, Patient
from dashboard.db.session import session_scope
from dashboard.ingest import bulk

HOSTILE = [
    "a\ttab", "two\nlines", "cr\ronly", "crlf\r\nend", "back\\slash", "ends with \\", "\\N", "\\\\N", "\\.",
    "\\t literally", 'say "hi"', "'=cmd|' /C calc'!A0", "é 😀 ü \u2028 \u00a0", "", "   ", "\t\n\\\r", "comma, yes",
    "\\", "N", "NULL", "null",
]
FLOATS = [0.1 + 0.2, 1 / 3, 5e-324, 1e-300, 1.7976931348623157e308, -0.0, 0.0, 6.5, 123456789.123456789, 2.0**53 + 1]


def _columns(patient_id: int, notes: list, floats: list) -> dict[str, list]:
    count = len(notes)
    start = datetime(2026, 3, 1, 21, 30, 15, 123456)
    when = [start + timedelta(minutes=i, microseconds=i) for i in range(count)]
    return {
        "patient_id": [patient_id] * count,
        "recorded_at": when,
        "utc_offset_minutes": [None if i % 3 else -300 + i for i in range(count)],
        "has_time": [i % 2 == 0 for i in range(count)],
        "diary_date": [w.date() for w in when],
        "pain": floats,
        "sleep": [None] * count,
        "notes": notes,
        "other_medication": [None if i % 2 else n for i, n in enumerate(notes)],
        "source": ["diary-csv"] * count,
    }


def _store(url: str, columns_of) -> tuple[dict, list]:
    with session_scope(url) as session:
        pid = session.execute(insert(Patient).values(ref="COPY-1", created_at=datetime(2026, 1, 1))
                              .returning(Patient.id)).scalar_one()
        columns = columns_of(pid)
        bulk.bulk_insert(session, DiaryEntry.__table__, columns)
    with session_scope(url) as session:
        names = [name for name in columns if name != "patient_id"]
        rows = session.execute(select(*(getattr(DiaryEntry, n) for n in names)).order_by(DiaryEntry.recorded_at)).all()
    return columns, [dict(zip(names, row)) for row in rows]


@pytest.mark.parametrize("chunk_rows", [bulk.COPY_CHUNK_ROWS, 4])
def test_hostile_text_nulls_floats_and_times_read_back_exactly(db_url, monkeypatch, chunk_rows):
    monkeypatch.setattr(bulk, "COPY_CHUNK_ROWS", chunk_rows)  # 4: rows across several writes
    notes = HOSTILE + [None, "x" * 5000]
    floats = (FLOATS * 3)[: len(notes)]
    floats[3] = None
    columns, stored = _store(db_url, lambda pid: _columns(pid, notes, floats))
    assert len(stored) == len(notes)
    for i, row in enumerate(stored):
        for name, value in row.items():
            expected = columns[name][i]
            assert value == expected and type(value) is type(expected), (i, name, value, expected)
            if isinstance(expected, float) and db_url.startswith("postgresql"):  # SQLite stores -0.0 as 0.0
                assert math.copysign(1, value) == math.copysign(1, expected)  # -0.0 stays negative


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite stores NaN as NULL; the text payload is PostgreSQL's
def test_infinities_and_nan_on_postgresql(db_url):
    specials = [math.inf, -math.inf, math.nan, 1.0]
    _, stored = _store(db_url, lambda pid: _columns(pid, ["a", "b", "c", "d"], specials))
    pains = [row["pain"] for row in stored]
    assert pains[:2] == [math.inf, -math.inf] and math.isnan(pains[2]) and pains[3] == 1.0


def test_values_it_does_not_write_itself_go_through_psycopg_unchanged(db_url):
    """numpy floats and ints, and floats mixed with whole numbers, are stored as the numbers they are."""
    floats = [np.float64(0.1) + np.float64(0.2), np.float64(6.5), 7, 7.25]
    _, stored = _store(db_url, lambda pid: _columns(pid, ["a", "b", "c", "d"], floats))
    assert [row["pain"] for row in stored] == [0.1 + 0.2, 6.5, 7.0, 7.25]


def test_payload_format():
    when = datetime(2026, 3, 1, 8, 0)
    text = bulk.copy_text([[1, None], [when, None], [date(2026, 3, 1), None], [True, None], [6.5, None],
                             ["a\tb\\c\nd\re", None], ["", None]])
    assert text == ("1\t2026-03-01 08:00:00\t2026-03-01\tt\t6.5\ta\\tb\\\\c\\nd\\re\t\n"
                    "\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n")
    assert bulk.copy_text([[], []]) == ""


@pytest.mark.parametrize("column", [
    [datetime(2026, 3, 1, tzinfo=timezone.utc)],  # a zone would be dropped silently by timestamp input
    [np.float64(1.5)],
    ["nul\x00inside"],
    [1, "1"],
    [True, 1],
])
def test_values_left_to_psycopg(column):
    assert bulk.copy_text([column]) is None
