"""Every audit action, in one enumeration: what an event in ``audit_event.action`` is called.

A ``StrEnum``, so a stored action is a plain string and ``AuditAction.IMPORT == "import"``.
New rows use these snake_case names. Rows written before this module existed used a few
other spellings ("record change", "user add", ...); the table is append-only, so they are
never rewritten: ``LEGACY`` maps each old spelling to its action and ``spellings`` lists
every string an action has been stored as, so a filter on an action finds old rows too.
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    LOGIN = "login"  # a local or identity-provider login: ok, failed or locked
    LOGOUT = "logout"  # by the user, after the idle limit, or because the account changed
    VIEW_PATIENT = "view_patient"  # a patient's review opened (or refused)
    IMPORT = "import"  # a file imported, refused, or refused for a patient not shared
    EXPORT = "export"  # a patient's diary CSV or FHIR R4 Bundle (detail: format), or the audit trail as CSV
    SUMMARY = "summary"  # a patient's review numbers as JSON (command line)
    # a titration step or visit recorded or changed (old and new values), or a proposed step accepted or rejected
    RECORD_CHANGE = "record_change"
    ACKNOWLEDGE_FLAG = "acknowledge_flag"  # a review flag acknowledged with a note
    SETTINGS_CHANGE = "settings_change"  # thresholds changed (or a change refused)
    SAVE_MAPPING_PROFILE = "save_mapping_profile"  # a mapping profile saved or replaced
    DEMO_BUILD = "demo_build"  # the demo clinic built into the database
    USER_ADD = "user_add"  # an account added
    USER_DISABLE = "user_disable"  # an account disabled
    USER_RESET_PASSWORD = "user_reset_password"  # a password reset (unlocks the account)
    USER_LEAD = "user_lead"  # a clinician marked as the clinic's lead, or no longer (detail: lead, was)
    SHARE = "share"  # a patient shared with an account
    UNSHARE = "unshare"  # a share withdrawn
    VIEW_AUDIT = "view_audit"  # the audit trail page opened (refusals are audited)
    ADMIN_PAGE = "admin_page"  # the accounts page opened (refusals are audited)
    BACKUP = "backup"  # a backup of the whole database taken (python -m dashboard backup)
    RESTORE = "restore"  # a backup restored into an empty database (written into the restored trail)
    REPORT = "report"  # a patient's pre-visit report (PDF) made, on the page or the command line
    VIEW_COHORT = "view_cohort"  # the cohort view opened: figures over many patients (their count, the scope)
    RESOLVE_CONFLICT = "resolve_conflict"  # a stored entry kept or replaced by a file's values, with a reason
    DOWNLOAD_IMPORT = "download_import"  # a kept import file downloaded again (refusals are audited)
    VIEW_WORKLIST = "view_worklist"  # the worklist opened (page or command line): the patients listed
    # a file's patient confirmed, with a reason, to be the stored patient despite a disagreement (both identities)
    CONFIRM_SAME_PERSON = "confirm_same_person"
    # a SMART on FHIR launch from the EHR: who, which EHR (iss), which patient, the import (or why refused/failed)
    EHR_LAUNCH = "ehr_launch"
    # a patient's upload link made (detail: link id, expiry, uses; never its token), or refused
    SHARE_LINK_CREATE = "share_link_create"
    SHARE_LINK_REVOKE = "share_link_revoke"  # an upload link revoked (detail: link id), or refused
    SHARE_LINK_LIST = "share_link_list"  # a patient's upload links listed: refusals only (no patient data shown)
    # a file sent through an upload link kept in the inbox, or refused (detail: link id, file, size, reason)
    SHARE_LINK_UPLOAD = "share_link_upload"


# Spellings stored before the enumeration; read, never written.
LEGACY: dict[str, AuditAction] = {
    "record change": AuditAction.RECORD_CHANGE,
    "settings change": AuditAction.SETTINGS_CHANGE,
    "save mapping profile": AuditAction.SAVE_MAPPING_PROFILE,
    "demo build": AuditAction.DEMO_BUILD,
    "user add": AuditAction.USER_ADD,
    "user disable": AuditAction.USER_DISABLE,
    "user reset-password": AuditAction.USER_RESET_PASSWORD,
}


def spellings(actions) -> tuple[str, ...]:
    """Every stored string meaning one of ``actions`` (new and legacy), for a filter."""
    wanted = {AuditAction(a) if a in AuditAction._value2member_map_ else LEGACY.get(a, a) for a in actions}
    return tuple(sorted({str(a) for a in wanted} | {old for old, new in LEGACY.items() if new in wanted}))


def user_command(command: str) -> AuditAction:
    """The action of ``python -m dashboard user COMMAND`` and of the same change on the Accounts page."""
    return AuditAction(f"user_{command.replace('-', '_')}") if command not in ("share", "unshare") else AuditAction(command)
