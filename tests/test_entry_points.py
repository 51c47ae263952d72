"""Every door to a patient's data, tried by a clinician the patient is NOT shared with.

Each entry point must refuse and show nothing of the patient's stored values. The lists are
checked against the code: a new command-line subcommand (from the argparse parser), a new
page (from ``dashboard.navigation``) or a new public function of a use case (``dashboard.usecases``,
the one way in for the pages, the command line and the page cache) fails
``test_every_entry_point_is_listed`` until it is listed here, with a case or with the reason it
touches no patient data.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import pkgutil
from contextlib import contextmanager
from datetime import date, datetime
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import httpx

import pytest
import streamlit as st

from dashboard import cli, loaders, navigation, usecases
from dashboard.ingest.service import STORED_HIDDEN
from dashboard.auth import accounts
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file
from dashboard.ingest.writer import Resolution
from dashboard.usecases import accounts as account_cases
from dashboard.usecases import audit_trail, ehr_launch, exports, imports, patients, records, run, share_links
from tests.app.conftest import account, app, audit_rows, last_audit_id, texts
from tests.smart_ehr import CLIENT_ID, SmartEhr

SECRET = "chen-secret-note-7731"  # a stored value of dr.chen's patient: must never reach dr.rivera
STORED = f"patient_id,date,pain,notes\nP-CHE,2026-03-01T21:00,6,{SECRET}\nP-CHE,2026-03-02T21:00,5,\n"
# The same entry with other values: a dry run by someone allowed would list the stored note as a conflict.
HOSTILE = "patient_id,date,pain,notes\nP-CHE,2026-03-01T21:00,9,overwrite\nP-CHE,2026-03-05T21:00,4,new\n"
LONG = "who,day,Knee Pain\nP-CHE,2026-03-01,9\nP-CHE,2026-03-06,3\n"  # another app's layout
PROFILE = {"header_row": 1, "layout": "wide", "date_column": "day", "date_format": "%Y-%m-%d",
           "patient_column": "who", "columns": {"Knee Pain": "pain"}}
INTRUDER = "dr.rivera"


@pytest.fixture
def clinic(sqlite_url, monkeypatch, tmp_path):
    """dr.rivera (P-RIV) and dr.chen (P-CHE, with a secret note and a proposed step); a saved profile."""
    for ref, text in (("P-RIV", STORED.replace("P-CHE", "P-RIV").replace(SECRET, "riv")), ("P-CHE", STORED)):
        assert import_file(text.encode(), f"{ref}.csv", url=sqlite_url, actor="test").status == "imported"
    titration = "patient_id,start_date,dose_mg,frequency,route\nP-CHE,2026-03-01,50,daily,troche\n"
    import_file(titration.encode(), "t.csv", url=sqlite_url, actor="test", fmt="titration")
    with session_scope(sqlite_url) as session:
        for username in ("dr.rivera", "dr.chen"):
            accounts.add_user(session, username=username, display_name=username, role="clinician", password=None)
        accounts.share(session, username="dr.rivera", patient_ref="P-RIV")
        accounts.share(session, username="dr.chen", patient_ref="P-CHE")
        from dashboard.ingest.profiles import save_profile

        save_profile(session, "longapp", PROFILE, created_by="test")
        from dashboard.db import share_links
        from dashboard.db.queries import patient_by_ref

        share_links.create(session, patient_by_ref(session, "P-CHE").id, created_by="dr.chen", now=datetime(2026, 3, 1),
                           expires_at=datetime(2099, 1, 1), max_uses=None)  # link 1: dr.chen's patient's
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DASHBOARD_DEMO", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    (tmp_path / "hostile.csv").write_text(HOSTILE)
    (tmp_path / "long.csv").write_text(LONG)
    yield sqlite_url
    st.cache_data.clear()
    st.cache_resource.clear()


def _chen_patient(url: str) -> loaders.PatientInfo:
    from dashboard.db.queries import patient_by_ref

    with session_scope(url) as session:
        p = patient_by_ref(session, "P-CHE")
        return loaders.PatientInfo(p.id, p.ref, p.name, p.birth_year, p.condition)


# --- the command line -------------------------------------------------------------------------

# Every subcommand that reads or writes patient data, with the ways to try it; {dir} is tmp_path.
CLI_CASES = {
    "import": [
        ["import", "{dir}/hostile.csv", "--as", INTRUDER],
        ["import", "{dir}/hostile.csv", "--as", INTRUDER, "--dry-run", "--json"],
        ["import", "{dir}/hostile.csv", "--as", INTRUDER, "--accept-valid"],
        ["import", "{dir}/hostile.csv", "--as", INTRUDER, "--resolve", "take", "--reason", "patient phoned"],
        ["import", "{dir}/long.csv", "--profile", "longapp", "--as", INTRUDER, "--json"],
        ["import", "{dir}/long.csv", "--profile", "longapp", "--as", INTRUDER, "--dry-run"],
        ["import", "{dir}/hostile.csv", "--as", "nobody"],
        ["import", "{dir}/hostile.csv", "--as", "nobody", "--dry-run"],
    ],
    "export": [
        ["export", "--patient", "P-CHE", "--as", INTRUDER],
        ["export", "--patient", "P-CHE", "--as", "nobody"],
        ["export", "--patient", "P-CHE", "--format", "fhir", "--as", INTRUDER],
        ["export", "--patient", "P-CHE", "--format", "fhir", "--as", "nobody"],
    ],
    "summary": [
        ["summary", "P-CHE", "--json", "--as", INTRUDER],
        ["summary", "P-CHE", "--json", "--as", "nobody"],
        ["summary", "P-CHE", "--note", "--as", INTRUDER],
        ["summary", "P-CHE", "--note", "--as", "nobody"],
    ],
    "report": [
        ["report", "P-CHE", "-o", "{dir}/report.pdf", "--as", INTRUDER],
        ["report", "P-CHE", "-o", "{dir}/report.pdf", "--as", "nobody"],
    ],
    # As INTRUDER it prints their own cohort (tests/analysis/test_cohort.py checks whose figures).
    "cohort": [
        ["cohort", "--json", "--as", "nobody"],
    ],
    # dr.rivera may run the worklist: it lists only her patients (test_the_worklist_lists_only_shared_patients).
    "worklist": [
        ["worklist", "--all", "--json", "--as", "nobody"],
    ],
    # No patient data, but a change only administrators and the clinic's lead make (issue 23).
    "settings": [
        ["settings", "--set", "onset_days=21", "--as", INTRUDER],
        ["settings", "--set", "onset_days=21", "--as", "nobody"],
    ],
    # A patient's upload links (issue 22): made, listed, revoked only by those who import for the patient.
    "share-link": [
        ["share-link", "create", "P-CHE", "--as", INTRUDER],
        ["share-link", "create", "P-CHE", "--days", "90", "--uses", "3", "--as", INTRUDER],
        ["share-link", "create", "P-CHE", "--as", "nobody"],
        ["share-link", "list", "P-CHE", "--as", INTRUDER],
        ["share-link", "list", "P-CHE", "--json", "--as", "nobody"],
        ["share-link", "revoke", "1", "--as", INTRUDER],
        ["share-link", "revoke", "1", "--as", "nobody"],
    ],
}
# Subcommands audited under another action than their name.
CLI_AUDIT_ACTION = {"cohort": "view_cohort", "worklist": "view_worklist", "settings": "settings_change",
                    "share-link create": "share_link_create", "share-link list": "share_link_list",
                    "share-link revoke": "share_link_revoke"}


def _cli_action(argv: list[str]) -> str:
    return CLI_AUDIT_ACTION.get(" ".join(argv[:2]), CLI_AUDIT_ACTION.get(argv[0], argv[0]))
# Subcommands with no --as: the server's operator, who can read the database directly anyway (README).
# ``profile`` reads a file (suggest) or stores a mapping (save): no patient data either way.
# ``precompute`` stores every patient's worklist snapshot (derived figures) and prints only counts.
CLI_OPERATOR_ONLY = {"demo", "migrate", "audit", "user", "run", "backup", "restore", "bench", "profile",
                     "precompute"}


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _takes_as(sub: argparse.ArgumentParser) -> bool:
    """``--as`` on the subcommand, or on every one of its own subcommands (``share-link create ...``)."""
    nested = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
    if nested:
        return all(_takes_as(p) for a in nested for p in a.choices.values())
    return any("--as" in a.option_strings for a in sub._actions)


def _cli_cases():
    for command, cases in CLI_CASES.items():
        for argv in cases:
            yield pytest.param(argv, id=" ".join(argv).replace("{dir}/", ""))


@pytest.mark.parametrize("argv", list(_cli_cases()))
def test_the_command_line_refuses_another_clinicians_patient(clinic, tmp_path, capsys, argv):
    from tests.dbdump import dump

    before_rows, before = last_audit_id(clinic), dump(clinic, skip=("audit_event",))
    code = cli.main([a.replace("{dir}", str(tmp_path)) for a in argv])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_REFUSED, (out, err)
    assert SECRET not in out + err and "overwrite" not in err
    after = dump(clinic, skip=("audit_event",))
    # Nothing written, no share taken; a refused import keeps only its own file (import-formats.md v2).
    assert {k: v for k, v in after.items() if k != "import_record"} == \
        {k: v for k, v in before.items() if k != "import_record"}
    kept = [r for r in after["import_record"] if r not in before["import_record"]]
    assert len(kept) == (1 if argv[0] == "import" and "--dry-run" not in argv and "nobody" not in argv else 0)
    assert all("refused" in r and SECRET.encode() not in r for r in kept)
    assert not (tmp_path / "report.pdf").exists()  # no report file for a refused patient
    if "--as" in argv and argv[argv.index("--as") + 1] == "nobody":
        assert len(err.strip().splitlines()) == 1 and "not an enabled account" in err
        rows = audit_rows(clinic, before_rows)
        assert [(r[0].startswith("cli:"), r[1], r[2]) for r in rows] == [
            (True, _cli_action(argv), "denied")]
        assert '"nobody"' in rows[0][4]
        assert not any(r[0] == "nobody" for r in rows)  # an unknown name never becomes the audit actor
    elif "--dry-run" not in argv:
        action = _cli_action(argv)
        assert [(r[0], r[1], r[2]) for r in audit_rows(clinic, before_rows)][-1:] in (
            [(INTRUDER, action, "denied")], [(INTRUDER, action, "refused")])


@pytest.mark.parametrize("args", [["--all"], ["--all", "--json"], ["--from", "2026-03-01", "--json"]])
def test_the_worklist_lists_only_shared_patients(clinic, capsys, args):
    code = cli.main(["worklist", "--as-of", "2026-03-10", *args, "--as", INTRUDER])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_OK, err
    assert "P-CHE" not in out and SECRET not in out
    if "--all" in args:
        assert "P-RIV" in out


# --- the pages ----------------------------------------------------------------------------------

def _page_paths() -> set[str]:
    """The url path of every page ``navigation`` builds (read from its source: an ``st.Page``
    outside a running app cannot tell its own path)."""
    import re

    builders = [f for name, f in inspect.getmembers(navigation, inspect.isfunction)
                if name.endswith("_page") and name != "login_page"]
    return {re.search(r'url_path="([^"]+)"', inspect.getsource(f)).group(1) for f in builders}


def _import_page(url):
    at = app("import", user=account(url, INTRUDER)).run()
    at.file_uploader(key="upload").upload("hostile.csv", HOSTILE.encode(), "text/csv").run()
    assert "not among your patients" in texts(at)
    assert not [b for b in at.button if b.key == "do_import"]
    return at


def _plain_page(path):
    return lambda url: app(path, user=account(url, INTRUDER), patient="P-CHE").run()


LAUNCH_BACK = "http://dashboard.test/launch"
# The EHR's record of dr.chen's patient: known there by the MR number P-CHE.
CHEN_IN_EHR = {"resourceType": "Patient", "id": "chen-1", "identifier": [{"type": {"coding": [{
    "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}, "value": "P-CHE"}]}
CHEN_PAIN = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/chen-1"},
             "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
             "effectiveDateTime": "2026-03-01T21:00:00Z", "valueQuantity": {"value": 9, "unit": "{score}"}}


@contextmanager
def _ehr_knowing_chen():
    """A test EHR (tests/smart_ehr.py) the clinic trusts, holding dr.chen's patient."""
    with SmartEhr(redirect_uri=LAUNCH_BACK) as ehr, mock.patch.dict(os.environ, {
            "DASHBOARD_SMART_ISS": ehr.iss, "DASHBOARD_SMART_CLIENT_ID": CLIENT_ID,
            "DASHBOARD_SMART_REDIRECT_URI": LAUNCH_BACK}):
        ehr.add_patient(CHEN_IN_EHR, CHEN_PAIN)
        yield ehr


