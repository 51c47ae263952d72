"""An empty Streamlit page: the floor under the dashboard's browser figures (``bench/login_trace.py``
opens it in the same Chromium: Streamlit's own scripts, its websocket and one run, nothing of ours)."""

import streamlit as st

st.title("Empty page")
