"""The one rule for patient references (dashboard.patient_ref, issue 24 item 7), and every place a
reference enters asking it: importers (SQLite and PostgreSQL), look-ups, the command line, the pages."""

from __future__ import annotations

import pytest
import streamlit as st
from sqlalchemy import func, select

from dashboard import patient_ref
from dashboard.auth import accounts
from dashboard.db.audit_trail import TrailFilter, events_frame
from dashboard.db.models import ImportRecord, Patient, PatientShare
from dashboard.db.queries import patient_by_ref
from dashboard.db.session import get_engine, session_scope
from dashboard.ingest.service import import_file
from tests.test_cli import cli

# (written, the reference it is) — accepted
ACCEPTED = [
    ("DEMO-001", "DEMO-001"),
    ("  DEMO-001\t", "DEMO-001"),             # surrounding blanks are not part of it
    ("ＤＥＭＯ-001", "DEMO-001"),              # full-width look-alike: NFKC makes it what it displays as
    ("DEMO\u00a0001", "DEMO 001"),            # a no-break space is a space
    ("Ｐ１", "P1"),
    ("dëmo-ß", "dëmo-ß"),                      # letters of any script are fine
    ("e\u0301", "\u00e9"),                    # composed, as NFKC writes it
    ("X" * 100, "X" * 100),
]
# (written, what the refusal says) — refused
REFUSED = [
    ("", "the patient reference is empty"),
    ("   ", "the patient reference is empty"),
    ("x\ny", "a control character (U+000A at character 2)"),
    ("x\ty", "a control character (U+0009"),
    ("DEMO-001\x00", "a control character (U+0000"),
    ("DEMO\x85001", "a control character (U+0085"),
    ("\u200b", "an invisible formatting character (U+200B"),  # a lone zero-width space
    ("DEMO\u200b-001", "an invisible formatting character (U+200B"),
    ("\u202e100-OMED", "an invisible formatting character (U+202E"),  # right-to-left override
    ("DEMO\u2066-001\u2069", "an invisible formatting character (U+2066"),
    ("\ufeffDEMO-001", "an invisible formatting character (U+FEFF"),
    ("DEMO\u00ad001", "an invisible formatting character (U+00AD"),  # soft hyphen
    ("DEMO\ud800", "a lone surrogate (U+D800"),
    ("DEMO\ue000", "a private-use character (U+E000"),
    ("DEMO\U000e0041", "an invisible formatting character (U+E0041"),  # a tag character
    ("DEMO\u0378", "an unassigned character (U+0378"),
    ("DEMO\u2028001", "a line separator (U+2028"),
    ("DEMO\u1680001", "a space other than the plain space (U+1680"),
    ("\u3164", "an invisible character (U+1160"),  # Hangul filler (NFKC: U+1160)
    ("DEMO\u2800", "an invisible character (U+2800"),  # braille blank
    ("DEMO\ufe0f", "an invisible character (U+FE0F"),  # variation selector
    ("\u0301DEMO", "a combining mark first (U+0301"),
    ("X" * 101, "at most 100 characters"),
    ("\ufdfa" * 10, "at most 100 characters"),  # 10 characters written, 180 after NFKC
]


@pytest.mark.parametrize(("written", "ref"), ACCEPTED)
def test_a_reference_is_normalised(written, ref):
    assert patient_ref.normalise(written) == ref
    assert patient_ref.lookup(written) == ref
    assert patient_ref.problem(written) is None


@pytest.mark.parametrize(("written", "reason"), REFUSED)
def test_a_reference_that_cannot_be_one_is_refused_with_its_reason(written, reason):
    with pytest.raises(patient_ref.RefusedRef) as refused:
        patient_ref.normalise(written)
    assert reason in str(refused.value)
    assert patient_ref.lookup(written) is None


# --- imports: every importer names the place, the file is kept -----------------------------------

BAD = {"newline": "x\ny", "zero-width": "\u200b", "rtl override": "\u202eabc", "nul": "A\x00", "surrogate": "A\ud800"}
DIARY = "patient_id,date,pain\n{ref},2026-03-01,4\n"


def _csv_cell(ref: str) -> str:
    return '"' + ref.replace('"', '""') + '"'


@pytest.mark.parametrize("bad", [k for k in BAD if k not in ("nul", "surrogate")])  # a CSV cannot carry those
@pytest.mark.parametrize("fmt", ["diary-csv", "titration", "visits"])
def test_a_csv_patient_column_is_refused_with_row_column_and_value(db_url, fmt, bad):
    header, row = {
        "diary-csv": ("patient_id,date,pain", "2026-03-01,4"),
        "titration": ("patient_id,start_date,dose_mg,frequency,route", "2026-03-01,50,daily,troche"),
        "visits": ("patient_id,date,kind", "2026-03-01,telehealth"),
    }[fmt]
    raw = f"{header}\n{_csv_cell(BAD[bad])},{row}\n".encode()
    report = import_file(raw, "f.csv", url=db_url, fmt=fmt)
    assert report.status == "refused", report
    [refusal] = report.refused_rows
    assert (refusal["row"], refusal["column"], refusal["value"]) == (2, "patient_id", BAD[bad])
    assert "a patient reference cannot hold" in refusal["reason"]
    _assert_kept(db_url, raw)


