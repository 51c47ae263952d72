"""Build the demo clinic into a database: the patients through the one writer, and the demo accounts."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.auth.passwords import hash_password
from dashboard.db.models import Clinician, Patient, PatientShare
from dashboard.demo.clinic import generate_clinic
from dashboard.demo.inbox import add_waiting_files
from dashboard.demo.stories import STORIES
from dashboard.ingest.writer import write_import

# (username, display name, role, password): shown on the login page in demo mode only.
DEMO_ACCOUNTS: list[tuple[str, str, str, str]] = [
    ("dr.rivera", "Dr. Ana Rivera", "clinician", "rivera-demo-2026"),
    ("dr.chen", "Dr. Wei Chen", "clinician", "chen-demo-2026!"),
    ("sam.staff", "Sam Patel (clinic staff)", "staff", "staff-demo-2026"),
    ("alex.admin", "Alex Morgan (administrator)", "admin", "admin-demo-2026"),
]
# The clinic's lead clinician (changes the clinic-wide thresholds with the administrator); dr.chen
# is a clinician like most, who reads them.
DEMO_LEADS = ("dr.rivera",)
IMPORTED_BY = "demo"


class DemoRefused(ValueError):
    """The demo is built only into an empty database (no account, no patient), so nothing is
    overwritten and no real account ever sits beside the demo's published passwords."""


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _refuse_unless_empty(session: Session) -> None:
    patients = session.scalar(select(func.count(Patient.id)))
    if patients:
        raise DemoRefused(f"the database already holds {patients} patient(s); the demo clinic is built only "
                          "into an empty database, so that nothing is overwritten")
    names = [a[0] for a in DEMO_ACCOUNTS]
    taken = sorted(session.scalars(select(Clinician.username).where(Clinician.username.in_(names))))
    if taken:
        raise DemoRefused(f"the demo account(s) {', '.join(taken)} exist already; the demo clinic was not built")
    accounts = session.scalar(select(func.count(Clinician.id)))
    if accounts:
        raise DemoRefused(f"the database already holds {accounts} account(s); the demo clinic is built only into "
                          "an empty database, so that no real account sits beside the demo's published passwords")


def not_the_demo(session: Session) -> str | None:
    """Why this database is not the demo clinic alone (an account or a patient of its own), or
    None when it is empty or holds only the demo: ``run --demo`` starts only on those."""
    names = [a[0] for a in DEMO_ACCOUNTS]
    own_accounts = session.scalar(select(func.count(Clinician.id)).where(Clinician.username.not_in(names)))
    refs = [story.ref for story in STORIES]
    own_patients = session.scalar(select(func.count(Patient.id)).where(Patient.ref.not_in(refs)))
    if own_accounts or own_patients:
        return (f"the database holds {own_accounts} account(s) and {own_patients} patient(s) that are not the "
                "demo's: demo mode shows the demo passwords on the login page, so it runs only on an empty "
                "database or the demo's own")
    return None


def _add_accounts(session: Session) -> dict[str, int]:
    now = _now()
    accounts = [Clinician(username=u, display_name=d, role=r, password_hash=hash_password(p), active=True,
                          failed_logins=0, created_at=now, clinic_lead=u in DEMO_LEADS) for u, d, r, p in DEMO_ACCOUNTS]
    session.add_all(accounts)
    session.flush()
    return {a.username: a.id for a in accounts}


def _share_patients(session: Session, accounts: dict[str, int]) -> int:
    ids = {ref: pid for ref, pid in session.execute(select(Patient.ref, Patient.id))}
    now = _now()
    shares = [PatientShare(clinician_id=accounts[user], patient_id=ids[story.ref], shared_at=now)
              for story in STORIES for user in story.shared_with]
    session.add_all(shares)
    session.flush()
    return len(shares)


def build_demo(session: Session, *, seed: int = 7, today: date | None = None) -> dict:
    """Write the demo clinic in the caller's transaction; raises DemoRefused if patients exist."""
    today = today or date.today()
    _refuse_unless_empty(session)
    totals = {"entries": 0, "steps": 0, "visits": 0, "co_medications": 0}
    for parsed, raw in generate_clinic(seed, today):
        counts = {"steps": len(parsed.steps), "visits": len(parsed.visits), "co_medications": len(parsed.comedications)}
        report = write_import(session, parsed, raw=raw, imported_by=IMPORTED_BY)
        if report.status != "imported":  # the generator's own bug: say what the writer refused
            raise RuntimeError(f"demo file {parsed.file_name} was not imported: {report.message} "
                               f"{report.refused_rows[:3]} {report.conflicts[:3]}")
        totals["entries"] += report.entries_added
        for key, n in counts.items():
            totals[key] += n
    accounts = _add_accounts(session)
    shares = _share_patients(session, accounts)
    inbox = add_waiting_files(session, today, _now())  # its link's address is said here only (only the hash is kept)
    return {"seed": seed, "today": today.isoformat(), "patients": len(STORIES), **totals,
            "accounts": len(accounts), "shares": shares, **inbox}
