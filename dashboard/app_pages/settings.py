"""The clinic's thresholds, with their units, allowed values and where each default comes from.
Everyone reads them; administrators and the clinic's lead clinician change them (``usecases.settings``)."""

from dataclasses import asdict

import streamlit as st

from dashboard import loaders
from dashboard.analysis.settings_table import allowed_words, settings_table, with_unit
from dashboard.config import THRESHOLD
from dashboard.session_state import current_user
from dashboard.usecases import run, settings as setting_cases

SAVED_KEY = "settings_saved"
READ_ONLY = ("You read the clinic's thresholds here. Administrators and the clinic's lead clinician change them; "
             "ask them for a change.")


def show() -> None:
    user = current_user()
    st.title("Settings")
    st.caption("Thresholds used everywhere numbers are judged: responder categories, response windows, flags. "
               "Defaults follow the spec and the sources shown; a change applies to every patient's review.")
    if saved := st.session_state.pop(SAVED_KEY, None):
        st.success(saved)
    current = loaders.thresholds()
    st.dataframe(settings_table(current), hide_index=True, key="settings_table")
    changeable = run(setting_cases.changeable, user)
    if not changeable:
        st.info(READ_ONLY)
        return
    values = asdict(current)
    with st.form("settings_form"):
        changes = {key: _input(key, values[key]) for key in changeable}
        submitted = st.form_submit_button("Save thresholds")
    if submitted:
        _save(user, changes)


def _input(key: str, value):
    threshold = THRESHOLD[key]
    label = threshold.label if threshold.choices else f"{threshold.label} ({threshold.unit})"
    helped = (f"Default {with_unit(threshold, threshold.default)}; allowed {allowed_words(threshold)}. "
              f"Source: {threshold.source}")
    if threshold.choices:
        return st.selectbox(label, threshold.choices, index=threshold.choices.index(value), key=f"set_{key}",
                            help=helped)
    low, high = threshold.low, threshold.high
    if isinstance(value, int):
        return st.number_input(label, min_value=int(low), max_value=int(high), value=value, step=1, key=f"set_{key}",
                               help=helped)
    return st.number_input(label, min_value=float(low), max_value=float(high), value=float(value), key=f"set_{key}",
                           help=helped)


def _save(user, changes: dict) -> None:
    try:
        changed = run(setting_cases.change_thresholds, user, changes)
    except (ValueError, PermissionError) as exc:
        st.error(f"Nothing was saved: {exc}")
        return
    loaders.invalidate(settings=True)
    # Run the page again so the table above shows what is now stored, not what was.
    words = "; ".join(THRESHOLD[key].label for key in changed)
    st.session_state[SAVED_KEY] = f"Saved: {words}" if changed else "Nothing changed."
    st.rerun()


if __name__ == "__main__":
    show()
