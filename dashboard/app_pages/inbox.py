"""The clinic's inbox: files patients sent through a share link, waiting for a person to import or reject.

Every figure is the use case's (``usecases.inbox``: the dry run of each file for its link's
patient). Patient text and file names are shown only in st.dataframe, st.text and widget labels,
never as markdown. The list is read once per visit (each read runs a dry run of every file and is
audited); "Check again" reads it anew, and so does every decision.
"""

import pandas as pd
import streamlit as st

from dashboard import loaders, navigation
from dashboard.session_state import current_user
from dashboard.usecases import NotAllowed, inbox, run

CACHE, FLASH, IMPORTED = "_inbox", "_inbox_flash", "_inbox_imported"
FORMAT_WORDS = {"diary-csv": "Diary CSV", "fhir": "FHIR R4", "bearable": "Bearable",
                "privacy-friendly-pain-diary": "Privacy Friendly Pain Diary", "titration": "Titration CSV",
                "visits": "Visits CSV", "auto": "not recognised"}


def _box(user) -> inbox.Inbox:
    held = st.session_state.get(CACHE)
    if held is None or held[0] != user.username:
        held = (user.username, run(inbox.inbox, user))
        st.session_state[CACHE] = held
    return held[1]


def _again(message: tuple[str, str, str | None] | None = None) -> None:
    st.session_state.pop(CACHE, None)
    if message:
        st.session_state[FLASH] = message
    loaders.invalidate()
    st.rerun()


def show() -> None:
    user = current_user()
    head, refresh = st.columns([5, 1], vertical_alignment="bottom")
    head.title("Inbox")
    if refresh.button("Check again", key="inbox_refresh", icon=":material/refresh:"):
        _again()
    st.caption("Files patients sent through their share link. Nothing is in a diary until you import it; "
               "each file is imported for its link's patient only, with the import's usual checks.")
    kind, words, detail = st.session_state.pop(FLASH, (None, None, None))
    if kind:
        getattr(st, kind)(words)  # our own words only: st.error and st.success read markdown
        if detail:
            st.text(detail)  # a message that may quote the file or a name: plain text
    ref = st.session_state.get(IMPORTED)
    if ref and st.button(f"Open the review of {ref}", key="inbox_open_review", icon=":material/monitoring:"):
        st.session_state.pop(IMPORTED, None)
        st.switch_page(navigation.review_page(), query_params={"patient": ref})
    box = _box(user)
    if not box.waiting:
        st.info("No files are waiting.")
    else:
        _waiting(user, box.waiting)
    _decided(box.decided)


def _waiting(user, items: list[inbox.InboxItem]) -> None:
    table = pd.DataFrame([{
        "File #": str(i.record_id), "Patient": f"{i.patient_name or 'name not recorded'} · {i.patient_ref}",
        "Received": f"{i.received_at:%d %b %H:%M}", "File": i.file_name, "Would add": i.would_add,
        "Identity check": i.identity_summary, "Check": i.check_summary,
        "Format": FORMAT_WORDS.get(i.check.format, i.check.format), "Size": f"{i.size:,} bytes",
    } for i in items], dtype="object")
    # The reason for deciding (identity, check) stays on screen at 1366 px: narrow number, time and format.
    widths = {"File #": 55, "Received": 95, "File": 150, "Would add": 105}
    st.dataframe(table, hide_index=True, key="inbox_table", width="stretch",
                 column_config={name: st.column_config.TextColumn(name, width=w) for name, w in widths.items()})
    labels = {i.record_id: f"#{i.record_id} · {i.patient_ref} · {i.file_name}" for i in items}
    picked = st.selectbox("File to decide", list(labels), format_func=labels.get, key="inbox_pick")
    item = next(i for i in items if i.record_id == picked)
    with st.container(border=True, key="inbox_decide"):
        _decide(user, item)


def _decide(user, item: inbox.InboxItem) -> None:
    for words in item.identity:
        st.text(f"Patient check: {words}")  # the file's names: plain text, never markdown
    if item.check.message and item.check.status == "refused":
        st.text(f"Why it would be refused: {item.check.message}")
    if item.check.refused_rows:
        st.dataframe(pd.DataFrame(item.check.refused_rows).astype(str), hide_index=True, key="inbox_refused_rows")
    same_person = confirm = None
    if item.needs_same_person:
        same = st.checkbox("The file's patient is the link's patient (same person)", key="inbox_same_person")
        reason = st.text_input("Why they are the same person (required, audited)", key="inbox_same_person_reason",
                               max_chars=500).strip()
        same_person = reason if same and reason else None
    if item.needs_prescription:
        for check in item.check.prescription["needs_confirmation"]:
            st.text(f"Row {check['row']}: {check['words']}.")
        confirmed = st.checkbox("I confirm these prescriptions as written", key="inbox_confirm_prescription")
        reason = st.text_input("Reason for the confirmation (audited)", key="inbox_confirm_reason",
                               max_chars=500).strip()
        confirm = reason if confirmed and reason else None
    left, middle, right = st.columns([1, 2, 1], vertical_alignment="bottom")
    if left.button("Import", type="primary", key="inbox_import", icon=":material/download_done:"):
        _import(user, item, same_person, confirm)
    why = middle.text_input("Reason to reject", key="inbox_reject_reason", max_chars=500,
                            placeholder="e.g. sent twice, not a diary")
    if right.button("Reject", key="inbox_reject"):
        if not why.strip():
            st.warning("Give the reason for rejecting the file: it is kept in the audit trail.")
            return
        try:
            run(inbox.reject_received, user, item.record_id, why)
        except (NotAllowed, inbox.AlreadyDecided) as exc:
            _again(("error", "Not rejected.", str(exc)))
        _again(("success", f"File #{item.record_id} rejected; it stays kept.", None))


def _import(user, item: inbox.InboxItem, same_person: str | None, confirm: str | None) -> None:
    try:
        report = inbox.accept_received(user, item.record_id, same_person=same_person, confirm_prescription=confirm)
    except (NotAllowed, inbox.AlreadyDecided) as exc:
        _again(("error", "Not imported.", str(exc)))
        return
    if report.status == "refused":
        st.error("Not imported: the file stays waiting. Why:")
        st.text(report.message)  # it quotes the file's names: plain text
        return
    st.session_state[IMPORTED] = item.patient_ref
    _again(("success", f"File #{item.record_id} imported for {item.patient_ref}: {report.status}, "
                       f"import #{report.import_id}.", None))


def _decided(items: list[inbox.DecidedItem]) -> None:
    st.subheader("Recently decided")
    if not items:
        st.caption("Nothing decided yet.")
        return
    st.dataframe(pd.DataFrame([{
        "File #": str(d.record_id), "Patient": f"{d.patient_name or 'name not recorded'} · {d.patient_ref}",
        "File": d.file_name, "Decision": d.status + (f" as import #{d.result_import_id}" if d.result_import_id else ""),
        "By": d.decided_by or "", "When": f"{d.decided_at:%d %b %Y %H:%M}" if d.decided_at else "",
        "Why": d.decision or "",
    } for d in items], dtype="object"), hide_index=True, key="inbox_decided", width="stretch")


if __name__ == "__main__":
    show()
