"""What another server process writes shows here at once: no cache waits for a time-to-live.

Each write below goes straight to the database, as another ``streamlit run`` process behind the
same reverse proxy would make it, without this process's ``loaders.invalidate``. The page's next
run must show it (tests/e2e/test_two_servers.py does the same with two real servers).
"""

from __future__ import annotations

import re

from sqlalchemy import select

from dashboard import loaders
from dashboard.auth import accounts
from dashboard.db.models import Patient
from dashboard.db.session import session_scope
from dashboard.db.settings_store import save_thresholds
from dashboard.ingest.service import import_file
from tests.app.conftest import account, app, texts


def test_a_patient_shared_elsewhere_appears_in_the_list_on_the_next_run(clinic_url):
    user = account(clinic_url, "dr.rivera")
    at = app("patients", user=user).run()
    assert not at.exception
    assert "P-ELSEWHERE" not in texts(at)
    import_file(b"patient_id,date,pain\nP-ELSEWHERE,2026-03-01,5\n", "other-server.csv", url=clinic_url, actor="t")
    with session_scope(clinic_url) as session:
        accounts.share(session, username="dr.rivera", patient_ref="P-ELSEWHERE")
    at.run()
    assert "P-ELSEWHERE" in texts(at)


def test_an_import_made_elsewhere_shows_on_an_open_review_on_the_next_run(clinic_url):
    user = account(clinic_url, "dr.rivera")
    with session_scope(clinic_url) as session:
        ref = session.scalars(select(Patient.ref).order_by(Patient.ref)).first()
        accounts.share(session, username="dr.rivera", patient_ref=ref)
    at = app("review", user=user, patient=ref).run()
    assert not at.exception
    before = _imports_in_header(at)
    import_file(f"patient_id,date,pain\n{ref},2026-01-02T08:00,3\n".encode(),
                "from-the-other-server.csv", url=clinic_url, actor="t")
    at.run()
    assert not at.exception
    assert _imports_in_header(at) == before + 1  # the header's "N imports (...)"
    assert loaders.imports(user, loaders.open_patient(user, ref, audit_view=False))["file_name"].eq(
        "from-the-other-server.csv").any()  # the import history (clinic-versioned)


def _imports_in_header(at) -> int:
    (count,) = set(re.findall(r"(\d+) imports? \(", texts(at)))
    return int(count)


def test_thresholds_changed_elsewhere_apply_on_the_next_run(clinic_url):
    first = loaders.thresholds()
    with session_scope(clinic_url) as session:
        save_thresholds(session, {"bp_systolic_high": first.bp_systolic_high - 5}, updated_by="other-server")
    assert loaders.thresholds().bp_systolic_high == first.bp_systolic_high - 5
