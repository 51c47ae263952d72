"""Log in through the clinic's identity provider (OpenID Connect, Streamlit's ``st.login``).

Streamlit does the OIDC flow when ``[auth]`` is in ``secrets.toml``; this module says which
providers are configured and which local account an identity is. Accounts are matched on the
ID token's issuer and subject ("iss", "sub"), never on the e-mail: the pair is the only
identifier OpenID Connect Core 1.0 (section 5.7) guarantees to be stable and unique, while an
e-mail can be reassigned or edited at the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

import streamlit as st
from sqlalchemy.orm import Session

from dashboard.actors import User
from dashboard.audit_actions import AuditAction
from dashboard.auth.accounts import user_by_oidc
from dashboard.db import audit

PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
REFUSED = ("Your identity provider account is not linked to an account here. "
           "Ask the clinic's administrator to add it.")


@dataclass(frozen=True)
class Provider:
    """One configured identity provider: ``name`` is what ``st.login`` takes."""

    name: str
    label: str


def _label(section: Mapping, fallback: str) -> str:
    """An optional ``label`` key names the provider on the button; else the metadata URL's host."""
    label = section.get("label")
    if label:
        return str(label)
    host = urlparse(str(section.get("server_metadata_url", ""))).hostname
    return host or fallback


def providers(auth: Mapping | None) -> list[Provider]:
    """The providers of an ``[auth]`` secrets section: the unnamed default, then ``[auth.NAME]``."""
    if not auth or not auth.get("redirect_uri") or not auth.get("cookie_secret"):
        return []
    found = []
    if all(auth.get(key) for key in PROVIDER_KEYS):
        found.append(Provider("default", _label(auth, "the clinic's identity provider")))
    for name, section in auth.items():
        if isinstance(section, Mapping) and all(section.get(key) for key in PROVIDER_KEYS):
            found.append(Provider(str(name), _label(section, str(name))))
    return found


def configured_providers() -> list[Provider]:
    """The providers in Streamlit's secrets; none when there is no secrets file."""

    try:
        if not st.secrets.load_if_toml_exists():
            return []
        return providers(st.secrets.get("auth"))
    except Exception:  # noqa: BLE001 - an unreadable secrets file means no identity provider
        return []


def resolve(session: Session, claims: Mapping) -> tuple[User | None, str]:
    """The local account for an identity; audits the login either way.

    Returns (user, '') or (None, why for the screen). An unknown subject is refused: an
    identity provider vouches for who someone is, not for what they may see here.
    """
    issuer, subject = str(claims.get("iss") or ""), str(claims.get("sub") or "")
    detail = {"method": "oidc", "issuer": issuer, "subject": subject, "email": claims.get("email")}
    user = user_by_oidc(session, issuer, subject) if issuer and subject else None
    if user is None:
        audit.record(session, actor=f"oidc:{subject or '?'}", action=AuditAction.LOGIN, outcome="failed",
                     detail={**detail, "reason": "no active account for this issuer and subject"})
        return None, REFUSED
    audit.record(session, actor=user.username, action=AuditAction.LOGIN, outcome="ok", detail=detail)
    return user, ""
