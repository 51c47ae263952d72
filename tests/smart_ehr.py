"""A small SMART on FHIR test EHR (SMART App Launch 2.0), standing in for Epic or Oracle Health.

One threaded HTTP server on 127.0.0.1 with what an EHR launch touches, done as the standard says:

- ``/fhir/.well-known/smart-configuration``: the endpoints, ``S256`` as the only PKCE method,
  ``launch-ehr`` and the v1 and v2 patient scopes;
- ``/ehr/chart?patient=ID``: the patient's chart with the "open app" link the EHR would show
  (the app's launch URL with ``iss`` and a fresh ``launch``);
- ``/authorize``: checks client id, redirect URI, ``launch``, ``aud`` = the FHIR base, ``state``,
  and an ``S256`` code challenge (``plain`` or none is ``invalid_request``); redirects back with
  ``code`` and ``state``, or ``error=access_denied`` when the patient (``deny_consent``) says no,
  or the OAuth error ``refuse_authorize`` names; every error with an ``error_description``, as the
  SMART reference launcher (smart-on-fhir/smart-launcher-v2) sends;
- ``/token``: a public client's code exchange; the verifier's S256 must equal the challenge
  (``invalid_grant`` otherwise, and a code works once); ``patient`` in the response;
- ``/fhir/Patient/ID`` and ``/fhir/TYPE?patient=ID``: bearer-checked (401 without a valid token),
  the token's patient only (403 for any other), paged by ``page_size`` with Bundle ``next`` links.

Every FHIR request is recorded (``fhir_requests``) so a test can say that nothing beyond the
launched patient was read; ``force_status`` makes a resource type answer 401 or 403.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "ketamine-review"
SEARCHABLE = ("Observation", "MedicationRequest", "MedicationStatement", "Condition", "Encounter")


class SmartEhr:
    def __init__(self, *, redirect_uri: str, client_id: str = CLIENT_ID, page_size: int = 2):
        self.redirect_uri, self.client_id, self.page_size = redirect_uri, client_id, page_size
        self.patients: dict[str, dict] = {}  # id -> {"Patient": resource, TYPE: [resources]}
        self.launches: dict[str, str] = {}  # launch id -> patient id
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, str] = {}  # access token -> patient id
        self.fhir_requests: list[str] = []
        self.token_requests: list[dict] = []
        self.pkce_verified = 0
        self.deny_consent = False
        self.refuse_authorize: str | None = None  # e.g. "invalid_scope": the reference launcher's simulated errors
        self.refuse_tokens = False
        self.force_status: dict[str, int] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.iss = f"{self.base}/fhir"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SmartEhr:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what a test sets up -----------------------------------------------------------------

    def add_patient(self, patient: dict, *resources: dict) -> None:
        record = self.patients.setdefault(patient["id"], {kind: [] for kind in SEARCHABLE})
        record["Patient"] = patient
        for resource in resources:
            record[resource["resourceType"]].append(resource)

    def new_launch(self, patient_id: str) -> str:
        launch = secrets.token_urlsafe(12)
        self.launches[launch] = patient_id
        return launch

    def launch_url(self, app_launch: str, patient_id: str) -> str:
        """The address the EHR's "open app" link opens."""
        return f"{app_launch}?{urlencode({'iss': self.iss, 'launch': self.new_launch(patient_id)})}"

    def chart_url(self, patient_id: str) -> str:
        return f"{self.base}/ehr/chart?{urlencode({'patient': patient_id})}"

    # --- the server --------------------------------------------------------------------------

    def _handler(self):
        ehr = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet: the tests read ehr.fhir_requests instead
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/fhir/.well-known/smart-configuration":
                    return self._json(200, ehr._configuration())
                if parts.path == "/ehr/chart":
                    return self._chart(query.get("patient", ""))
                if parts.path == "/authorize":
                    return self._authorize(query)
                if parts.path.startswith("/fhir/"):
                    ehr.fhir_requests.append(self.path)
                    status, body = ehr._fhir(parts.path[len("/fhir/"):], query, self.headers.get("Authorization", ""))
                    return self._json(status, body, "application/fhir+json")
                self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                if urlsplit(self.path).path != "/token":
                    return self._json(404, {"error": "not found"})
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                ehr.token_requests.append(form)
                status, body = ehr._token(form)
                self._json(status, body)

            def _json(self, status: int, body: dict, kind: str = "application/json") -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def _chart(self, patient_id: str) -> None:
                app = self.server.app_launch  # type: ignore[attr-defined]
                link = html.escape(ehr.launch_url(app, patient_id))
                data = (f"<html><body><h1>Chart of {html.escape(patient_id)}</h1>"
                        f'<a id="open-app" href="{link}">Open ketamine review</a></body></html>').encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorize(self, query: dict) -> None:
                error, location = ehr._authorize(query)
                if location is None:
                    return self._json(400, {"error": error})
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def set_app_launch(self, url: str) -> None:
        self._server.app_launch = url  # type: ignore[attr-defined]

    def _configuration(self) -> dict:
        return {"issuer": self.iss, "authorization_endpoint": f"{self.base}/authorize",
                "token_endpoint": f"{self.base}/token", "code_challenge_methods_supported": ["S256"],
                "grant_types_supported": ["authorization_code"],
                "token_endpoint_auth_methods_supported": ["none"],
                "scopes_supported": ["openid", "fhirUser", "launch", "patient/*.read", "patient/*.rs"],
                "response_types_supported": ["code"],
                "capabilities": ["launch-ehr", "client-public", "context-ehr-patient", "permission-patient",
                                 "permission-v1", "permission-v2", "sso-openid-connect"]}

    def _authorize(self, q: dict) -> tuple[str, str | None]:
        """(error, where to send the browser): errors about the client or its redirect URI are not
        sent back to it (RFC 6749 4.1.2.1); the others are, with the state."""
        if q.get("client_id") != self.client_id or q.get("redirect_uri") != self.redirect_uri:
            return "invalid client or redirect_uri", None
        back = lambda **kw: f"{self.redirect_uri}?{urlencode({**kw, 'state': q.get('state', '')})}"  # noqa: E731
        scopes = q.get("scope", "").split()
        if (q.get("response_type") != "code" or not q.get("state") or q.get("aud") != self.iss
                or q.get("launch") not in self.launches or "launch" not in scopes
                or q.get("code_challenge_method") != "S256" or len(q.get("code_challenge", "")) != 43):
            return "", back(error="invalid_request", error_description="Invalid code_challenge_method. Must be S256."
                            if q.get("code_challenge_method") != "S256" else "Invalid authorize request")
        if self.refuse_authorize == "invalid_scope":  # the reference launcher's words for a scope not registered
            return "", back(error="invalid_scope", error_description=f'Scope "{scopes[-1]}" could not be granted.')
        if self.refuse_authorize:
            return "", back(error=self.refuse_authorize, error_description=f"Simulated {self.refuse_authorize} error")
        if self.deny_consent:
            return "", back(error="access_denied", error_description="The user declined the app's access")
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"challenge": q["code_challenge"], "patient": self.launches[q["launch"]],
                            "scope": " ".join(scopes)}
        return "", back(code=code)

    def _token(self, form: dict) -> tuple[int, dict]:
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if (self.refuse_tokens or grant is None or form.get("grant_type") != "authorization_code"
                or form.get("client_id") != self.client_id or form.get("redirect_uri") != self.redirect_uri):
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not 43 <= len(verifier) <= 128 or not secrets.compare_digest(challenge, grant["challenge"]):
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        self.pkce_verified += 1
        token = secrets.token_urlsafe(32)
        self.tokens[token] = grant["patient"]
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": grant["scope"],
                     "patient": grant["patient"]}

    def _fhir(self, path: str, query: dict, authorization: str) -> tuple[int, dict]:
        token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else ""
        allowed = self.tokens.get(token)
        if allowed is None:
            return 401, _outcome("login", "no valid access token")
        kind, _, rid = path.partition("/")
        if kind in self.force_status:
            return self.force_status[kind], _outcome("forbidden", "refused by the test")
        patient = rid if kind == "Patient" else query.get("patient", "")
        if patient != allowed:
            return 403, _outcome("forbidden", "the token is for another patient")
        record = self.patients.get(patient)
        if record is None:
            return 404, _outcome("not-found", "no such patient")
        if kind == "Patient":
            return 200, record["Patient"]
        if kind not in SEARCHABLE or rid:
            return 400, _outcome("not-supported", "unsupported search")
        found = record[kind]
        start = int(query.get("_page", 0))
        size = min(int(query.get("_count", self.page_size)), self.page_size)
        page = found[start:start + size]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                  "entry": [{"fullUrl": f"{self.iss}/{kind}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                            for r in page],
                  "link": [{"relation": "self", "url": f"{self.iss}/{kind}?{urlencode(query)}"}]}
        if start + size < len(found):
            bundle["link"].append({"relation": "next", "url": f"{self.iss}/{kind}?" + urlencode(
                {"patient": patient, "_count": size, "_page": start + size})})
        return 200, bundle


def _outcome(code: str, text: str) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": code, "diagnostics": text}]}
