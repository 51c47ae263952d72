"""Who acts, and the small records every layer passes around: a leaf module (it imports nothing
from the package), so that ``access``, ``auth``, ``db``, the use cases and the pages can all name
them without importing one another.

Three kinds of actor exist today:

- ``User``: a logged-in person (the pages; the command line's ``--as USER`` resolves to one);
- the operating-system user running a command without ``--as`` (the server's operator), who is
  no ``User`` at all: the use cases take ``None`` for them and an audit name such as ``cli:alice``;
- nobody yet (logging in), which reads accounts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class User:
    """The logged-in person, as pages and loaders see them (hashable: part of cache keys)."""

    id: int
    username: str
    display_name: str
    role: str
    # The account's credential version when this session logged in: a password reset raises the
    # stored one, so the session no longer equals the account and ends at its next run.
    credential_version: int = 0
    # Marked as the clinic's lead clinician (``dashboard.access``: changes clinic-wide thresholds).
    # Part of the account as the session compares it: a change ends the sessions it has open.
    clinic_lead: bool = False


@dataclass(frozen=True)
class PatientInfo:
    """A patient the user has opened: what the pages show of them besides their data."""

    id: int
    ref: str
    name: str | None
    birth_year: int | None
    condition: str | None
    birth_date: date | None = None

    def born(self) -> str:
        """The birth date beside the name, so a clinician can check they have the right patient."""
        return born_words(self.birth_date, self.birth_year)


def born_words(birth_date: date | None, birth_year: int | None) -> str:
    """"born 02 Apr 1968", "born 1968" when only the year is known, or "birth date not recorded"."""
    if birth_date is not None and not (isinstance(birth_date, float) or str(birth_date) in ("NaT", "nan")):
        return f"born {birth_date:%d %b %Y}"
    if birth_year is not None and str(birth_year) not in ("nan", "<NA>"):
        return f"born {int(birth_year)}"
    return "birth date not recorded"


@dataclass(frozen=True)
class Operator:
    """The operating-system user running a command without ``--as``: the server's operator, who
    can read the database directly anyway. ``name`` is what the audit trail records (``cli:alice``,
    ``cli:uid:1000``)."""

    name: str


Actor = User | Operator


def audit_name(actor: Actor) -> str:
    """Who the audit trail names for ``actor``."""
    return actor.name if isinstance(actor, Operator) else actor.username


def as_user(actor: Actor) -> User | None:
    """The ``User`` whose shares and role ``dashboard.access`` asks about; None for the operator."""
    return None if isinstance(actor, Operator) else actor