@pytest.mark.parametrize("bad", list(BAD))
@pytest.mark.parametrize("fmt", ["diary-csv", "fhir", "bearable", "profile"])
def test_a_patient_named_at_import_is_refused_and_the_file_kept(db_url, fmt, bad):
    raw = {
        "diary-csv": b"date,pain\n2026-03-01,4\n",
        "fhir": b'{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org",'
                b'"code":"72514-3"}]},"effectiveDateTime":"2026-03-01","valueQuantity":{"value":4}}',
        "bearable": b"date,date formatted,weekday,time of day,category,rating/amount,detail,notes\n"
                    b"2026-03-01,2026-03-01,Sun,am,Mood,4,,\n",
        "profile": b"Day,Pain\n2026-03-01,4\n",
    }[fmt]
    options = {"fmt": fmt} if fmt != "profile" else {"profile_name": "simple"}
    if fmt == "profile":
        from dashboard.ingest.profiles import save_profile

        with session_scope(db_url) as session:
            save_profile(session, "simple", {"layout": "wide", "date_column": "Day", "date_format": "%Y-%m-%d",
                                             "columns": {"Pain": "pain"}}, created_by="test")
    report = import_file(raw, "f.dat", url=db_url, patient_ref=BAD[bad], **options)
    assert report.status == "refused", report
    [refusal] = report.refused_rows
    assert (refusal["row"], refusal["column"]) == (1, "patient")
    assert "a patient reference cannot hold" in refusal["reason"]
    assert refusal["value"] == patient_ref.quoted(BAD[bad])
    _assert_kept(db_url, raw)


FHIR_PLACES = {
    "identifier": lambda ref: {"resourceType": "Patient", "id": "p1", "identifier": [{"value": ref}]},
    "id": lambda ref: {"resourceType": "Patient", "id": ref},
    "subject identifier": lambda ref: {
        "resourceType": "Observation", "id": "o1", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
        "subject": {"identifier": {"value": ref}}, "effectiveDateTime": "2026-03-01", "valueQuantity": {"value": 4}},
}


@pytest.mark.parametrize("bad", ["newline", "zero-width", "rtl override"])
@pytest.mark.parametrize("place", list(FHIR_PLACES))
def test_a_fhir_patient_reference_is_refused_with_its_path(db_url, place, bad):
    import json

    raw = json.dumps(FHIR_PLACES[place](BAD[bad])).encode()
    report = import_file(raw, "f.json", url=db_url)
    assert report.status == "refused", report
    [refusal] = report.refused_rows
    assert refusal["column"] == {"identifier": "identifier[0].value", "id": "id",
                                 "subject identifier": "subject"}[place]
    assert "a patient reference cannot hold" in refusal["reason"]
    _assert_kept(db_url, raw)


def _assert_kept(url: str, raw: bytes) -> None:
    with session_scope(url) as session:
        record = session.scalars(select(ImportRecord).order_by(ImportRecord.id.desc())).first()
        assert (record.status, record.original) == ("refused", raw)
        assert session.scalar(select(func.count(Patient.id))) == 0


def test_a_look_alike_reference_is_the_patient_it_displays_as(db_url):
    """ＤＥＭＯ-001 imports into DEMO-001, finds DEMO-001, and is one reading of the same file."""
    raw = b"date,pain\n2026-03-01,4\n"
    first = import_file(raw, "d.csv", url=db_url, patient_ref="DEMO-001")
    again = import_file(raw, "d.csv", url=db_url, patient_ref="ＤＥＭＯ-001")
    assert (first.status, again.status) == ("imported", "already-imported")
    csv = import_file(b"patient_id,date,pain\n\xef\xbc\xa4\xef\xbc\xa5\xef\xbc\xad\xef\xbc\xaf-001,2026-03-02,5\n",
                      "c.csv", url=db_url)
    assert (csv.status, csv.patients, csv.patients_created) == ("imported", ["DEMO-001"], [])
    with session_scope(db_url) as session:
        assert list(session.scalars(select(Patient.ref))) == ["DEMO-001"]
        assert patient_by_ref(session, " ＤＥＭＯ-001 ").ref == "DEMO-001"


# --- look-ups: an invalid reference finds no patient, never a traceback ----------------------------

LOOKUPS = ["x\ny", "\u200b", "\u202eDEMO-001", "DEMO-001\x00", "DEMO-001\ud800", "", "X" * 5000]


