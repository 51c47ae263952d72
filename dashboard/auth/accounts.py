"""Local accounts: unique users, argon2 passwords, lockout, and who may see which patient.

HIPAA Security Rule 45 CFR 164.312(a)(1) (unique user identification, access control) and
(d) (person authentication). Access is decided here, where data is read, not by hiding pages.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.actors import User
from dashboard.audit_actions import AuditAction
from dashboard.auth.passwords import hash_password, verify_password
from dashboard.db import audit
from dashboard.db.models import Clinician, PatientShare
from dashboard.db.queries import patient_by_ref
from dashboard.text_rules import unstorable

ROLES = ("clinician", "staff", "admin")
LEAD_ROLE = "clinician"  # only a clinician is marked as the clinic's lead (administrators need no mark)
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12
USERNAME_MAX = 100  # clinician.username is VARCHAR(100)
# One message for every refused login, whether the name is unknown, the password wrong or the
# account locked: a different message for a locked account would tell a stranger the name exists.
LOGIN_REFUSED = ("Unknown user name or wrong password. After repeated failed logins an account is locked "
                 "for a while: try again later or ask an administrator.")
# The most common passwords of public breach lists (NCSC "PwnedPasswordsTop100k" head); NIST SP 800-63B 5.1.1.2.
COMMON_PASSWORDS = frozenset(
    """123456 123456789 12345678 password qwerty123 qwerty 1q2w3e4r 111111 12345 1234567 123123 abc123 iloveyou
    password1 000000 1234567890 qwertyuiop 123321 654321 superman 666666 7777777 dragon monkey letmein football
    baseball welcome admin administrator passw0rd password123 changeme trustno1 sunshine princess master
    michael shadow ashley jennifer hunter2 starwars whatever freedom batman zaq12wsx qazwsx 1qaz2wsx
    welcome123 welcome1 admin123 hospital clinic123 doctor123 ketamine password1234 letmein123""".split()
)


class AccountError(ValueError):
    pass


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def check_password_policy(password: str, username: str = "") -> None:
    """NIST SP 800-63B: length over complexity rules, and no known-common passwords."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or (username and username.lower() in lowered):
        raise AccountError("the password is too common or contains the user name")


def add_user(session: Session, *, username: str, display_name: str, role: str, password: str | None,
             oidc_issuer: str | None = None, oidc_subject: str | None = None) -> Clinician:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if session.scalar(select(Clinician.id).where(Clinician.username == username)) is not None:
        raise AccountError(f"the user {username!r} exists already")
    if password is not None:
        check_password_policy(password, username)
    user = Clinician(username=username, display_name=display_name, role=role,
                     password_hash=hash_password(password) if password else None,
                     oidc_issuer=oidc_issuer, oidc_subject=oidc_subject, active=True, failed_logins=0, created_at=_now())
    session.add(user)
    session.flush()
    return user


def as_user(account: Clinician) -> User:
    return User(id=account.id, username=account.username, display_name=account.display_name, role=account.role,
                credential_version=account.credential_version or 0,
                clinic_lead=bool(account.clinic_lead) and account.role == LEAD_ROLE)


def storable_name(username: str) -> bool:
    """A name the username column can hold: longer ones, or with a NUL (which PostgreSQL refuses
    in any text) or a lone surrogate (an undecodable byte of a command line), are unknown
    accounts, never a database error."""
    return len(username) <= USERNAME_MAX and unstorable(username) is None


def _shown_name(username: str) -> str:
    """The name as the audit trail keeps it (its actor column holds 200 characters)."""
    name = username.replace("\x00", "\ufffd")
    return name if len(name) <= USERNAME_MAX else name[:USERNAME_MAX] + "…"


