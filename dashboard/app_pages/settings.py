"""The clinic's thresholds, with where each default comes from. Admins and clinicians change them."""

from dataclasses import asdict

import streamlit as st

from dashboard import access, loaders
from dashboard.usecases import run, settings as setting_cases
from dashboard.config import THRESHOLD
from dashboard.session_state import current_user

SAVED_KEY = "settings_saved"


def show() -> None:
    user = current_user()
    st.title("Settings")
    st.caption("Thresholds used everywhere numbers are judged: responder categories, response windows, flags. "
               "Defaults follow the spec and the sources shown; a change applies to every patient's review.")
    if saved := st.session_state.pop(SAVED_KEY, None):
        st.success(saved)
    current = loaders.thresholds()
    rows = [{"setting": key, "value": value, "default": THRESHOLD[key].default, "source": THRESHOLD[key].source}
            for key, value in asdict(current).items()]
    st.dataframe(rows, hide_index=True, key="settings_table")
    if not access.may_edit_settings(user):
        st.info("Only clinicians and administrators change thresholds.")
        return
    with st.form("settings_form"):
        changes = {key: _input(key, value) for key, value in asdict(current).items()
                   if access.may_change_setting(user, key)}
        submitted = st.form_submit_button("Save thresholds")
    if submitted:
        _save(user, changes)


def _input(key: str, value):
    threshold = THRESHOLD[key]
    if threshold.choices:
        return st.selectbox(key, threshold.choices, index=threshold.choices.index(value), key=f"set_{key}")
    low, high = threshold.low, threshold.high
    if isinstance(value, int):
        return st.number_input(key, min_value=int(low), max_value=int(high), value=value, step=1, key=f"set_{key}")
    return st.number_input(key, min_value=float(low), max_value=float(high), value=float(value), key=f"set_{key}")


def _save(user, changes: dict) -> None:
    try:
        changed = run(setting_cases.change_thresholds, user, changes)
    except (ValueError, PermissionError) as exc:
        st.error(f"Nothing was saved: {exc}")
        return
    loaders.invalidate(settings=True)
    # Run the page again so the table above shows what is now stored, not what was.
    st.session_state[SAVED_KEY] = f"Saved: {', '.join(changed)}" if changed else "Nothing changed."
    st.rerun()


if __name__ == "__main__":
    show()
