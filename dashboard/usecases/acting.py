"""Who acts on the command line: the operating-system user, or the account ``--as USER`` names."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import Actor, Operator
from dashboard.usecases.guard import refuse


def acting(session: Session, operator: Operator, as_name: str | None, action: str, detail: dict) -> Actor:
    """The operator, or the enabled account ``as_name`` names (``dashboard.access``); otherwise
    ``NotAllowed`` after a "denied" row under the operator with the name that was given (an
    unknown name never becomes the audit actor)."""
    if as_name is None:
        return operator
    user = access.acting_user(session, as_name)
    if user is None:
        refuse(session, operator, action, detail={**detail, "as": as_name, "reason": "no enabled account of that name"},
               message=f"{action}: --as {as_name!r} is not an enabled account; nothing was done")
    return user
