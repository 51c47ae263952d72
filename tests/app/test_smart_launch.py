"""The EHR launch (SMART App Launch 2.0) against the test EHR (tests/smart_ehr.py), on both
databases: the launch imports the EHR's patient through the one import service, and every
refusal says why in words and is audited. The browser's trip is played by httpx here; the
Chromium test is tests/e2e/test_smart_launch.py."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from dashboard.auth import accounts
from dashboard.db.models import DiaryEntry, ImportRecord, Patient
from dashboard.db.session import session_scope
from dashboard.ingest import smart
from dashboard.usecases import NotAllowed, ehr_launch, run
from dashboard.usecases import accounts as account_cases
from dashboard import session_state
from tests.app.conftest import OLD, account, app, audit_rows, log_in, texts
from tests.smart_ehr import CLIENT_ID, SmartEhr

REDIRECT = "http://dashboard.test/launch"
MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
LOINC = "http://loinc.org"


def patient(pid: str = "ehr-77", mrn: str = "MRN-4471", name=("Janet", "Okafor"), born: str = "1971-04-02") -> dict:
    return {"resourceType": "Patient", "id": pid, "identifier": [{"type": MR, "system": "urn:clinic:mrn",
                                                                 "value": mrn}],
            "name": [{"given": [name[0]], "family": name[1]}], "birthDate": born}


def pain(oid: str, day: int, value: float, pid: str = "ehr-77") -> dict:
    return {"resourceType": "Observation", "id": oid, "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "72514-3"}]}, "subject": {"reference": f"Patient/{pid}"},
            "effectiveDateTime": f"2026-03-{day:02d}T21:00:00Z", "valueQuantity": {"value": value, "unit": "{score}"}}


def ketamine(pid: str = "ehr-77") -> dict:
    return {"resourceType": "MedicationRequest", "id": "ket1", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                      "code": "6130", "display": "ketamine"}]},
            "subject": {"reference": f"Patient/{pid}"}, "authoredOn": "2026-03-01",
            "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg", "code": "mg"}}],
                                   "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}]}


@pytest.fixture
def ehr(monkeypatch):
    with SmartEhr(redirect_uri=REDIRECT) as server:
        server.add_patient(patient(), *(pain(f"o{d}", d, 7 - d / 3) for d in range(1, 6)), ketamine())
        server.add_patient(patient("ehr-99", "MRN-9000", ("Other", "Person"), "1960-01-01"), pain("x1", 1, 3, "ehr-99"))
        monkeypatch.setenv("DASHBOARD_SMART_ISS", f"https://elsewhere.example/fhir, {server.iss}/")
        monkeypatch.setenv("DASHBOARD_SMART_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("DASHBOARD_SMART_REDIRECT_URI", REDIRECT)
        yield server


def _authorize(url: str) -> dict:
    """The browser at the EHR's authorize address: where it is sent back, as query parameters."""
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def launch(url: str, user, ehr: SmartEhr, pid: str = "ehr-77", *, state: str | None = None, tamper=None):
    start, pending = run(ehr_launch.start_launch, user, ehr.iss, ehr.new_launch(pid), url=url)
    back = _authorize(start)
    if tamper:
        pending = tamper(pending)
    return run(ehr_launch.finish_launch, user, pending, state=state or back["state"], code=back.get("code"),
               error=back.get("error"), error_description=back.get("error_description"), url=url)


def _entries(url: str, ref: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(DiaryEntry).join(Patient)
                              .where(Patient.ref == ref))