def _ehr_answer(authorize_url: str) -> dict:
    location = httpx.get(authorize_url, follow_redirects=False).headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _launch_page(url):
    """dr.rivera opens dr.chen's patient from the EHR's chart: /launch, the EHR, /launch again."""
    user = account(url, INTRUDER)
    with _ehr_knowing_chen() as ehr:
        first = app("launch", user=user)
        first.query_params["iss"], first.query_params["launch"] = ehr.iss, ehr.new_launch("chen-1")
        first.run()
        back = _ehr_answer(next(b.proto.url for b in first.get("link_button")))
        at = app("launch", user=user)
        for key, value in back.items():
            at.query_params[key] = value
        at.run()
    assert any("not shared with you" in e.value for e in at.error)
    return at


def _finish_launch(url, user, patient):
    with _ehr_knowing_chen() as ehr:
        start, pending = run(ehr_launch.start_launch, user, ehr.iss, ehr.new_launch("chen-1"), url=url)
        back = _ehr_answer(start)
        return run(ehr_launch.finish_launch, user, pending, state=back["state"], code=back["code"], url=url)


def _import_ehr_record(url, user, patient):
    raw = json.dumps({"resourceType": "Bundle", "type": "collection",
                      "entry": [{"resource": CHEN_IN_EHR}, {"resource": CHEN_PAIN}]}).encode()
    report = imports.import_ehr_record(user, raw, "EHR record.json", url=url)
    assert report.status == "refused" and "not among your patients" in report.message
    return json.dumps(report.as_dict(), default=str)


