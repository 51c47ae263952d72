"""The review page's FHIR download: offered for a patient the user may open, built and audited
only when clicked (``services.patient_fhir``), never offered or built for anyone else."""

from __future__ import annotations

import json

import pytest

from dashboard.usecases import exports, run
from tests.app.conftest import account, app, audit_rows, last_audit_id, patient_id, shared_with
from tests.ingest.fhir_validator import r4_errors

LABEL = "Download for another system (FHIR R4, JSON)"


def _download_buttons(at) -> list:
    return [node for node in at._tree if getattr(node, "type", None) == "download_button"]


def test_the_review_page_offers_the_fhir_download_without_building_it(clinic_url):
    user = account(clinic_url, "dr.rivera")
    ref = sorted(shared_with("dr.rivera"))[0]
    before = last_audit_id(clinic_url)
    at = app("review", user=user, patient=ref).run()
    assert not at.exception
    (button,) = [b for b in _download_buttons(at) if b.proto.label == LABEL]
    assert button.proto.id.endswith("fhir_export")
    # Lazy: opening the page audits the view, not an export; the bundle is built when clicked.
    assert [row[1] for row in audit_rows(clinic_url, before)] == ["view_patient"]


def test_the_download_holds_the_patient_as_valid_fhir_and_is_audited(clinic_url):
    user = account(clinic_url, "dr.rivera")
    ref = sorted(shared_with("dr.rivera"))[0]
    before = last_audit_id(clinic_url)
    bundle = json.loads(run(exports.patient_fhir, user, ref).decode("utf-8"))
    patient = bundle["entry"][0]["resource"]
    assert (patient["resourceType"], patient["id"]) == ("Patient", ref)
    assert r4_errors(bundle) == []
    assert audit_rows(clinic_url, before) == [
        ("dr.rivera", "export", "ok", patient_id(clinic_url, ref), json.dumps({"format": "fhir", "patient": ref}))]


def test_a_patient_not_shared_gets_no_download_and_the_refusal_is_audited(clinic_url):
    user = account(clinic_url, "dr.rivera")
    ref = sorted({"DEMO-00" + str(i) for i in range(1, 10)} - shared_with("dr.rivera"))[0]
    at = app("review", user=user, patient=ref).run()
    assert not at.exception and not _download_buttons(at)
    before = last_audit_id(clinic_url)
    with pytest.raises(PermissionError):
        run(exports.patient_fhir, user, ref)
    assert audit_rows(clinic_url, before) == [
        ("dr.rivera", "export", "denied", patient_id(clinic_url, ref), json.dumps({"format": "fhir", "patient": ref}))]