def test_a_launch_imports_exactly_the_ehr_patient_and_shares_a_new_one(small_clinic, ehr):
    user = account(small_clinic, "dr.rivera")
    result = launch(small_clinic, user, ehr)
    assert (result.patient_ref, result.ehr, result.report.status) == ("MRN-4471", ehr.iss, "imported")
    assert _entries(small_clinic, "MRN-4471") == 5
    assert ehr.pkce_verified == 1
    # Only the launched patient was read, every search paged to its end (page size 2).
    assert all("ehr-99" not in path for path in ehr.fhir_requests)
    assert any("_page=4" in path for path in ehr.fhir_requests)
    with session_scope(small_clinic) as session:
        kept = session.scalars(select(ImportRecord).order_by(ImportRecord.id.desc())).first()
        stored = session.scalar(select(Patient).where(Patient.ref == "MRN-4471"))
        assert kept.file_name.startswith(f"EHR {ehr.iss} Patient ehr-77 read ") and kept.format == "fhir"
        assert (stored.name, str(stored.birth_date)) == ("Janet Okafor", "1971-04-02")
    assert "MRN-4471" in run(account_cases.shared_refs,
                             account(small_clinic, "alex.admin"), "dr.rivera", url=small_clinic)
    rows = [r for r in audit_rows(small_clinic) if r[1] == "ehr_launch"]
    assert rows[-1][2] == "ok"
    detail = json.loads(rows[-1][4])
    assert (detail["ehr"], detail["patient"], detail["ehr_patient"]) == (ehr.iss, "MRN-4471", "ehr-77")
    # The token is nowhere in the database.
    token = next(iter(ehr.tokens))
    assert all(token not in json.dumps(r, default=str) for r in audit_rows(small_clinic))


def test_a_second_launch_adds_nothing_and_a_new_reading_only_what_is_new(small_clinic, ehr):
    user = account(small_clinic, "dr.rivera")
    launch(small_clinic, user, ehr)
    again = launch(small_clinic, user, ehr)
    assert again.report.status == "already-imported" and _entries(small_clinic, "MRN-4471") == 5
    ehr.patients["ehr-77"]["Observation"].append(pain("o9", 9, 2))
    third = launch(small_clinic, user, ehr)
    assert (third.report.status, third.report.entries_added) == ("imported", 1)
    assert _entries(small_clinic, "MRN-4471") == 6


def test_an_untrusted_ehr_is_refused_in_words_and_never_contacted(small_clinic, ehr):
    user = account(small_clinic, "dr.rivera")
    with SmartEhr(redirect_uri=REDIRECT) as stranger:
        with pytest.raises(NotAllowed, match="not one this dashboard trusts, so it was not contacted"):
            run(ehr_launch.start_launch, user, stranger.iss, stranger.new_launch("ehr-77"), url=small_clinic)
        with pytest.raises(NotAllowed, match="not one this dashboard trusts"):
            run(ehr_launch.check_ehr, "not logged in", stranger.iss, url=small_clinic)
        assert stranger.fhir_requests == [] and stranger.token_requests == []
    assert [r[2] for r in audit_rows(small_clinic) if r[1] == "ehr_launch"] == ["denied", "denied"]


def test_a_return_with_another_state_is_refused(small_clinic, ehr):
    with pytest.raises(NotAllowed, match="state does not match"):
        launch(small_clinic, account(small_clinic, "dr.rivera"), ehr, state="forged")
    assert ehr.token_requests == []


def test_a_return_for_another_account_is_refused(small_clinic, ehr):
    """A launch started by one login and brought back to another's is not finished."""
    user = account(small_clinic, "dr.rivera")
    start, pending = run(ehr_launch.start_launch, user, ehr.iss, ehr.new_launch("ehr-77"), url=small_clinic)
    back = _authorize(start)
    other = dataclasses.replace(pending, username="someone.else")
    with pytest.raises(NotAllowed, match="state does not match"):
        run(ehr_launch.finish_launch, user, other, state=back["state"], code=back["code"], url=small_clinic)


def test_consent_declined_at_the_ehr_says_so(small_clinic, ehr):
    ehr.deny_consent = True
    with pytest.raises(ehr_launch.LaunchFailed, match="access_denied.*declined"):
        launch(small_clinic, account(small_clinic, "dr.rivera"), ehr)
    assert ehr.token_requests == [] and _entries(small_clinic, "MRN-4471") == 0


def test_a_refused_token_says_so(small_clinic, ehr):
    ehr.refuse_tokens = True
    with pytest.raises(ehr_launch.LaunchFailed, match=r"refused to give the dashboard access \(HTTP 400: invalid_grant"):
        launch(small_clinic, account(small_clinic, "dr.rivera"), ehr)
    assert ehr.fhir_requests == []
    assert [r[2] for r in audit_rows(small_clinic) if r[1] == "ehr_launch"] == ["failed"]