PAGE_CASES = {
    "worklist": _plain_page("worklist"),
    "patients": _plain_page("patients"),
    "review": _plain_page("review"),
    "import": _import_page,
    "settings": _plain_page("settings"),
    "audit": _plain_page("audit"),
    "admin": _plain_page("admin"),
    "cohort": _plain_page("cohort"),
    "launch": _launch_page,
}


@pytest.mark.parametrize("path", sorted(PAGE_CASES))
def test_every_page_shows_nothing_of_another_clinicians_patient(clinic, path):
    at = PAGE_CASES[path](clinic)
    assert not at.exception
    assert SECRET not in texts(at)
    if path == "review":
        assert any("not available" in e.value for e in at.error)


# --- the use cases and the page cache (below them nothing asks who is looking: tests/test_architecture.py) --

def _import(**kw):
    def call(url, user, patient):
        raw = (LONG if "profile_name" in kw else HOSTILE).encode()
        report = imports.import_file(user, raw, "f.csv", url=url, **kw)
        assert report.status == "refused" and "not among your patients" in report.message
        return json.dumps(report.as_dict(), default=str)
    return call


def _a_rule() -> str:
    from dashboard.analysis.flag_rules import RULES

    return next(iter(RULES))






def _page_report(url, user, patient):
    """The review page's download, clicked by someone the patient is not (or no longer) shared with."""
    from dashboard.stored.review import patient_review
    from dashboard.db.queries import imports_frame, visits_frame

    with session_scope(url) as session:  # what the page held before the share was withdrawn
        review = patient_review(session, patient.ref)
        visits, imports_ = visits_frame(session, patient.id), imports_frame(session, patient.ref)
    return run(exports.pre_visit_report, user, patient, review, visits=visits, imports=imports_, url=url)




