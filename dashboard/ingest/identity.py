"""The file's patient beside the stored patient it goes to (import-formats.md v3, "The file's patient").

Every import that names a patient shows what the file says of them (name, birth date,
identifiers) beside the stored patient of that reference, or "new patient". The import is
refused, unless someone confirms with a reason that they are the same person, when:

- they **disagree**: another name (compared as a person would: case, accents, spaces, the order
  of given and family names, a middle initial and punctuation do not count), another birth date
  (or year, when one side knows only the year), or an identifier of the same system with another
  value. Absent on either side is never a disagreement; the preview says what is unknown.
- the file knows its patient **only by a resource id** (``Patient/example``: a server's id, not a
  clinic's identifier), a stored patient already has that reference, and their names and birth
  dates are not both known and equal: the file may be another server's "example". The first
  file with such an id still creates its patient.

An identifier of the file (same system and value) that a **different** stored patient holds is
refused outright, whether the file joins another stored patient or would create a new one: an
identifier names one person, so the file's patient is that other patient, or one of the two records
is wrong. No same-person confirmation passes it (it would leave one identifier on two patients);
the message names the other patient only to a reader who may open them.

A confirmation is one audit row per patient holding both identities and the reason. A stored
patient without a name or birth date takes them from the first file that brings them (an audited
change); identifiers the stored patient lacks are added. A stored name, birth date or identifier
is never overwritten by a file, confirmed or not: the clinic's record changes only deliberately.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from dashboard.audit_actions import AuditAction
from dashboard.db import audit
from dashboard.db.models import Patient, PatientIdentifier
from dashboard.ingest.fhir.dashboard_codes import PATIENT_REF_SYSTEM
from dashboard.ingest.records import (
    KNOWN_BY_IDENTIFIER,
    KNOWN_BY_NAMED,
    KNOWN_BY_REFERENCE,
    KNOWN_BY_RESOURCE_ID,
    ParsedFile,
    PatientRecord,
)

UNKNOWN = "unknown"
STORED_HIDDEN = "stored details hidden: ask the patient's clinician"  # as ingest.service says of a conflict
ANOTHER_PATIENT = "another stored patient"  # the holder of an identifier, to a reader who may not open them
KNOWN_BY_WORDS = {
    KNOWN_BY_REFERENCE: "the clinic's reference",
    KNOWN_BY_IDENTIFIER: "an identifier",
    KNOWN_BY_RESOURCE_ID: "a resource id only",
    KNOWN_BY_NAMED: "the reference typed at import",
}


@dataclass
class Identity:
    """Who a patient is, as one side (the file or the store) says: each part None when unknown."""

    name: str | None = None
    birth_date: date | None = None
    birth_year: int | None = None
    identifiers: list[tuple[str, str]] = field(default_factory=list)

    def born(self) -> str | None:
        if self.birth_date is not None:
            return self.birth_date.isoformat()
        return str(self.birth_year) if self.birth_year is not None else None

    def as_dict(self) -> dict:
        return {"name": self.name, "birth_date": self.born(),
                "identifiers": [{"system": s, "value": v} for s, v in self.identifiers]}


@dataclass
class IdentityCheck:
    """One patient of the file against the stored patient of that reference (None: a new patient)."""

    patient: str
    file: Identity
    known_by: str
    resource_id: str | None
    stored: Identity | None
    disagreements: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    # Why the import asks "which patient is this?" (a resource id alone matching a stored patient), or None.
    question: str | None = None
    # What the stored patient lacks and the file brings: filled on import.
    fills: dict = field(default_factory=dict)
    new_identifiers: list[tuple[str, str]] = field(default_factory=list)
    # The file's identifiers a different stored patient holds: {"system", "value", "patient": their ref}.
    held_by_other: list[dict] = field(default_factory=list)

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.disagreements or self.question)

    def as_dict(self) -> dict:
        out = {"patient": self.patient, "file": self.file.as_dict(), "known_by": self.known_by,
               "resource_id": self.resource_id, "stored": None if self.stored is None else self.stored.as_dict(),
               "new_patient": self.stored is None, "disagreements": list(self.disagreements),
               "unknown": list(self.unknown), "question": self.question,
               "needs_confirmation": self.needs_confirmation, "held_by_other": [dict(h) for h in self.held_by_other]}
        return out


def name_key(name: str | None) -> tuple[str, ...] | None:
    """A name as a person compares names: without case, accents, punctuation or initials, and in
    any order ("Okafor, Janet" = "janet  OKAFOR" = "Jânet A. Okafor")."""
    if not name or not name.strip():
        return None
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()
    plain = re.sub(r"['\u2019`]", "", plain)
    words = [w for w in re.split(r"[\W_]+", plain) if len(w) > 1]
    return tuple(sorted(words)) or None


def same_name(a: str | None, b: str | None) -> bool | None:
    """True or False, or None when either side has no name."""
    ka, kb = name_key(a), name_key(b)
    return None if ka is None or kb is None else ka == kb


def same_birth(a: Identity, b: Identity) -> bool | None:
    """Full dates compared when both have one, else the years; None when either knows neither."""
    if a.birth_date is not None and b.birth_date is not None:
        return a.birth_date == b.birth_date
    ya = a.birth_date.year if a.birth_date else a.birth_year
    yb = b.birth_date.year if b.birth_date else b.birth_year
    return None if ya is None or yb is None else ya == yb


def describe(identity: dict | None) -> str:
    """An identity (``Identity.as_dict``) in words, for a message: every part, "unknown" where absent."""
    if identity is None:
        return "new patient"
    idents = ", ".join(f"{i['system'] or 'no system'} {i['value']}" for i in identity["identifiers"]) or UNKNOWN
    return f"name {identity['name'] or UNKNOWN}, born {identity['birth_date'] or UNKNOWN}, identifiers {idents}"


def check(session: Session, parsed: ParsedFile, patient_ids: dict[str, int]) -> list[IdentityCheck]:
    """Each patient of the file against the stored patient of its reference; writes nothing."""
    records = {p.ref: p for p in parsed.patients}
    stored_ids = _stored_identifiers(session, sorted(set(patient_ids.values())))
    checks = []
    for ref in parsed.patient_refs():
        rec = records.get(ref) or PatientRecord(ref=ref)
        mine = Identity(rec.name, rec.birth_date, rec.birth_year, list(rec.identifiers))
        pid = patient_ids.get(ref)
        stored = None
        if pid is not None:
            row = session.get(Patient, pid)
            stored = Identity(row.name, row.birth_date, row.birth_year, stored_ids.get(pid, []))
        checks.append(_compare(ref, rec, mine, stored))
        checks[-1].held_by_other = _held_by_other(session, ref, pid, mine.identifiers)
    return checks


def _held_by_other(session: Session, ref: str, pid: int | None, identifiers: list[tuple[str, str]]) -> list[dict]:
    """The file's identifiers (with a system: without one, whose number is it?) that a stored patient
    other than ``ref``'s holds; the dashboard's own reference system names a stored patient's ref."""
    out: list[dict] = []
    for system, value in identifiers:
        if not system:
            continue
        if system == PATIENT_REF_SYSTEM:
            holders = [] if value == ref else list(session.scalars(select(Patient.ref).where(Patient.ref == value)))
        else:
            query = (select(Patient.ref).join(PatientIdentifier, PatientIdentifier.patient_id == Patient.id)
                     .where(PatientIdentifier.system == system, PatientIdentifier.value == value))
            if pid is not None:
                query = query.where(Patient.id != pid)
            holders = sorted(set(session.scalars(query)))
        out += [{"system": system, "value": value, "patient": holder} for holder in holders]
    return out