def test_the_ehr_checks_the_verifier_the_dashboard_keeps(small_clinic, ehr):
    """S256 PKCE is verified at the EHR: a wrong verifier gets no token."""
    wrong = lambda pending: dataclasses.replace(pending, verifier=smart.pkce_pair()[0])  # noqa: E731
    with pytest.raises(ehr_launch.LaunchFailed, match="invalid_grant"):
        launch(small_clinic, account(small_clinic, "dr.rivera"), ehr, tamper=wrong)
    assert ehr.pkce_verified == 0


def test_the_test_ehr_refuses_a_plain_code_challenge(ehr):
    query = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "scope": "launch openid",
             "state": "s", "aud": ehr.iss, "launch": ehr.new_launch("ehr-77"), "code_challenge": "x" * 43,
             "code_challenge_method": "plain"}
    back = _authorize(f"{ehr.base}/authorize?" + "&".join(f"{k}={v}" for k, v in query.items()))
    assert back == {"error": "invalid_request", "error_description": "Invalid code_challenge_method. Must be S256.",
                    "state": "s"}


@pytest.mark.parametrize("error, words", [
    ("invalid_scope", r"refused the dashboard's request \(invalid_scope: Scope patient/\*\.rs could not be granted\.\)"
                      r".*registration"),
    ("invalid_client", r"refused the dashboard's request \(invalid_client: Simulated invalid_client error\)"),
    ("temporarily_unavailable", r"could not answer .*Try again in a minute"),
])
def test_a_request_the_ehr_refuses_says_what_it_said_not_declined(small_clinic, ehr, error, words):
    """Found against the SMART reference launcher: its refusals (a scope or client id that the app's
    registration does not allow) come back as an OAuth error with a description, not a consent
    declined; the clinician is told to ask the administrator, with the EHR's words."""
    ehr.refuse_authorize = error
    with pytest.raises(ehr_launch.LaunchFailed, match=words) as failed:
        launch(small_clinic, account(small_clinic, "dr.rivera"), ehr)
    assert "declined" not in str(failed.value)
    assert ehr.token_requests == [] and ehr.fhir_requests == []
    assert [r[2] for r in audit_rows(small_clinic) if r[1] == "ehr_launch"] == ["failed"]


@pytest.mark.parametrize("status, words", [(401, "HTTP 401"), (403, "HTTP 403")])
def test_fhir_401_and_403_say_what_happened(small_clinic, ehr, status, words):
    ehr.force_status["MedicationRequest"] = status
    with pytest.raises(ehr_launch.LaunchFailed, match=words):
        launch(small_clinic, account(small_clinic, "dr.rivera"), ehr)
    assert _entries(small_clinic, "MRN-4471") == 0


def test_an_unreachable_ehr_says_so(small_clinic, ehr, monkeypatch):
    monkeypatch.setenv("DASHBOARD_SMART_ISS", "http://127.0.0.1:9/fhir")  # the discard port: nothing listens
    with pytest.raises(ehr_launch.LaunchFailed, match="could not be reached"):
        run(ehr_launch.start_launch, account(small_clinic, "dr.rivera"), "http://127.0.0.1:9/fhir", "l1",
            url=small_clinic)


def test_a_stored_patient_not_shared_with_the_clinician_is_refused(small_clinic, ehr):
    ehr.add_patient(patient("ehr-5", "P-RIV", ("Rivera", "Patient"), "1980-01-01"), pain("r1", 3, 4, "ehr-5"))
    with session_scope(small_clinic) as session:
        accounts.add_user(session, username="dr.chen", display_name="Dr Chen", role="clinician", password=None)
    with pytest.raises(NotAllowed, match="not shared with you"):
        launch(small_clinic, account(small_clinic, "dr.chen"), ehr, "ehr-5")
    assert [r[2] for r in audit_rows(small_clinic) if r[1] == "ehr_launch"] == ["denied"]
    assert _entries(small_clinic, "P-RIV") == 1


def test_a_stored_patient_of_the_same_reference_but_another_name_is_not_joined(small_clinic, ehr):
    ehr.add_patient(patient("ehr-6", "P-RIV", ("Someone", "Else"), "1950-05-05"), pain("s1", 3, 4, "ehr-6"))
    with session_scope(small_clinic) as session:  # the stored P-RIV has a name the EHR's patient does not share
        session.scalar(select(Patient).where(Patient.ref == "P-RIV")).name = "Maria Rivera"
    with pytest.raises(ehr_launch.LaunchFailed, match="not known to be the stored patient P-RIV"):
        launch(small_clinic, account(small_clinic, "dr.rivera"), ehr, "ehr-6")
    assert _entries(small_clinic, "P-RIV") == 1