def _step_form():
    from dashboard.db.clinic_records import StepForm

    return StepForm(start_date=date(2026, 3, 5), dose_mg=100.0, frequency="daily", route="troche")


def _visit_form(kind: str = "in person"):
    from dashboard.db.clinic_records import VisitForm

    return VisitForm(date=date(2026, 3, 5), kind=kind, booked=False, infusion_dose_mg=35.0, infusion_route="IV")


def _worklist(url, user, patient):
    rows = run(patients.worklist, user, as_of=date(2026, 3, 10), start=date(2026, 3, 1), end=date(2026, 3, 31),
               everyone=True, url=url)
    assert [r.ref for r in rows] == ["P-RIV"]  # her own patient only: nothing of P-CHE
    return None


def _loaders_worklist(url, user, patient):
    rows = loaders.worklist(user, as_of=date(2026, 3, 10), start=date(2026, 3, 1), end=date(2026, 3, 31),
                            everyone=True)
    assert [r.ref for r in rows] == ["P-RIV"]
    return None


def _worklist_csv(url, user, patient):
    data = run(exports.worklist_csv, user, as_of=date(2026, 3, 10), start=date(2026, 3, 1), end=date(2026, 3, 31),
               everyone=True, url=url).decode("utf-8-sig")
    assert "P-RIV" in data and patient.ref not in data  # her own patient only
    return None