def _stored_identifiers(session: Session, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    if ids:
        rows = session.execute(select(PatientIdentifier.patient_id, PatientIdentifier.system, PatientIdentifier.value)
                               .where(PatientIdentifier.patient_id.in_(ids)).order_by(PatientIdentifier.id))
        for pid, system, value in rows:
            out.setdefault(pid, []).append((system, value))
    return out


def _compare(ref: str, rec: PatientRecord, mine: Identity, stored: Identity | None) -> IdentityCheck:
    c = IdentityCheck(patient=ref, file=mine, known_by=rec.known_by, resource_id=rec.resource_id, stored=stored)
    if mine.name is None:
        c.unknown.append("the file gives no name")
    if mine.born() is None:
        c.unknown.append("the file gives no birth date")
    if stored is None:
        return c
    if stored.name is None:
        c.unknown.append("the stored patient has no name")
    if stored.born() is None:
        c.unknown.append("the stored patient has no birth date")
    names, births = same_name(mine.name, stored.name), same_birth(mine, stored)
    if names is False:
        c.disagreements.append(f"name: the file says {mine.name!r}, the stored patient is {stored.name!r}")
    if births is False:
        c.disagreements.append(f"birth date: the file says {mine.born()}, the stored patient {stored.born()}")
    stored_by_system = {}
    for system, value in stored.identifiers:
        stored_by_system.setdefault(system, set()).add(value)
    for system, value in mine.identifiers:
        # Without a system an identifier cannot be compared: whose number is it?
        if system and system in stored_by_system and value not in stored_by_system[system]:
            c.disagreements.append(f"identifier {system}: the file says {value!r}, the stored patient "
                                   f"{', '.join(repr(v) for v in sorted(stored_by_system[system]))}")
        elif (system, value) not in stored.identifiers and system != PATIENT_REF_SYSTEM:
            c.new_identifiers.append((system, value))  # the dashboard's own export's is the reference itself
    if rec.known_by == KNOWN_BY_RESOURCE_ID and not (names and births):
        c.question = (f"the file knows its patient only by the resource id {rec.resource_id or ref}, and a stored "
                      f"patient {ref} already exists; their names and birth dates are not both known and the same, "
                      "so this may be another source's patient of the same id")
    if stored.name is None and mine.name is not None:
        c.fills["name"] = mine.name
    if stored.birth_date is None and mine.birth_date is not None:
        c.fills["birth_date"] = mine.birth_date
    if stored.birth_year is None and (mine.birth_year or (mine.birth_date and mine.birth_date.year)):
        c.fills["birth_year"] = mine.birth_year or mine.birth_date.year
    return c


def identity_words(c: dict) -> str:
    """One patient's check (``IdentityCheck.as_dict``, the stored side perhaps hidden) in one line:
    the file's identity as it names them, the stored patient's (or new patient), what differs and
    what is unknown."""
    known_by = KNOWN_BY_WORDS.get(c["known_by"], c["known_by"])
    resource = f", resource id {c['resource_id']}" if c["resource_id"] else ""
    if c["stored"] is None:
        stored = "new patient"
    elif c.get("stored_hidden"):
        stored = STORED_HIDDEN
    else:
        stored = f"stored {c['patient']}: {describe(c['stored'])}"
    return f"the file says {describe(c['file'])} (known by {known_by}{resource}); {stored}" + _findings(c)


def _findings(c: dict) -> str:
    """What differs, what is asked, whose identifier it is and what is unknown, each after "; "."""
    out = ""
    if c["disagreements"]:
        out += "; DIFFERS: " + "; ".join(c["disagreements"])
    if c["question"]:
        out += f"; which patient is this? {c['question']}"
    if c.get("held_by_other"):
        out += "; IDENTIFIER OF ANOTHER PATIENT: " + "; ".join(held_words(h) for h in c["held_by_other"])
    if c["unknown"]:
        out += "; unknown: " + ", ".join(c["unknown"])
    return out


def identity_rows(c: dict) -> list[dict]:
    """One patient's check (``IdentityCheck.as_dict``, the stored side perhaps hidden) as rows of
    field | in the file | stored, for a small table beside the confirmation."""
    stored = c["stored"]

    def side(identity: dict | None, part: str) -> str:
        if identity is None:
            return "new patient"
        if identity is stored and c.get("stored_hidden"):
            return STORED_HIDDEN
        if part == "identifiers":
            return ", ".join(f"{i['system'] or 'no system'} {i['value']}" for i in identity["identifiers"]) or UNKNOWN
        return identity[part] or UNKNOWN

    known_by = KNOWN_BY_WORDS.get(c["known_by"], c["known_by"])
    resource = f", resource id {c['resource_id']}" if c["resource_id"] else ""
    return [{"field": "name", "in the file": side(c["file"], "name"), "stored": side(stored, "name")},
            {"field": "birth date", "in the file": side(c["file"], "birth_date"), "stored": side(stored, "birth_date")},
            {"field": "identifiers", "in the file": side(c["file"], "identifiers"),
             "stored": side(stored, "identifiers")},
            {"field": "known by", "in the file": known_by + resource, "stored": c["patient"]}]


def identity_summary(c: dict) -> str:
    """What the table of ``identity_rows`` does not say: new or stored, what differs, what is unknown."""
    return ("new patient" if c["stored"] is None else "stored patient") + _findings(c)


def held_words(held: dict) -> str:
    """One identifier of the file that another stored patient holds, that patient named only when
    the reader may open them (``hide_stored``)."""
    holder = held["patient"] or f"{ANOTHER_PATIENT} ({STORED_HIDDEN})"
    return f"the file's identifier {held['system']} {held['value']!r} is already held by {holder}"


def held_refusal(file_name: str, identities: list[dict]) -> str | None:
    """The refusal of a file whose identifier a different stored patient holds; None when none does.
    No same-person confirmation passes it (see the module docstring)."""
    parts = []
    for c in identities:
        if not c.get("held_by_other"):
            continue
        goes_to = "a new patient" if c["stored"] is None else "the stored patient"
        parts.append(f"the file's patient would go to {goes_to} {c['patient']}, but "
                     + "; ".join(held_words(h) for h in c["held_by_other"]))
    if not parts:
        return None
    return (f"{file_name}: " + " | ".join(parts) + ". An identifier names one person: nothing was imported. If the "
            "file is that patient's, import it as theirs (--patient REF; on the import page, the patient reference); "
            "if a stored identifier is wrong, have it corrected first. Confirming the same person does not pass this.")


def refusal(file_name: str, identities: list[dict]) -> str:
    """The refusal's message (from ``IdentityCheck.as_dict``s, the stored side perhaps hidden):
    the file, each doubtful patient, both identities and what differs."""
    parts = []
    for c in identities:
        if not c["needs_confirmation"]:
            continue
        why = "; ".join(c["disagreements"] + ([f"which patient is this? {c['question']}"] if c["question"] else []))
        stored = STORED_HIDDEN if c.get("stored_hidden") else describe(c["stored"])
        parts.append(f"the file's patient ({describe(c['file'])}) is not known to be the stored patient "
                     f"{c['patient']} ({stored}): {why}")
    return (f"{file_name}: " + " | ".join(parts) + ". Nothing was imported. If they are the same person, confirm it "
            "with a reason (--same-person REASON; on the import page, the 'same person' box); otherwise give the "
            "right patient's reference.")


def hide_stored(identities: list[dict], visible: set[str]) -> None:
    """The stored side only for patients the reader may open (``ImportPolicy.visible``); what differs
    is still said, by part, without the stored values."""
    for c in identities:
        if c["stored"] is not None and c["patient"] not in visible:
            c["stored_hidden"] = True
            c["stored"] = {"name": None, "birth_date": None, "identifiers": []}
            c["disagreements"] = [d.split(":", 1)[0] + " differs from the stored patient's" for d in c["disagreements"]]
            c["unknown"] = [u for u in c["unknown"] if not u.startswith("the stored patient")]
        for held in c.get("held_by_other", []):
            if held["patient"] not in visible:
                held["patient"] = None


def has_changes(checks: list[IdentityCheck]) -> bool:
    return any(c.stored is not None and (c.fills or c.new_identifiers) for c in checks)


def apply(session: Session, parsed: ParsedFile, checks: list[IdentityCheck], patient_ids: dict[str, int], *,
          import_id: int, file_name: str, actor: str, same_person: str | None) -> None:
    """In the import's transaction: identifiers of new patients, what a stored patient lacked (an
    audited change), and each confirmation (an audit row holding both identities and the reason)."""
    rows = []
    for c in checks:
        pid = patient_ids[c.patient]
        if c.stored is None:
            rows += [{"patient_id": pid, "system": s, "value": v, "import_id": import_id}
                     for s, v in c.file.identifiers if s != PATIENT_REF_SYSTEM]
            continue
        if c.needs_confirmation:
            audit.record(session, actor=actor, action=AuditAction.CONFIRM_SAME_PERSON, patient_id=pid, detail={
                "file": file_name, "import_id": import_id, "patient": c.patient, "reason": same_person,
                "file_identity": {**c.file.as_dict(), "resource_id": c.resource_id, "known_by": c.known_by},
                "stored_identity": c.stored.as_dict(), "disagreements": c.disagreements, "question": c.question})
        rows += [{"patient_id": pid, "system": s, "value": v, "import_id": import_id} for s, v in c.new_identifiers]
        if c.fills:
            patient = session.get(Patient, pid)
            old = {k: _plain(getattr(patient, k)) for k in c.fills}
            for key, value in c.fills.items():
                setattr(patient, key, value)
            audit.record(session, actor=actor, action=AuditAction.RECORD_CHANGE, patient_id=pid, detail={
                "record": "patient identity", "patient": c.patient, "file": file_name, "import_id": import_id,
                "old": old, "new": {k: _plain(v) for k, v in c.fills.items()},
                "why": "the stored patient had none; the first file that brings them fills them"})
    if rows:
        session.execute(insert(PatientIdentifier.__table__), rows)


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def as_dicts(checks: list[IdentityCheck]) -> list[dict]:
    return [c.as_dict() for c in checks]

