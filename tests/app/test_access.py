"""Who sees whom: nothing before login, a clinician only their shared patients, by every door
(the picker, a URL, the command line, an export), each refusal audited."""

from __future__ import annotations

import subprocess

import pytest

from dashboard.auth import accounts
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file
from tests.app.conftest import (
    PAGES,
    PASSWORDS,
    account,
    app,
    audit_rows,
    demo_identities,
    last_audit_id,
    log_in,
    patient_id,
    shared_with,
    texts,
)
from tests.clirun import cli



@pytest.mark.parametrize("page", (*PAGES, "login", "no-such-page"))
@pytest.mark.parametrize("patient", [None, "DEMO-001", "DEMO-008"])
def test_logged_out_every_page_shows_only_the_login(clinic_url, page, patient):
    before = last_audit_id(clinic_url)
    at = app(page, patient=patient).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Ketamine titration review"]
    assert [w.label for w in at.text_input] == ["User name", "Password"]
    shown = texts(at)
    leaked = [who for who in demo_identities() if who in shown]
    assert leaked == []
    assert not at.dataframe and not at.metric and not at.selectbox
    assert audit_rows(clinic_url, before) == []


@pytest.mark.parametrize(
    ("username", "visible"),
    [("dr.rivera", shared_with("dr.rivera")), ("dr.chen", shared_with("dr.chen")), ("sam.staff", set()),
     ("alex.admin", set())],
)
def test_the_patient_list_and_picker_offer_only_shared_patients(clinic_url, username, visible):
    at = app("patients", user=account(clinic_url, username)).run()
    assert not at.exception
    offered = {option.split(" · ")[0] for option in at.selectbox(key="patient_pick").options} if visible else set()
    assert offered == visible
    table = set(at.dataframe[0].value["ref"]) if visible else set()
    assert table == visible
    shown = texts(at)
    assert [who for pair in _identities_not_shared(visible) for who in pair if who in shown] == []


def _identities_not_shared(visible: set[str]) -> list[tuple[str, str]]:
    from dashboard.demo import STORIES

    return [(s.ref, s.name) for s in STORIES if s.ref not in visible]


@pytest.mark.parametrize(
    ("username", "ref", "allowed"),
    [
        ("dr.rivera", "DEMO-001", True),
        ("dr.rivera", "DEMO-007", True),   # shared with both clinicians
        ("dr.chen", "DEMO-007", True),
        ("dr.rivera", "DEMO-008", False),  # dr.chen's patient
        ("dr.chen", "DEMO-001", False),    # dr.rivera's patient
        ("sam.staff", "DEMO-001", False),  # staff see no review unless shared
        ("alex.admin", "DEMO-001", False),  # nor do administrators
        ("dr.rivera", "NO-SUCH-REF", False),
    ],
)
def test_a_patient_opens_by_url_only_when_shared(clinic_url, username, ref, allowed):
    from dashboard.demo import STORIES

    before = last_audit_id(clinic_url)
    at = app("review", user=account(clinic_url, username), patient=ref).run()
    assert not at.exception
    name = next((s.name for s in STORIES if s.ref == ref), "no such patient")
    assert (name in texts(at)) is allowed
    refusal = "This patient is not available to you" in " ".join(e.value for e in at.error)
    assert refusal is not allowed
    rows = [r for r in audit_rows(clinic_url, before) if r[1] == "view_patient"]
    if allowed:
        assert [r[:4] for r in rows] == [(username, "view_patient", "ok", patient_id(clinic_url, ref))]
    else:
        assert [r[:4] for r in rows] == [(username, "view_patient", "denied", None)]
        assert ref in rows[0][4]


def test_staff_see_a_review_once_a_patient_is_shared_with_them(clinic_url):
    with session_scope(clinic_url) as session:
        accounts.share(session, username="sam.staff", patient_ref="DEMO-002")
    at = app("review", user=account(clinic_url, "sam.staff"), patient="DEMO-002").run()
    assert "Janet Okafor" in texts(at) and not at.error


