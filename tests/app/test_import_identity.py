"""The import page's patient check (issue 23 items 1 and 4), driven with AppTest on the demo clinic:
the file's patient shown beside the stored one, another person's file refused and kept, imported
only with the 'same person' box and a reason (audited with both identities); the demo offers the file."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from dashboard.db.models import AuditEvent, ImportRecord
from dashboard.db.session import session_scope
from dashboard.demo import samples
from tests.app.conftest import account, app

BP = samples.other_patient_file()  # US Core's blood pressure: Patient/example, "Amy Shaw"


def texts(at) -> list[str]:
    return [t.value for t in at.text]


def upload(url: str, raw: bytes, *, patient: str, user: str = "dr.rivera", name: str = samples.OTHER_PATIENT_FILE):
    at = app("import", user=account(url, user)).run()
    at.text_input(key="patient_ref").input(patient).run()
    at.file_uploader(key="upload").upload(name, raw, "application/fhir+json").run()
    assert not at.exception, at.exception
    return at


def kept(url) -> list[tuple[str, str]]:
    with session_scope(url) as session:
        return [tuple(r) for r in session.execute(select(ImportRecord.file_name, ImportRecord.status)
                                                  .where(ImportRecord.imported_by != "demo",
                                                         ImportRecord.share_link_id.is_(None)))]  # not the demo's inbox


def test_another_persons_file_typed_into_a_demo_patient_is_stopped_with_both_identities(clinic_url):
    at = upload(clinic_url, BP, patient="DEMO-002")
    shown = "\n".join(texts(at))
    assert "Outcome: Refused." in shown
    assert "'Amy Shaw'" in shown and "'Janet Okafor'" in shown
    assert any("resource id Patient/example" in t.to_string() for t in identity_tables(at))
    assert any("same person" in e.value for e in at.error)
    assert at.checkbox(key="same_person").value is False
    at.button(key="keep_file").click().run()
    assert kept(clinic_url) == [(samples.OTHER_PATIENT_FILE, "refused")]  # the file kept, nothing else


def test_the_same_person_box_and_a_reason_import_it_audited(clinic_url):
    at = upload(clinic_url, BP, patient="DEMO-002")
    at.checkbox(key="same_person").check().run()
    assert any("Give the reason" in w.value for w in at.warning)  # ticked without a reason: still refused
    assert not any(b.key == "do_import" for b in at.button)
    at.text_input(key="same_person_reason").input("her portal lists her under her maiden name").run()
    assert "Outcome: Would import." in "\n".join(texts(at))
    at.button(key="do_import").click().run()
    assert not at.exception and any("Imported as import" in s.value for s in at.success)
    assert kept(clinic_url) == [(samples.OTHER_PATIENT_FILE, "imported")]
    with session_scope(clinic_url) as session:
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "confirm_same_person"))
        detail = json.loads(event.detail)
    assert detail["reason"] == "her portal lists her under her maiden name" and event.actor == "dr.rivera"
    assert (detail["file_identity"]["name"], detail["stored_identity"]["name"]) == ("Amy Shaw", "Janet Okafor")


@pytest.mark.parametrize(("raw", "patient", "doubtful"), [
    (b"patient_id,date,pain\nDEMO-003,2026-03-01,5\n", "", False),  # a reference only: nothing to disagree with
    (json.dumps({"resourceType": "Patient", "id": "x", "name": [{"given": ["Janet"], "family": "OKAFOR"}],
                 "birthDate": "1968"}).encode(), "DEMO-002", False),  # the same name and year, written otherwise
    (json.dumps({"resourceType": "Patient", "id": "x", "name": [{"given": ["Janet"], "family": "Okafor"}],
                 "birthDate": "1971-05-05"}).encode(), "DEMO-002", True),  # another birth year
])
def test_the_preview_shows_the_files_patient_beside_the_stored_one(clinic_url, raw, patient, doubtful):
    at = upload(clinic_url, raw, patient=patient, name="f.json")
    lines = [t for t in texts(at) if t.startswith("Patient DEMO-")]
    assert lines and all(": stored patient" in t for t in lines)
    assert identity_tables(at) and all(list(t.columns) == ["field", "in the file", "stored"]
                                       for t in identity_tables(at))
    assert any(c.key == "same_person" for c in at.checkbox) is doubtful


def identity_tables(at):
    return [d.value for d in at.dataframe if "in the file" in d.value.columns]


def test_a_clinician_who_may_open_the_patient_sees_both_identities_side_by_side(clinic_url):
    at = upload(clinic_url, BP, patient="DEMO-002")
    table = identity_tables(at)[-1].set_index("field")
    assert (table.loc["name", "in the file"], table.loc["name", "stored"]) == ("Amy Shaw", "Janet Okafor")
    assert table.loc["birth date", "stored"].startswith("1968")
    assert table.loc["known by", "in the file"] == "the reference typed at import, resource id Patient/example"


def test_staff_see_what_differs_but_not_the_stored_identity(clinic_url):
    at = upload(clinic_url, BP, patient="DEMO-002", user="sam.staff")
    shown = "\n".join(texts(at))
    assert "Janet Okafor" not in shown and "name differs from the stored patient's" in shown
    for table in identity_tables(at):
        assert "Janet Okafor" not in table.to_string() and "1968" not in table.to_string()
        stored = table.set_index("field")["stored"]
        assert {stored["name"], stored["birth date"], stored["identifiers"]} == {
            "stored details hidden: ask the patient's clinician"}
        assert table.set_index("field").loc["name", "in the file"] == "Amy Shaw"


def test_the_demo_offers_the_file_naming_another_patient(clinic_url, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DEMO", "1")
    at = app("import", user=account(clinic_url, "dr.rivera")).run()
    assert not at.exception
    assert any("Amy Shaw" in c.value and "DEMO-002" in c.value for c in at.caption)
    assert at.get("download_button") and samples.OTHER_PATIENT_FILE.endswith(".json")
