"""Clinic thresholds (not yet editable here: issue 3)."""

import streamlit as st

from dashboard import loaders
from dashboard.config import THRESHOLD_SOURCES


def show() -> None:
    st.title("Settings")
    values = loaders.thresholds()
    st.dataframe(
        [{"setting": k, "value": getattr(values, k), "source": THRESHOLD_SOURCES.get(k, "")} for k in THRESHOLD_SOURCES],
        hide_index=True,
    )


if __name__ == "__main__":
    show()
