"""An address a person can type reaches no database error (issue 24, item 9), on both backends:
``/review?patient=P-RIV%00`` names no patient, like any unknown reference, and is audited as a refusal."""

from __future__ import annotations

import logging

import pytest

from tests.app.conftest import OLD, app, audit_rows, last_audit_id, log_in, texts

REFUSAL = "This patient is not available to you. Patients are shared with clinicians by an administrator."


@pytest.mark.parametrize(
    ("ref", "kept_as"),
    [("P-RIV\x00", "P-RIV\ufffd"), ("\x00", "\ufffd"), ("P-RIV\x00' OR '1'='1", "P-RIV\ufffd' OR '1'='1"),
     ("P-NOBODY", "P-NOBODY")],
    ids=["nul after a real ref", "nul alone", "nul and quotes", "unknown (for comparison)"],
)
def test_a_reference_no_database_can_hold_is_not_available(small_clinic, caplog, ref, kept_as):
    at = log_in(app("review", patient=ref), "dr.rivera", OLD)
    before = last_audit_id(small_clinic)
    caplog.clear()
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [REFUSAL]
    assert "rivera's patient" not in texts(at)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []  # no traceback behind the page
    rows = audit_rows(small_clinic, before)
    assert [r[:3] for r in rows] == [("dr.rivera", "view_patient", "denied")]
    assert kept_as in rows[0][4]
