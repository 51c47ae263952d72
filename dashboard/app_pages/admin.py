"""Accounts and shares, for administrators. Every change is audited in its own transaction.

Administrators see patient references, not names or data: sharing needs no more
(HIPAA 45 CFR 164.502(b), minimum necessary).
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.exc import IntegrityError

from dashboard import access
from dashboard.usecases import accounts as account_cases, run
from dashboard.app_pages.display import blank_missing
from dashboard.audit_actions import AuditAction
from dashboard.auth import accounts
from dashboard.actors import User
from dashboard.auth.accounts import ROLES, AccountError
from dashboard.session_state import current_user, refuse_unless

MESSAGE_KEY = "admin_message"


def _change(admin: User, action: AuditAction, detail: dict, change) -> None:
    """Apply ``change(session)`` and its audit row together, then show the page afresh.
    A refused change is shown, not raised."""
    try:
        run(account_cases.change_account, admin, action, detail, change)
    except (AccountError, IntegrityError) as exc:
        why = str(exc) if isinstance(exc, AccountError) else "an account with this identity exists already"
        st.error("The change was refused:")
        st.text(why)  # may quote what was typed: plain text, never markdown
        return
    st.session_state[MESSAGE_KEY] = f"Done ({action}). The change is in the audit trail."
    st.rerun()


def _add_account(admin: User) -> None:
    with st.form("add_account", clear_on_submit=False):
        st.header("Add an account")
        username = st.text_input("User name", key="add_username").strip()
        display_name = st.text_input("Name shown in the dashboard", key="add_display_name").strip()
        role = st.selectbox("Role", ROLES, key="add_role")
        method = st.radio("Logs in with", ["password", "identity provider"], key="add_method", horizontal=True)
        password = st.text_input("Password (at least 12 characters)", type="password", key="add_password")
        issuer = st.text_input("Identity provider issuer (iss)", key="add_issuer").strip()
        subject = st.text_input("Subject at the identity provider (sub)", key="add_subject").strip()
        submitted = st.form_submit_button("Add account")
    if not submitted:
        return
    if not username or not display_name:
        st.error("A user name and a name are needed.")
        return
    oidc = method == "identity provider"
    if oidc and not (issuer and subject):
        st.error("An identity-provider account needs the issuer and the subject.")
        return
    _change(admin, AuditAction.USER_ADD, {"user": username, "role": role, "login": method},
            lambda s: accounts.add_user(s, username=username, display_name=display_name, role=role,
                                        password=None if oidc else password,
                                        oidc_issuer=issuer if oidc else None, oidc_subject=subject if oidc else None))


def _disable_account(admin: User, active: list[str]) -> None:
    st.header("Disable an account")
    others = [u for u in active if u != admin.username]  # no administrator locks themselves out
    username = st.selectbox("Account", others, key="disable_username", index=None)
    if st.button("Disable", key="disable", disabled=username is None):
        _change(admin, AuditAction.USER_DISABLE, {"user": username}, lambda s: accounts.disable_user(s, username))


def _reset_password(admin: User, active: list[str]) -> None:
    st.header("Reset a password (also unlocks the account)")
    username = st.selectbox("Account", active, key="reset_username", index=None)
    password = st.text_input("New password", type="password", key="reset_password")
    if st.button("Reset password", key="reset", disabled=username is None):
        _change(admin, AuditAction.USER_RESET_PASSWORD, {"user": username},
                lambda s: accounts.reset_password(s, username, password))


def _clinic_lead(admin: User, table) -> None:
    st.header("The clinic's lead clinician")
    st.caption("Administrators and the clinicians marked here change the clinic-wide thresholds (Settings); "
               "every other clinician reads them. Their open sessions end, so the change counts at once.")
    clinicians = table[(table["role"] == "clinician") & (table["status"] == "active")]
    leads = dict(zip(clinicians["user name"], clinicians["clinic lead"] == "yes"))
    username = st.selectbox("Clinician", list(leads), key="lead_username", index=None,
                            format_func=lambda u: f"{u} (lead)" if leads[u] else u)
    if username is None:
        return
    was = bool(leads[username])
    label = "No longer the clinic's lead" if was else "Mark as the clinic's lead"
    if st.button(label, key="lead_change"):
        _change(admin, AuditAction.USER_LEAD, {"user": username, "lead": not was, "was": was},
                lambda s: accounts.set_clinic_lead(s, username, not was))


def _shares(admin: User, active: list[str], refs: list[str]) -> None:
    st.header("Patients shared with an account")
    username = st.selectbox("Account", active, key="share_username", index=None)
    if username is None:
        return
    shared = run(account_cases.shared_refs, admin, username)
    st.text(f"Shared with {username}: {', '.join(shared) if shared else 'none'}")
    cols = st.columns(2)
    to_share = cols[0].selectbox("Share patient", [r for r in refs if r not in shared], key="share_ref", index=None)
    if cols[0].button("Share", key="share", disabled=to_share is None):
        _change(admin, AuditAction.SHARE, {"user": username, "patient": to_share},
                lambda s: accounts.share(s, username=username, patient_ref=to_share))
    to_unshare = cols[1].selectbox("Stop sharing patient", shared, key="unshare_ref", index=None)
    if cols[1].button("Stop sharing", key="unshare", disabled=to_unshare is None):
        _change(admin, AuditAction.UNSHARE, {"user": username, "patient": to_unshare},
                lambda s: accounts.unshare(s, username=username, patient_ref=to_unshare))


def show() -> None:
    admin = current_user()
    st.title("Accounts and shares")
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.success(message)
    if not refuse_unless(admin, access.may_manage_accounts(admin), AuditAction.ADMIN_PAGE,
                         "Only administrators manage accounts and shares."):
        return
    table, refs = run(account_cases.accounts_overview, admin)
    active = table.loc[table["status"] == "active", "user name"].tolist()
    st.dataframe(blank_missing(table), hide_index=True)
    accounts_tab, shares_tab = st.tabs(["Accounts", "Shares"])
    with accounts_tab:
        _add_account(admin)
        _disable_account(admin, active)
        _reset_password(admin, active)
        _clinic_lead(admin, table)
    with shares_tab:
        _shares(admin, active, refs)


if __name__ == "__main__":
    show()