def test_only_clinicians_launch(small_clinic, ehr):
    with pytest.raises(NotAllowed, match="for clinicians"):
        run(ehr_launch.start_launch, account(small_clinic, "alex.admin"), ehr.iss, ehr.new_launch("ehr-77"),
            url=small_clinic)


# --- the /launch page (AppTest; the browser's trip to the EHR is played by httpx) ---------------

def page_launch(ehr: SmartEhr, user, pid: str = "ehr-77"):
    """/launch as the EHR opens it, the trip to the EHR, and /launch again as the EHR sends the
    browser back (a new session, as in a browser): the second page after its run."""
    first = app("launch", user=user)
    first.query_params["iss"], first.query_params["launch"] = ehr.iss, ehr.new_launch(pid)
    first.run()
    assert not first.exception and not first.error, [e.value for e in first.error]
    state = next(reversed(session_state._PENDING))  # the launch this page just sent to the EHR
    return first, state, session_state._PENDING[state][1]


def _back(ehr: SmartEhr, first, state: str, pending, user):
    """The EHR's answer to the address the page sent the browser to, opened in a new session."""
    url = next(b.proto.url for b in first.get("link_button"))
    assert f"state={state}" in url and "code_challenge_method=S256" in url
    back = _authorize(url)
    second = app("launch", user=user)
    for key, value in back.items():
        second.query_params[key] = value
    return second.run()


def test_the_page_launch_opens_the_review_of_the_ehr_patient_with_a_banner(small_clinic, ehr):
    user = account(small_clinic, "dr.rivera")
    first, state, pending = page_launch(ehr, user)
    second = _back(ehr, first, state, pending, user)
    assert not second.exception and not second.error, [e.value for e in second.error]
    assert any(f"Opened from the EHR at {ehr.iss}" in i.value for i in second.info)
    assert "Janet Okafor" in texts(second) or "MRN-4471" in texts(second)


def test_the_page_refuses_an_untrusted_ehr_before_any_login(small_clinic, ehr):
    at = app("launch")
    at.query_params["iss"], at.query_params["launch"] = "https://evil.example/fhir", "x"
    at.run()
    assert any("not one this dashboard trusts" in e.value for e in at.error)
    assert not at.text_input  # no login form: nothing goes on
    assert [r[:3] for r in audit_rows(small_clinic) if r[1] == "ehr_launch"] == [("not logged in", "ehr_launch",
                                                                                   "denied")]


def test_the_page_asks_for_the_login_and_then_goes_on(small_clinic, ehr):
    at = app("launch")
    at.query_params["iss"], at.query_params["launch"] = ehr.iss, ehr.new_launch("ehr-77")
    at.run()
    assert any("Log in to go on" in i.value for i in at.info)
    assert not at.query_params.get("launch")  # the EHR's request left the address at once
    log_in(at, "dr.rivera", OLD)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [b.proto.label for b in at.get("link_button")] == ["Continue to the EHR"]


def test_the_page_takes_the_ehr_error_and_its_description_out_of_the_address(small_clinic, ehr):
    """The reference launcher sends ``error_description`` with every refusal: it is said on the
    page and, like the rest of the EHR's answer, leaves the address."""
    user = account(small_clinic, "dr.rivera")
    first, state, pending = page_launch(ehr, user)
    ehr.refuse_authorize = "invalid_scope"
    second = _back(ehr, first, state, pending, user)
    assert not second.exception
    # the EHR's ``*`` shown as written, not as markdown emphasis
    assert any(r"invalid_scope: Scope patient/\*.rs could not be granted." in e.value for e in second.error)
    assert not any(second.query_params.get(k) for k in ("error", "error_description", "state"))


def test_the_page_says_a_wrong_state_in_words(small_clinic, ehr):
    at = app("launch", user=account(small_clinic, "dr.rivera"))
    at.query_params["code"], at.query_params["state"] = "c", "forged"
    at.run()
    assert not at.exception and any("state does not match" in e.value for e in at.error)
