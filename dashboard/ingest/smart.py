"""The EHR's side of a SMART on FHIR EHR launch (HL7 SMART App Launch 2.0, "launch-ehr"):
discovery, the authorize address with S256 PKCE, the token exchange, and the patient's
resources read with the token into one FHIR Bundle for the one import service.

The dashboard is a public client (no secret): PKCE (RFC 7636) with S256 is what binds the code to
the browser that asked for it; SMART 2.0 requires S256 and forbids ``plain``, so a server that
does not list S256 is refused before anything is asked of it. The access token goes nowhere but
the ``Authorization`` header of requests to the FHIR base (``iss``) itself: a paging link that
leaves that base is refused, never followed with the token. Every failure is a ``SmartError``
whose ``str()`` says in words what happened and what to do; ``step`` names it for the audit row.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import httpx

TIMEOUT = httpx.Timeout(20.0, connect=10.0)
FHIR_JSON = "application/fhir+json"
# The resources read for the launched patient (the importer's inputs, import-formats.md v3 section 3).
SEARCHED = ("Observation", "MedicationRequest", "MedicationStatement", "Condition", "Encounter")
PAGE_SIZE = 100
MAX_PAGES = 500  # 50,000 resources of one type: a paging loop is cut, not followed forever
SCOPES_V1 = ("launch", "openid", "fhirUser", "patient/*.read")
SCOPES_V2 = ("launch", "openid", "fhirUser", "patient/*.rs")
AGAIN = "Open the app again from the patient's chart in the EHR."


class SmartError(Exception):
    """A step of the launch failed; ``str()`` is the sentence for the clinician."""

    def __init__(self, message: str, step: str):
        super().__init__(message)
        self.step = step


@dataclass(frozen=True)
class SmartConfig:
    """What ``{iss}/.well-known/smart-configuration`` says the dashboard needs."""

    iss: str
    authorization_endpoint: str
    token_endpoint: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class Token:
    """The token response's parts the dashboard uses; kept only in the server-side session."""

    access_token: str
    patient: str
    scope: str


def said(text: object, limit: int = 120) -> str:
    """A server's own words (an OAuth ``error``), cut and reduced to plain characters: shown as text.
    ``*`` is kept for the scopes an EHR names (``patient/*.read``); the page escapes it."""
    return re.sub(r"[^A-Za-z0-9 _.:,'()/*-]", "", str(text))[:limit]


def _is_https_or_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost"))


def _get(client: httpx.Client, url: str, step: str, what: str, **kwargs) -> httpx.Response:
    try:
        return client.get(url, **kwargs)
    except httpx.HTTPError as exc:
        raise SmartError(f"The EHR could not be reached while {what} ({type(exc).__name__}). Nothing was imported. "
                         f"Try again in a minute; if it goes on, tell the clinic's administrator.", step) from None


def discover(client: httpx.Client, iss: str) -> SmartConfig:
    """The endpoints and scopes of a trusted ``iss``; refuses one that does not offer S256 PKCE."""
    response = _get(client, f"{iss}/.well-known/smart-configuration", "discovery", "asking for its SMART settings",
                    headers={"Accept": "application/json"})
    broken = ("The EHR's SMART settings ({iss}/.well-known/smart-configuration) {why}. Nothing was asked of it. "
              "Tell the clinic's administrator.")
    if response.status_code != 200:
        raise SmartError(broken.format(iss=iss, why=f"answered HTTP {response.status_code}"), "discovery")
    try:
        body = response.json()
        authorize, token = str(body["authorization_endpoint"]), str(body["token_endpoint"])
    except (ValueError, KeyError, TypeError):
        raise SmartError(broken.format(iss=iss, why="cannot be read (no authorization or token endpoint)"),
                         "discovery") from None
    if not (_is_https_or_local(authorize) and _is_https_or_local(token)):
        raise SmartError(broken.format(iss=iss, why="name endpoints that are not HTTPS"), "discovery")
    if "S256" not in (body.get("code_challenge_methods_supported") or []):
        raise SmartError(broken.format(iss=iss, why="do not offer S256 PKCE, which SMART 2.0 requires and the "
                                                   "dashboard uses"), "discovery")
    scopes = body.get("scopes_supported") or []
    return SmartConfig(iss, authorize, token, tuple(str(s) for s in scopes if isinstance(s, str)))


def scopes_for(config: SmartConfig) -> str:
    """``patient/*.rs`` (SMART 2.0 read and search) when the server lists it, else ``patient/*.read``."""
    return " ".join(SCOPES_V2 if "patient/*.rs" in config.scopes else SCOPES_V1)