def test_a_share_withdrawn_closes_the_patient_at_the_next_opening(clinic_url):
    user = account(clinic_url, "dr.rivera")
    assert "Maria Alvarez" in texts(app("review", user=user, patient="DEMO-001").run())
    with session_scope(clinic_url) as session:
        accounts.unshare(session, username="dr.rivera", patient_ref="DEMO-001")
    at = app("review", user=user, patient="DEMO-001").run()
    assert "Maria Alvarez" not in texts(at) and at.error


@pytest.mark.parametrize("page", ["audit", "admin"])
@pytest.mark.parametrize("username", ["dr.rivera", "sam.staff"])
def test_only_administrators_reach_the_audit_and_admin_pages(clinic_url, page, username):
    at = app(page, user=account(clinic_url, username)).run()
    assert not at.exception
    # The page is not there: the default page answers (staff's worklist is the clinic's visits).
    expected = {"dr.rivera": "Worklist", "sam.staff": "Worklist: the clinic's visits"}[username]
    assert [t.value for t in at.title] == [expected]
    admin = app(page, user=account(clinic_url, "alex.admin")).run()
    assert [t.value for t in admin.title] == [{"audit": "Audit trail", "admin": "Accounts and shares"}[page]]


def test_login_then_the_requested_review_refuses_another_clinicians_patient(clinic_url):
    at = log_in(app(), "dr.rivera", PASSWORDS["dr.rivera"])
    assert not at.exception and "Logged in as" in texts(at)
    at.query_params["patient"] = "DEMO-009"
    at.switch_page("app_pages/review.py").run()
    assert "Robert Hughes" not in texts(at)
    assert any("not available" in e.value for e in at.error)


# --- the command line: the same shares decide, on both backends ------------------------------

DIARY = "patient_id,date,pain,notes\n{ref},2026-03-01T21:00,6,{note}\n{ref},2026-03-02T21:00,5,\n"


def _small_clinic(url: str) -> None:
    """Two clinicians, each with one patient of their own."""
    for ref, note in (("P-RIV", "rivera's patient"), ("P-CHE", "chen's patient")):
        report = import_file(DIARY.format(ref=ref, note=note).encode(), f"{ref}.csv", url=url, actor="test")
        assert report.status == "imported", report.message
    with session_scope(url) as session:
        for username in ("dr.rivera", "dr.chen"):
            accounts.add_user(session, username=username, display_name=username, role="clinician",
                              password="correct horse battery staple")
        accounts.share(session, username="dr.rivera", patient_ref="P-RIV")
        accounts.share(session, username="dr.chen", patient_ref="P-CHE")


def _cli(url: str, *args: str) -> subprocess.CompletedProcess:
    return cli(url, *args)  # the command's main, in this process (tests/clirun.py)


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["summary", "P-RIV", "--json", "--as", "dr.rivera"], True),
        (["summary", "P-CHE", "--json", "--as", "dr.rivera"], False),
        (["export", "--patient", "P-RIV", "--as", "dr.rivera"], True),
        (["export", "--patient", "P-CHE", "--as", "dr.rivera"], False),
        (["export", "--patient", "P-NONE", "--as", "dr.rivera"], False),
    ],
    ids=["summary own", "summary other", "export own", "export other", "export unknown patient"],
)
def test_the_command_line_enforces_shares_with_as(db_url, args, allowed):
    _small_clinic(db_url)
    before = last_audit_id(db_url)
    result = _cli(db_url, *args)
    action, ref, actor = args[0], args[1] if args[0] == "summary" else args[2], args[-1]
    if allowed:
        assert result.returncode == 0, result.stderr
        assert ref in result.stdout
    else:
        assert result.returncode == 1
        assert result.stdout == ""  # nothing of the patient, not even whether it exists
        assert "not available" in result.stderr
        assert "chen's patient" not in result.stderr
    rows = audit_rows(db_url, before)
    assert [(r[0], r[1], r[2]) for r in rows] == [(actor, action, "ok" if allowed else "denied")]
    assert ref in rows[0][4]