def _patient_list(url, user, patient):
    assert run(patients.patient_list, user, url=url)["ref"].tolist() == ["P-RIV"]


def _cohort_members(url, user, patient):
    members = run(patients.cohort_members, user, date(2026, 3, 10), url=url)
    assert patient.id not in members.ids and patient.ref not in members.openable_refs


def _cohort(url, user, patient):
    cohort, scope = run(patients.cohort, user, date(2026, 3, 10), url=url)
    assert scope == "patients shared with you" and SECRET not in str(cohort)


def _record_permissions(url, user, patient):
    assert run(records.record_permissions, user, patient.id, url=url) == (False, False)


def _may_share_link(url, user, patient):
    assert run(share_links.may_share_link, user, patient.id, url=url) is False


def _import_history(url, user, patient):
    _lists_nothing_of(run(imports.import_history, user, url=url), patient.ref)


FUNCTION_CASES = {
    # dashboard.usecases: every public function (test_every_entry_point_is_listed)
    "patients.open_patient": lambda url, user, p: run(patients.open_patient, user, p.ref, url=url),
    "patients.require_open": lambda url, user, p: run(patients.require_open, user, p, url=url),
    "patients.patient_list": _patient_list,
    "patients.worklist": _worklist,
    "patients.cohort_members": _cohort_members,
    "patients.cohort": _cohort,
    "patients.clinic_visits": lambda url, user, p: run(patients.clinic_visits, user, as_of=date(2026, 3, 10),
                                                       start=date(2026, 3, 1), end=date(2026, 3, 31), url=url),
    "records.record_permissions": _record_permissions,
    "records.check_step": lambda url, user, p: run(records.check_step, user, p.id, _step_form(), url=url),
    "records.check_visit": lambda url, user, p: run(records.check_visit, user, p.id, _visit_form(), url=url),
    "records.save_step": lambda url, user, p: run(records.save_step, user, p.id, _step_form(), url=url),
    "records.save_visit": lambda url, user, p: run(records.save_visit, user, p.id, _visit_form(), url=url),
    "records.save_visit infusion": lambda url, user, p: run(records.save_visit, user, p.id, _visit_form("infusion"),
                                                            url=url),
    "records.decide_proposed_step": lambda url, user, p: run(records.decide_proposed_step, user, p.id, 1, True,
                                                             url=url),
    "records.acknowledge_flag": lambda url, user, p: run(
        records.acknowledge_flag, user, p.id, rule=_a_rule(), flag_start=date(2026, 3, 1),
        flag_end=date(2026, 3, 1), note="seen", url=url),
    "exports.diary_csv": lambda url, user, p: run(exports.diary_csv, user, p.ref, url=url),
    "exports.patient_fhir": lambda url, user, p: run(exports.patient_fhir, user, p.ref, url=url),
    "exports.pre_visit_report": _page_report,
    "exports.export_patient": lambda url, user, p: run(exports.export_patient, user, p.ref, "csv", url=url),
    "exports.export_patient fhir": lambda url, user, p: run(exports.export_patient, user, p.ref, "fhir", url=url),
    "exports.patient_review": lambda url, user, p: run(exports.patient_review, user, p.ref, as_of=None, note=True,
                                                       url=url),
    "exports.worklist_csv": _worklist_csv,
    "exports.visit_list_csv": lambda url, user, p: run(exports.visit_list_csv, user, as_of=date(2026, 3, 10),
                                                       start=date(2026, 3, 1), end=date(2026, 3, 31), url=url),
    "exports.report_data": lambda url, user, p: run(exports.report_data, user, p.ref, as_of=None, url=url),
    "imports.import_file": _import(),
    "imports.import_file dry run": _import(dry_run=True),
    "imports.import_file accept valid": _import(accept_valid=True),
    "imports.import_file profile": _import(profile_name="longapp"),
    "imports.import_file profile dry run": _import(profile_name="longapp", dry_run=True),
    "imports.import_file resolve take": _import(resolution=Resolution(reason="phoned", default="take")),
    "imports.kept_import_file": lambda url, user, p: run(imports.kept_import_file, user, _import_of(url, p.ref),
                                                         url=url),
    "imports.import_history": _import_history,
    "imports.import_ehr_record": _import_ehr_record,
    "ehr_launch.finish_launch": _finish_launch,
    # Administrators only: a clinician is refused before anything is read.
    "accounts.accounts_overview": lambda url, user, p: run(account_cases.accounts_overview, user, url=url),
    "accounts.shared_refs": lambda url, user, p: run(account_cases.shared_refs, user, "dr.chen", url=url),
    "accounts.change_account": lambda url, user, p: run(account_cases.change_account, user, "user_share",
                                                        {"user": INTRUDER, "patient": p.ref}, lambda s: None, url=url),
    "share_links.create_share_link": lambda url, user, p: run(share_links.create_share_link, user, p.ref, url=url),
    "share_links.list_share_links": lambda url, user, p: run(share_links.list_share_links, user, p.ref, url=url),
    "share_links.revoke_share_link": lambda url, user, p: run(share_links.revoke_share_link, user, 1, url=url),
    "share_links.may_share_link": _may_share_link,
    "audit_trail.trail_choices": lambda url, user, p: run(audit_trail.trail_choices, user, url=url),
    "audit_trail.trail": lambda url, user, p: run(audit_trail.trail, user, _trail_filter(p), url=url),
    "audit_trail.trail_export": lambda url, user, p: run(audit_trail.trail_export, user, _trail_filter(p), url=url),
    # The page cache: the same use cases behind Streamlit's caches.
    "loaders.worklist": _loaders_worklist,
    "loaders.open_patient": lambda url, user, p: loaders.open_patient(user, p.ref),
    "loaders.review": lambda url, user, p: loaders.review(user, p, date(2026, 3, 10)),
    "loaders.frames": lambda url, user, p: loaders.frames(user, p),
    "loaders.imports": lambda url, user, p: loaders.imports(user, p),
    "loaders.acknowledge_flag": lambda url, user, p: loaders.acknowledge_flag(
        user, p, rule=_a_rule(), start=date(2026, 3, 1), end=date(2026, 3, 1), note="seen"),
    "loaders.decide_proposed_step": lambda url, user, p: loaders.decide_proposed_step(user, p, 1, True),
}
# Cases whose refusal is a report rather than an exception (an import keeps its refused file).
REFUSAL_REPORTS = {name for name in FUNCTION_CASES if name.startswith(("imports.import_file",
                                                                         "imports.import_ehr_record"))}


