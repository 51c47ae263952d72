"""Entry point: page config, login gate, navigation, nothing else."""

import streamlit as st

from dashboard import navigation, session_state

st.set_page_config(page_title="Ketamine titration review", page_icon=":material/monitor_heart:", layout="wide")

user = session_state.current_user()
if user is None:
    page = st.navigation([navigation.login_page()], position="hidden")
else:
    pages = [navigation.patients_page(), navigation.review_page(), navigation.import_page(), navigation.settings_page()]
    if user.role == "admin":
        pages.append(navigation.audit_page())
    page = st.navigation(pages)
    session_state.sidebar_account(user)
page.run()
