"""The birth date (or year) beside the name, where a clinician picks and reads a patient, so they can
check they have the right one: the review page's header and the patients page (AppTest, the demo clinic)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from dashboard.db.models import Patient
from dashboard.db.session import session_scope
from tests.app.conftest import account, app


def _title(at) -> str:
    (title,) = [t.value for t in at.text if " · DEMO-002" in t.value and t.value.startswith("Janet Okafor")]
    return title


def test_the_review_header_shows_the_birth_year_beside_the_name(clinic_url):
    at = app("review", user=account(clinic_url, "dr.rivera"), patient="DEMO-002").run()
    assert not at.exception, at.exception
    assert _title(at) == "Janet Okafor · born 1968 · DEMO-002"


def test_the_review_header_shows_the_full_birth_date_when_known(clinic_url):
    with session_scope(clinic_url) as session:
        session.execute(update(Patient).where(Patient.ref == "DEMO-002").values(birth_date=date(1968, 4, 2)))
    at = app("review", user=account(clinic_url, "dr.rivera"), patient="DEMO-002").run()
    assert _title(at) == "Janet Okafor · born 02 Apr 1968 · DEMO-002"


def test_the_patients_page_shows_the_birth_date_in_the_table_and_the_picker(clinic_url):
    with session_scope(clinic_url) as session:
        session.execute(update(Patient).where(Patient.ref == "DEMO-002").values(birth_date=date(1968, 4, 2)))
        session.execute(update(Patient).where(Patient.ref == "DEMO-001").values(birth_year=None))
    at = app("patients", user=account(clinic_url, "dr.rivera")).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value.set_index("ref")
    assert list(table.columns[:2]) == ["name", "born"]
    assert table.loc["DEMO-002", "born"] == "02 Apr 1968"
    assert table.loc["DEMO-001", "born"] == "birth date not recorded"
    options = at.selectbox(key="patient_pick").options
    assert "DEMO-002 · Janet Okafor · born 02 Apr 1968" in options
    assert "DEMO-001 · Maria Alvarez · birth date not recorded" in options