def _trail_filter(patient):
    from dashboard.db.audit_trail import TrailFilter

    return TrailFilter(patient_ref=patient.ref)


def _import_of(url: str, ref: str) -> int:
    from sqlalchemy import select

    from dashboard.db.models import ImportRecord

    with session_scope(url) as session:
        return session.scalar(select(ImportRecord.id).where(ImportRecord.file_name == f"{ref}.csv"))


def _lists_nothing_of(history, ref: str) -> None:
    """The list of past imports holds none of the patient's files (and no stored value at all)."""
    assert not history.empty and ref not in " ".join(history["patients"]) and SECRET not in history.to_string()


# Public functions of the use cases that take no patient, with the reason.
NOT_PATIENT_DATA = {
    "usecases.run": "opens a unit of work for a use case listed here",
    "guard.refuse": "writes a refusal's audit row",
    "guard.guarded": "the guard every use case passes through",
    "acting.acting": "resolves --as USER to an account (no patient)",
    "accounts.log_in": "before any user exists: reads accounts only",
    "accounts.keep_login": "the login just made, kept for a reload (no patient)",
    "accounts.redeem_handoff": "the login's one-minute code exchanged for its cookie (no patient)",
    "accounts.resume_login": "a reload's cookie checked against its account (no patient)",
    "accounts.kept_login_ended": "a kept login's row checked on every run (no patient)",
    "accounts.log_out": "a logout's audit row and the kept login ended (no patient)",
    "accounts.forget_cookie": "the browser's logout of a kept login (no patient)",
    "settings.thresholds": "the clinic's thresholds",
    "settings.change_thresholds": "the clinic's thresholds (refusals: tests/app/test_roles.py)",
    "settings.changeable": "which of the clinic's thresholds the user may change",
    "audit_trail.record_trail_export": "audits a download that audit_trail.trail_export allowed",
    "audit_trail.verify_trail": "the operator's check of the trail's hash chain (no patient data shown)",
    "ehr_launch.check_ehr": "checks the EHR's address against the clinic's settings (no patient)",
    "ehr_launch.start_launch": "asks a trusted EHR for its SMART settings; the patient comes with finish_launch",
    "imports.record_import_download": "audits a download that imports.kept_import_file allowed",
    "imports.mapping_profiles": "column layouts of other diary apps",
    "imports.mapping_profile": "column layouts of other diary apps",
    "imports.save_mapping_profile": "column layouts of other diary apps",
    "imports.suggest_mapping": "reads the file the user uploads, nothing stored (refused to those who may not import)",
    "imports.preview_mapping": "reads the file the user uploads, nothing stored (refused to those who may not import)",
    "share_links.now_utc": "the time now",
    "share_links.address": "a token's address (no patient)",
    "share_upload.clean_name": "a file name without its folders",
    "share_upload.check_file": "reads the file the patient's page received, for no stored patient",
    "share_upload.link_works": "whether a token's link is live: the patient's page, no account (tests/share)",
    "share_upload.receive_upload": "the patient's page: adds files to the inbox, reads nothing "
                                   "(tests/share/test_share_page.py tries a stolen link everywhere)",
}


