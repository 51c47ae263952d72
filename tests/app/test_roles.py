"""Roles that fit a clinic (issue 23, item 3), on both databases.

- The clinic-wide thresholds: administrators and the clinic's lead clinician change them
  (audited with the old and new values); any other clinician, and staff, are refused in words
  through the use case and the command line (the page: tests/app/test_settings.py).
- The lead is marked by an administrator (the command line's ``user lead``, the Accounts page), audited.
- Staff's visit list: the clinic's booked and overdue visits, no clinical figure; staff book
  visits for any patient; a clinician's visit list is refused.
- The worklist and the visit list download as spreadsheet-safe CSV, audited as exports.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

import pytest
import streamlit as st
from sqlalchemy import update

from dashboard import cli
from dashboard.auth import accounts
from dashboard.config import THRESHOLD, Thresholds
from dashboard.db.clinic_records import VisitForm
from dashboard.db.models import Patient
from dashboard.db.session import session_scope
from dashboard.db.settings_store import load_thresholds
from dashboard.ingest.service import import_file
from dashboard.usecases import NotAllowed, exports, patients, records, run, settings
from tests.app.conftest import account, app, audit_rows, last_audit_id, patient_id, texts

TODAY = date.today()
# A name a spreadsheet would run as a formula (OWASP CSV injection), and one starting with a tab.
FORMULA_NAME = "=HYPERLINK(\"http://evil.example\",\"Ana\")"
TAB_NAME = "\tTab Name"


def _diary(ref: str) -> bytes:
    rows = "".join(f"{ref},{TODAY - timedelta(days=ago)}T20:00,{5 + ago % 3}\n" for ago in range(1, 11))
    return f"patient_id,date,pain\n{rows}".encode()


@pytest.fixture
def roles(db_url, monkeypatch) -> str:
    """P-RIV (shared with dr.plain) and P-CHE (shared with no one); dr.lead the clinic's lead,
    dr.plain a clinician, sam staff, alex administrator; a visit booked for each patient, one overdue."""
    for ref in ("P-RIV", "P-CHE"):
        assert import_file(_diary(ref), f"{ref}.csv", url=db_url, actor="test").status == "imported"
    with session_scope(db_url) as session:
        for username, role in (("dr.lead", "clinician"), ("dr.plain", "clinician"), ("sam", "staff"),
                               ("alex", "admin")):
            accounts.add_user(session, username=username, display_name=username, role=role, password=None)
        accounts.set_clinic_lead(session, "dr.lead", True)
        accounts.share(session, username="dr.plain", patient_ref="P-RIV")
        session.execute(update(Patient).where(Patient.ref == "P-RIV").values(name=FORMULA_NAME))
        session.execute(update(Patient).where(Patient.ref == "P-CHE").values(name=TAB_NAME))
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    monkeypatch.delenv("DASHBOARD_DEMO", raising=False)
    sam = account(db_url, "sam")
    # Booked four days ago for P-CHE (overdue now), and in two days for P-RIV.
    run(records.save_visit, sam, patient_id(db_url, "P-CHE"), VisitForm(TODAY - timedelta(days=4), "in person", True),
        today=TODAY - timedelta(days=4), url=db_url)
    run(records.save_visit, sam, patient_id(db_url, "P-RIV"), VisitForm(TODAY + timedelta(days=2), "telehealth", True),
        url=db_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield db_url
    st.cache_data.clear()
    st.cache_resource.clear()


def _stored(url: str) -> Thresholds:
    with session_scope(url) as session:
        return load_thresholds(session)


def _last(url: str, before: int, action: str) -> list[tuple]:
    return [r for r in audit_rows(url, before) if r[1] == action]


# --- thresholds ---------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["dr.plain", "sam"])
def test_a_clinician_not_the_lead_and_staff_cannot_change_thresholds_through_the_use_case(roles, username):
    before = last_audit_id(roles)
    with pytest.raises(NotAllowed) as refused:
        run(settings.change_thresholds, account(roles, username), {"onset_days": 21}, url=roles)
    assert str(refused.value) == (
        f"Only administrators and the clinic's lead clinician change “{THRESHOLD['onset_days'].label}”. Your account "
        "reads the thresholds; nothing was saved. Ask an administrator or the clinic's lead clinician.")
    assert "onset_days" not in str(refused.value).split("“")[0]  # the person reads the label, not the key
    assert _stored(roles) == Thresholds()
    rows = _last(roles, before, "settings_change")
    assert [(r[0], r[2]) for r in rows] == [(username, "denied")]
    assert json.loads(rows[0][4]) == {"refused": ["onset_days"]}
    assert run(settings.changeable, account(roles, username), url=roles) == ()


@pytest.mark.parametrize("username", ["dr.lead", "alex"])
def test_the_lead_and_an_administrator_change_thresholds_audited_with_old_and_new(roles, username):
    before = last_audit_id(roles)
    changed = run(settings.change_thresholds, account(roles, username), {"onset_days": 21, "bp_systolic_high": 150},
                  url=roles)
    assert changed == ["onset_days", "bp_systolic_high"]
    assert _stored(roles) == Thresholds(onset_days=21, bp_systolic_high=150.0)
    rows = _last(roles, before, "settings_change")
    assert [(r[0], r[2]) for r in rows] == [(username, "ok")]
    assert json.loads(rows[0][4]) == {"onset_days": {"from": 14, "to": 21},
                                      "bp_systolic_high": {"from": 160.0, "to": 150.0}}


def test_the_lead_does_not_set_the_automatic_logoff(roles):
    lead = account(roles, "dr.lead")
    assert "idle_logoff_minutes" not in run(settings.changeable, lead, url=roles)
    with pytest.raises(NotAllowed, match="^Only administrators change “Idle minutes"):
        run(settings.change_thresholds, lead, {"onset_days": 21, "idle_logoff_minutes": 60}, url=roles)
    assert _stored(roles) == Thresholds()  # not even the allowed key: all or nothing


def test_a_lead_no_longer_the_lead_is_refused_at_once(roles):
    with session_scope(roles) as session:
        assert accounts.set_clinic_lead(session, "dr.lead", False) is True
    with pytest.raises(NotAllowed):
        run(settings.change_thresholds, account(roles, "dr.lead"), {"onset_days": 21}, url=roles)


def test_only_a_clinician_is_marked_as_the_lead(roles):
    with session_scope(roles) as session, pytest.raises(accounts.AccountError, match="only a clinician"):
        accounts.set_clinic_lead(session, "sam", True)


# --- the command line ---------------------------------------------------------------------------

def test_the_command_line_refuses_a_clinician_not_the_lead_in_words(roles, capsys):
    before = last_audit_id(roles)
    code = cli.main(["settings", "--set", "onset_days=21", "--as", "dr.plain"])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_REFUSED and out == ""
    assert err.startswith("Only administrators and the clinic's lead clinician change “Onset")
    assert _stored(roles) == Thresholds()
    assert [(r[0], r[2]) for r in _last(roles, before, "settings_change")] == [("dr.plain", "denied")]


@pytest.mark.parametrize("as_", [["--as", "dr.lead"], ["--as", "alex"], []], ids=["lead", "admin", "operator"])
def test_the_command_line_changes_thresholds_for_the_lead_the_administrator_and_the_operator(roles, capsys, as_):
    before = last_audit_id(roles)
    code = cli.main(["settings", "--set", "onset_days=21", "--set", "effective_category=substantial", *as_])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_OK, err
    assert out.strip() == "settings: saved onset_days, effective_category"
    assert _stored(roles) == Thresholds(onset_days=21, effective_category="substantial")
    (row,) = _last(roles, before, "settings_change")
    assert row[0] == (as_[1] if as_ else row[0]) and row[2] == "ok" and (as_ or row[0].startswith("cli:"))
    assert json.loads(row[4]) == {"onset_days": {"from": 14, "to": 21},
                                  "effective_category": {"from": "moderate", "to": "substantial"}}


def test_the_command_line_lists_thresholds_with_labels_units_and_who_changes_them(roles, capsys):
    assert cli.main(["settings"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert ("onset_days: 14 days  (Onset: days after a step starts before its response is judged; default 14 days; "
            "allowed 0 to 90 days; changed by administrators and the clinic's lead clinician)") in out
    assert "idle_logoff_minutes: 15 minutes" in out and out.rstrip().endswith("changed by administrators)")


def test_user_lead_marks_and_unmarks_the_clinics_lead_audited(roles, capsys):
    before = last_audit_id(roles)
    assert cli.main(["user", "lead", "dr.plain"]) == cli.EXIT_OK
    assert account(roles, "dr.plain").clinic_lead
    assert cli.main(["settings", "--set", "onset_days=21", "--as", "dr.plain"]) == cli.EXIT_OK
    assert cli.main(["user", "lead", "dr.plain", "--off"]) == cli.EXIT_OK
    assert not account(roles, "dr.plain").clinic_lead
    assert cli.main(["user", "lead", "sam"]) == cli.EXIT_REFUSED  # staff are never the lead
    out, err = capsys.readouterr()
    assert "only a clinician is marked as the clinic's lead" in err
    rows = _last(roles, before, "user_lead")
    assert [json.loads(r[4]) for r in rows] == [{"user": "dr.plain", "lead": True, "was": False},
                                                {"user": "dr.plain", "lead": False, "was": True}]
    assert all(r[0].startswith("cli:") and r[2] == "ok" for r in rows)
    assert cli.main(["user", "list"]) == cli.EXIT_OK
    listing = {line.split()[0]: line.split()[2] for line in capsys.readouterr().out.splitlines()}
    assert listing["dr.lead"] == "lead" and listing["dr.plain"] == "active"


def test_an_administrator_marks_the_lead_on_the_accounts_page_audited(roles):
    at = app("admin", user=account(roles, "alex")).run()
    at.selectbox(key="lead_username").set_value("dr.plain").run()
    before = last_audit_id(roles)
    next(b for b in at.button if b.key == "lead_change").click().run()
    assert not at.exception and not at.error
    assert account(roles, "dr.plain").clinic_lead
    rows = _last(roles, before, "user_lead")
    assert [(r[0], r[2], json.loads(r[4])) for r in rows] == [
        ("alex", "ok", {"user": "dr.plain", "lead": True, "was": False})]
    assert "yes" in set(at.dataframe[0].value["clinic lead"])


# --- staff's visit list ---------------------------------------------------------------------------

def test_staff_list_the_clinics_visits_with_no_clinical_figure(roles):
    listing = run(patients.clinic_visits, account(roles, "sam"), as_of=TODAY, start=TODAY,
                  end=TODAY + timedelta(days=7), url=roles)
    assert [(r.ref, r.kind, r.overdue) for r in listing.rows] == [("P-CHE", "in person", True),
                                                                  ("P-RIV", "telehealth", False)]
    assert all(r.diary_days_30d == 10 for r in listing.rows)
    assert set(listing.rows[0].json()) == {"patient", "name", "date", "kind", "status", "diary_days_30d"}
    assert sorted(v.split(" · ")[-1] for v in listing.bookable.values()) == ["P-CHE", "P-RIV"]


@pytest.mark.parametrize("username", ["dr.plain", "dr.lead", "alex"])
def test_the_clinics_visit_list_is_refused_to_everyone_but_staff(roles, username):
    before = last_audit_id(roles)
    with pytest.raises(NotAllowed, match="front desk"):
        run(patients.clinic_visits, account(roles, username), as_of=TODAY, start=TODAY, end=TODAY, url=roles)
    with pytest.raises(NotAllowed, match="front desk"):
        run(exports.visit_list_csv, account(roles, username), as_of=TODAY, start=TODAY, end=TODAY, url=roles)
    assert [(r[0], r[1], r[2]) for r in audit_rows(roles, before)] == [
        (username, "view_worklist", "denied"), (username, "export", "denied")]


def test_staff_book_for_any_patient_but_a_clinician_only_for_shared_ones(roles):
    when = TODAY + timedelta(days=5)
    form = VisitForm(when, "in person", True)
    assert run(records.save_visit, account(roles, "sam"), patient_id(roles, "P-CHE"), form, url=roles)
    with pytest.raises(NotAllowed):
        run(records.save_visit, account(roles, "dr.plain"), patient_id(roles, "P-CHE"), form, url=roles)
    with pytest.raises(NotAllowed):  # an infusion carries a dose: a clinician's
        run(records.save_visit, account(roles, "sam"), patient_id(roles, "P-CHE"),
            VisitForm(when, "infusion", True, infusion_dose_mg=30, infusion_route="IV"), url=roles)


# --- the CSV downloads ------------------------------------------------------------------------------

def _cells(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # a spreadsheet reads it as UTF-8
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_visit_list_downloads_as_spreadsheet_safe_csv_audited(roles):
    before = last_audit_id(roles)
    data = run(exports.visit_list_csv, account(roles, "sam"), as_of=TODAY, start=TODAY,
               end=TODAY + timedelta(days=7), url=roles)
    header, *lines = _cells(data)
    assert header == ["Patient reference", "Patient name", "Date", "Kind", "Status", "Diary days in the last 30"]
    assert lines == [["P-CHE", "'" + TAB_NAME, str(TODAY - timedelta(days=4)), "in person", "overdue", "10"],
                     ["P-RIV", "'" + FORMULA_NAME, str(TODAY + timedelta(days=2)), "telehealth", "booked", "10"]]
    (row,) = audit_rows(roles, before)
    assert (row[0], row[1], row[2]) == ("sam", "export", "ok")
    assert json.loads(row[4]) | {"as_of": None} == {
        "what": "visit list", "format": "csv", "as_of": None, "from": str(TODAY), "to": str(TODAY + timedelta(days=7)),
        "patients": ["P-CHE", "P-RIV"], "visits": 2}


def test_the_worklist_downloads_as_spreadsheet_safe_csv_audited(roles):
    before = last_audit_id(roles)
    data = run(exports.worklist_csv, account(roles, "dr.plain"), as_of=TODAY, start=TODAY,
               end=TODAY + timedelta(days=7), everyone=True, url=roles)
    header, *lines = _cells(data)
    assert header[:4] == ["Patient reference", "Needs attention", "Patient", "Visit"]
    assert [line[0] for line in lines] == ["P-RIV"]  # only the patients shared with her
    assert lines[0][2] == f"'{FORMULA_NAME} · P-RIV"
    assert not any(cell[:1] in "=+-@\t\r" for line in lines for cell in line if cell)
    (row,) = audit_rows(roles, before)
    assert (row[0], row[1], row[2]) == ("dr.plain", "export", "ok")
    detail = json.loads(row[4])
    assert (detail["what"], detail["format"], detail["patients"]) == ("worklist", "csv", ["P-RIV"])


def test_the_worklist_page_offers_the_csv_download(roles):
    at = app("worklist", user=account(roles, "dr.plain")).run()
    at.radio(key="worklist_view").set_value("All my patients").run()
    assert not at.exception
    assert "worklist_csv" in texts(at) and "Download CSV" in texts(at)