@pytest.mark.parametrize("ref", LOOKUPS)
def test_a_look_up_with_an_invalid_reference_finds_no_patient(db_url, ref):
    import_file(b"date,pain\n2026-03-01,4\n", "d.csv", url=db_url, patient_ref="DEMO-001")
    with session_scope(db_url) as session:
        accounts.add_user(session, username="dr.a", display_name="A", role="clinician", password="a-long-password-2026")
    with session_scope(db_url) as session:
        assert patient_by_ref(session, ref) is None
        with pytest.raises(accounts.AccountError):
            accounts.share(session, username="dr.a", patient_ref=ref)
        assert events_frame(session, TrailFilter(patient_ref=ref)).empty if ref else True


@pytest.mark.parametrize("ref", ["x\ny", "\u200b", "\u202eDEMO-001", "DEMO-001\udcff"])
@pytest.mark.parametrize("command", [("summary", "{ref}"), ("export", "--patient", "{ref}"),
                                     ("report", "{ref}", "-o", "{out}")])
def test_the_command_line_finds_no_patient_for_an_invalid_reference(db_url, tmp_path, command, ref):
    import_file(b"date,pain\n2026-03-01,4\n", "d.csv", url=db_url, patient_ref="DEMO-001")
    args = [a.format(ref=ref, out=tmp_path / "r.pdf") for a in command]
    result = cli(db_url, *args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "no patient" in result.stderr


def test_the_command_line_reads_a_look_alike_as_the_patient(db_url):
    import_file(b"date,pain\n2026-03-01,4\n", "d.csv", url=db_url, patient_ref="DEMO-001")
    with session_scope(db_url) as session:
        accounts.add_user(session, username="dr.a", display_name="A", role="clinician", password="a-long-password-2026")
    summary = cli(db_url, "summary", "ＤＥＭＯ-001", "--json")
    assert summary.returncode == 0, summary.stderr
    assert '"ref": "DEMO-001"' in summary.stdout
    share = cli(db_url, "user", "share", "dr.a", " ＤＥＭＯ-001")
    assert share.returncode == 0, share.stderr
    refused = cli(db_url, "user", "share", "dr.a", "DEMO-001\u200b")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count()).select_from(PatientShare)) == 1


@pytest.mark.parametrize(("ref", "opens"), [("DEMO-001", True), ("ＤＥＭＯ-001", True), (" DEMO-001 ", True),
                                            ("DEMO-001\x00", False), ("x\ny", False), ("\u202eDEMO-001", False),
                                            ("\u200b", False)])
def test_the_review_page_address_opens_a_patient_only_by_a_valid_reference(db_url, monkeypatch, ref, opens):
    from tests.app.conftest import app, texts

    import_file(b"date,pain\n2026-03-01,4\n", "d.csv", url=db_url, patient_ref="DEMO-001")
    with session_scope(db_url) as session:
        accounts.add_user(session, username="dr.a", display_name="A", role="clinician", password="a-long-password-2026")
        session.flush()
        accounts.share(session, username="dr.a", patient_ref="DEMO-001")
    with session_scope(db_url) as session:
        user = accounts.resolve_user(session, "dr.a")
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        at = app("review", user=user, patient=ref).run()
        assert not at.exception
        refused = "This patient is not available to you" in " ".join(e.value for e in at.error)
        assert refused is not opens
        if opens:
            assert "DEMO-001" in texts(at)
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
        get_engine(db_url).dispose()


@pytest.mark.parametrize(("typed", "ref"), [("ＤＥＭＯ-001", "DEMO-001"), ("DEMO\u200b-001", None), ("\u202eabc", None)])
def test_the_import_pages_patient_box_asks_the_rule(db_url, monkeypatch, typed, ref):
    from tests.app.conftest import account, app

    with session_scope(db_url) as session:
        accounts.add_user(session, username="sam", display_name="Sam", role="staff", password=None)
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    monkeypatch.delenv("DASHBOARD_DEMO", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    raw = b"date,pain\n2026-03-01,4\n"
    try:
        at = app("import", user=account(db_url, "sam")).run()
        at.text_input(key="patient_ref").input(typed).run()
        at.file_uploader(key="upload").upload("d.csv", raw, "application/octet-stream").run()
        assert not at.exception, at.exception
        if ref is None:
            (refused,) = [d.value for d in at.dataframe if "reason" in d.value.columns]
            assert refused[["row", "column"]].to_dict("records") == [{"row": "1", "column": "patient"}]
            assert "a patient reference cannot hold" in refused["reason"][0]
            at.button(key="keep_file").click().run()
            _assert_kept(db_url, raw)
        else:
            at.button(key="do_import").click().run()
            assert not at.exception, at.exception
            with session_scope(db_url) as session:
                assert list(session.scalars(select(Patient.ref))) == [ref]
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
        get_engine(db_url).dispose()