def _use_case_functions() -> set[str]:
    """``module.function`` for every public function defined in ``dashboard.usecases`` and its modules."""
    import importlib

    found = set()
    modules = [usecases] + [importlib.import_module(f"dashboard.usecases.{m.name}")
                            for m in pkgutil.iter_modules(usecases.__path__)]
    for module in modules:
        short = module.__name__.split(".")[-1]
        for name, f in vars(module).items():
            if inspect.isfunction(f) and not name.startswith("_") and f.__module__ == module.__name__:
                found.add(f"{short}.{name}")
    return found


@pytest.mark.parametrize("name", sorted(FUNCTION_CASES))
def test_every_function_refuses_another_clinicians_patient(clinic, name):
    user = account(clinic, INTRUDER)
    patient = _chen_patient(clinic)
    try:
        result = FUNCTION_CASES[name](clinic, user, patient)
    except PermissionError as exc:
        assert SECRET not in str(exc)
        return
    assert result is None or name in REFUSAL_REPORTS, result
    assert SECRET not in str(result)


def test_every_entry_point_is_listed():
    subcommands = _subcommands()
    assert set(subcommands) == set(CLI_CASES) | CLI_OPERATOR_ONLY
    assert {name for name, sub in subcommands.items() if _takes_as(sub)} == set(CLI_CASES)
    assert _page_paths() == set(PAGE_CASES) == set(navigation.PROTECTED_PATHS)
    public = _use_case_functions()
    listed = {name.split(" ")[0] for name in FUNCTION_CASES} | set(NOT_PATIENT_DATA)
    assert public - listed == set(), "list the new use case in FUNCTION_CASES or NOT_PATIENT_DATA"
    assert set(NOT_PATIENT_DATA) <= public, "a listed use case no longer exists"