def authenticate(session: Session, username: str, password: str) -> tuple[User | None, str]:
    """Check a local login; audit it either way. Returns (user, '') or (None, why for the screen)."""
    account = session.scalar(select(Clinician).where(Clinician.username == username)) \
        if storable_name(username) else None
    now = _now()
    generic = LOGIN_REFUSED
    if account is None or not account.active:
        audit.record(session, actor=_shown_name(username) or "?", action=AuditAction.LOGIN, outcome="failed",
                     detail={"reason": "unknown or disabled account"})
        return None, generic
    if account.locked_until and account.locked_until > now:
        audit.record(session, actor=username, action=AuditAction.LOGIN, outcome="locked", detail={"until": account.locked_until})
        return None, generic
    if not verify_password(account.password_hash, password):
        account.failed_logins = (account.failed_logins or 0) + 1
        detail = {"failed_logins": account.failed_logins}
        if account.failed_logins >= MAX_FAILED_LOGINS:
            account.locked_until = now + LOCKOUT
            account.failed_logins = 0
            detail["locked_until"] = account.locked_until
        audit.record(session, actor=username, action=AuditAction.LOGIN, outcome="failed", detail=detail)
        return None, generic
    account.failed_logins = 0
    account.locked_until = None
    audit.record(session, actor=username, action=AuditAction.LOGIN, outcome="ok")
    return as_user(account), ""


def user_by_oidc(session: Session, issuer: str, subject: str) -> User | None:
    """OIDC accounts are keyed on the provider's issuer and subject, never on the e-mail."""
    account = session.scalar(
        select(Clinician).where(Clinician.oidc_issuer == issuer, Clinician.oidc_subject == subject, Clinician.active)
    )
    return as_user(account) if account else None


def share(session: Session, *, username: str, patient_ref: str) -> None:
    account = session.scalar(select(Clinician).where(Clinician.username == username))
    patient = patient_by_ref(session, patient_ref)
    if account is None or patient is None:
        raise AccountError(f"unknown user {username!r} or patient {patient_ref!r}")
    if session.get(PatientShare, {"clinician_id": account.id, "patient_id": patient.id}) is None:
        session.add(PatientShare(clinician_id=account.id, patient_id=patient.id, shared_at=_now()))
        session.flush()


def resolve_user(session: Session, username: str) -> User | None:
    if not storable_name(username):
        return None  # no account can have this name: an unknown account, as for any other
    account = session.scalar(select(Clinician).where(Clinician.username == username, Clinician.active))
    return as_user(account) if account else None


def unshare(session: Session, *, username: str, patient_ref: str) -> None:
    account = session.scalar(select(Clinician).where(Clinician.username == username))
    patient = patient_by_ref(session, patient_ref)
    row = session.get(PatientShare, {"clinician_id": account.id, "patient_id": patient.id}) if account and patient else None
    if row is None:
        raise AccountError(f"{patient_ref!r} is not shared with {username!r}")
    session.delete(row)
    session.flush()


def _account(session: Session, username: str) -> Clinician:
    account = session.scalar(select(Clinician).where(Clinician.username == username))
    if account is None:
        raise AccountError(f"no user {username!r}")
    return account


def set_clinic_lead(session: Session, username: str, lead: bool) -> bool:
    """Mark a clinician as the clinic's lead (or no longer); whether they were before.
    The sessions the account has open end at their next run (the account changed)."""
    account = _account(session, username)
    if lead and account.role != LEAD_ROLE:
        raise AccountError(f"{username!r} is {account.role!r}: only a clinician is marked as the clinic's lead "
                           "(administrators change the thresholds anyway)")
    was = bool(account.clinic_lead)
    account.clinic_lead = lead
    session.flush()
    return was


def disable_user(session: Session, username: str) -> None:
    _account(session, username).active = False


def reset_password(session: Session, username: str, password: str) -> None:
    account = _account(session, username)
    check_password_policy(password, username)
    account.password_hash = hash_password(password)
    account.credential_version = (account.credential_version or 0) + 1  # ends the sessions open with the old one
    account.failed_logins = 0
    account.locked_until = None