def pkce_pair() -> tuple[str, str]:
    """A fresh code verifier (43 characters of 32 random bytes) and its S256 challenge (RFC 7636 4.1-4.2)."""
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(config: SmartConfig, *, client_id: str, redirect_uri: str, launch: str, state: str,
                  challenge: str) -> str:
    """Where the browser goes to ask the EHR: ``aud`` is the FHIR base the token is for (``iss``)."""
    query = urlencode({"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                       "launch": launch, "scope": scopes_for(config), "state": state, "aud": config.iss,
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    return f"{config.authorization_endpoint}{'&' if '?' in config.authorization_endpoint else '?'}{query}"


def exchange(client: httpx.Client, config: SmartConfig, *, code: str, verifier: str, client_id: str,
             redirect_uri: str) -> Token:
    """The code and the verifier for the access token; the patient in context is the response's ``patient``."""
    try:
        response = client.post(config.token_endpoint, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": client_id, "code_verifier": verifier}, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise SmartError(f"The EHR could not be reached to finish the launch ({type(exc).__name__}). Nothing was "
                         f"read. {AGAIN}", "token") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        error = said(body.get("error", "")) if isinstance(body, dict) else ""
        raise SmartError(f"The EHR refused to give the dashboard access (HTTP {response.status_code}"
                         f"{': ' + error if error else ''}). Nothing was read. {AGAIN}", "token")
    if str(body.get("token_type", "")).lower() != "bearer":
        raise SmartError(f"The EHR's answer was not a bearer token. Nothing was read. {AGAIN}", "token")
    patient = body.get("patient")
    if not isinstance(patient, str) or not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", patient):
        raise SmartError("The EHR did not say which patient's chart the app was opened from. Nothing was read. "
                         "Open the app from a patient's chart in the EHR.", "token")
    return Token(str(body["access_token"]), patient, str(body.get("scope", "")))


def read_patient(client: httpx.Client, iss: str, token: Token) -> bytes:
    """The patient's resources as one FHIR Bundle (type ``collection``), in a fixed order and
    spelling, so the same EHR data make the same bytes and a re-launch imports nothing twice."""
    headers = {"Authorization": f"Bearer {token.access_token}", "Accept": FHIR_JSON}
    patient = _fhir(client, f"{iss}/Patient/{token.patient}", headers, "Patient")
    if patient.get("resourceType") != "Patient" or patient.get("id") != token.patient:
        raise SmartError("The EHR answered with another resource than the launched patient. Nothing was imported. "
                         "Tell the clinic's administrator.", "fhir")
    found = {("Patient", token.patient): patient}
    for kind in SEARCHED:
        for resource in _search(client, iss, kind, token.patient, headers):
            found[(kind, str(resource.get("id", "")))] = resource
    order = {kind: i for i, kind in enumerate(("Patient", *SEARCHED))}
    entries = [{"fullUrl": f"{iss}/{kind}/{rid}", "resource": found[(kind, rid)]}
               for kind, rid in sorted(found, key=lambda k: (order[k[0]], k[1]))]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    return json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _search(client: httpx.Client, iss: str, kind: str, patient: str, headers: dict) -> list[dict]:
    """Every page of ``{kind}?patient=`` (Bundle ``next`` links, on the same FHIR base only)."""
    url = f"{iss}/{kind}?{urlencode({'patient': patient, '_count': PAGE_SIZE})}"
    out: list[dict] = []
    for _ in range(MAX_PAGES):
        bundle = _fhir(client, url, headers, kind)
        for entry in bundle.get("entry") or []:
            resource = entry.get("resource") if isinstance(entry, dict) else None
            mode = (entry.get("search") or {}).get("mode", "match") if isinstance(entry, dict) else "match"
            if not isinstance(resource, dict) or mode != "match" or resource.get("resourceType") != kind:
                continue  # an OperationOutcome or an included resource: not the patient's record
            if not _of_patient(resource, patient):
                raise SmartError(f"The EHR's {kind} search returned a record of another patient. Nothing was "
                                 "imported. Tell the clinic's administrator.", "fhir")
            out.append(resource)
        url = next((link.get("url") for link in bundle.get("link") or []
                    if isinstance(link, dict) and link.get("relation") == "next"), None)
        if not url:
            return out
        if not str(url).startswith(f"{iss}/") and not str(url).startswith(f"{iss}?"):
            raise SmartError(f"The EHR's {kind} search sent the next page to another server. Nothing was imported "
                             "(the access token is sent only to the EHR's FHIR address). Tell the clinic's "
                             "administrator.", "fhir")
    raise SmartError(f"The EHR's {kind} search did not end after {MAX_PAGES} pages. Nothing was imported. Tell the "
                     "clinic's administrator.", "fhir")


def _of_patient(resource: dict, patient: str) -> bool:
    reference = (resource.get("subject") or resource.get("patient") or {})
    reference = reference.get("reference", "") if isinstance(reference, dict) else ""
    return bool(re.search(rf"(?:^|/)Patient/{re.escape(patient)}$", str(reference)))


def _fhir(client: httpx.Client, url: str, headers: dict, kind: str) -> dict:
    response = _get(client, url, "fhir", f"reading the patient's {kind} records", headers=headers)
    if response.status_code == 401:
        raise SmartError(f"The EHR refused the dashboard's access when reading the patient's {kind} records "
                         f"(HTTP 401: the access has ended or was withdrawn). Nothing was imported. {AGAIN}", "fhir")
    if response.status_code == 403:
        raise SmartError(f"The EHR did not allow reading the patient's {kind} records (HTTP 403: the access granted "
                         "does not cover them). Nothing was imported. Ask the clinic's administrator to check the "
                         "app's scopes at the EHR.", "fhir")
    if response.status_code != 200:
        raise SmartError(f"The EHR could not give the patient's {kind} records (HTTP {response.status_code}). "
                         "Nothing was imported. Try again in a minute; if it goes on, tell the clinic's "
                         "administrator.", "fhir")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SmartError(f"The EHR's answer for the patient's {kind} records is not FHIR JSON. Nothing was imported. "
                         "Tell the clinic's administrator.", "fhir")
    return body