# --- dry runs and conflicts as staff and administrator (issue 24) --------------------------------
# They import for the whole clinic, but P-CHE is not shared with them: a conflict with its stored
# entry is said, its stored side never shown, on every way in.

CLINIC_WIDE = ("sam.staff", "alex.admin")


def _clinic_wide_accounts(url):
    with session_scope(url) as session:
        for username, role in zip(CLINIC_WIDE, ("staff", "admin")):
            if accounts.resolve_user(session, username) is None:
                accounts.add_user(session, username=username, display_name=username, role=role, password=None)


def _cli_dry_run(url, username, tmp_path, capsys):
    capsys.readouterr()
    cli.main(["import", str(tmp_path / "hostile.csv"), "--as", username, "--dry-run", "--json"])
    cli.main(["import", str(tmp_path / "hostile.csv"), "--as", username, "--dry-run"])
    cli.main(["import", str(tmp_path / "hostile.csv"), "--as", username])  # refused: an undecided conflict
    return capsys.readouterr().out


def _service_dry_run(url, username, tmp_path, capsys):
    report = imports.import_file(account(url, username), HOSTILE.encode(), "f.csv", url=url, dry_run=True)
    assert report.conflicts
    return json.dumps(report.as_dict(), default=str)


def _page_dry_run(url, username, tmp_path, capsys):
    at = app("import", user=account(url, username)).run()
    at.file_uploader(key="upload").upload("hostile.csv", HOSTILE.encode(), "text/csv").run()
    assert not at.exception
    shown = texts(at)
    assert STORED_HIDDEN in shown  # the conflict is listed, its stored side withheld
    return shown


@pytest.mark.parametrize("username", CLINIC_WIDE)
@pytest.mark.parametrize("way", [_cli_dry_run, _service_dry_run, _page_dry_run], ids=["cli", "service", "page"])
def test_a_dry_run_by_staff_or_administrator_shows_no_stored_value(clinic, tmp_path, capsys, username, way):
    _clinic_wide_accounts(clinic)
    before = last_audit_id(clinic)
    assert SECRET not in way(clinic, username, tmp_path, capsys)
    rows = audit_rows(clinic, before)
    assert rows and all(r[0] == username and SECRET not in r[4] for r in rows)  # the comparison is audited
