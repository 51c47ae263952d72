"""The cohort view: how the clinician's patients (staff: the clinic's) respond, by condition and dose.

Figures come from ``loaders.cohort`` (each patient's review, aggregated by
``analysis.cohort``); this page only arranges them. Every figure shows its number of
patients, and a group under five says so instead of showing a figure. Only patients shared
with the user can be opened from here.
"""

import streamlit as st

from dashboard import loaders, navigation
from dashboard.access import cohort_scope
from dashboard.analysis.cohort import CATEGORIES, CATEGORY_LABELS, MIN_GROUP, NOT_JUDGED, TOO_SMALL
from dashboard.charts import cohort as charts
from dashboard.session_state import current_user

LED_DEFINITION = (
    "**Time to the lowest effective dose**: days from the start of a patient's first troche step to the start of "
    "the step their review names as the lowest effective dose (the troche step of lowest mg/day whose response "
    "reaches the *moderate* category while no side effect was severe on more than 10 % of its diary days). "
    "Patients who have not reached one (yet) are counted, not timed. A pointer for judgement, never a prescription.")
SMALL = (f"A group of fewer than {MIN_GROUP} patients shows its size and \"{TOO_SMALL}\" instead of its figures: "
         "one patient more or less would change them completely.")


def show() -> None:
    user = current_user()
    st.title("Cohort")
    as_of = loaders.today()
    first_view = st.session_state.get("_cohort_viewed") != as_of
    cohort = loaders.cohort(user, as_of, audit_view=first_view)
    st.session_state["_cohort_viewed"] = as_of
    if cohort.n_patients == 0:
        st.info("No patients are shared with you yet, so there is nothing to aggregate.")
        return
    st.caption(f"{cohort.n_patients} patients ({cohort_scope(user)}), as of {as_of:%d %b %Y}. "
               "Each figure is read from the patients' own reviews. " + SMALL)
    responders(cohort)
    lowest_effective_dose(cohort)
    side_effects(cohort)
    flags(cohort)
    drill_down(cohort)


def responders(cohort) -> None:
    st.header("Response at the latest troche step")
    st.caption("Responder category against baseline (Farrar 2001; IMMPACT 2008) of each patient's latest troche step, "
               "judged on its response window (the first 14 days left out). Dose bands include their lower bound.")
    for table, title, key in ((cohort.responders_by_band, "Daily dose", "band"),
                              (cohort.responders_by_condition, "Condition", "condition")):
        st.markdown(f"**By {title.lower()}**")
        if table["too_small"].all():
            st.info(f"Every {title.lower()} group has fewer than {MIN_GROUP} patients: no share can be read. "
                    "The groups and their sizes:")
            _responder_table(table, title)
            continue
        st.plotly_chart(charts.responder_bars(table), theme=None, key=f"responders_{key}")
        with st.expander(f"By {title.lower()} as a table"):
            _responder_table(table, title)


def _responder_table(table, group_title: str) -> None:
    columns = {"group": group_title, "n": "Patients (n)",
               **{c: CATEGORY_LABELS[c] for c in (*CATEGORIES, NOT_JUDGED)}, "early": "Latest step still early"}
    st.dataframe(_marked(table, list(columns)).rename(columns=columns), hide_index=True)


def lowest_effective_dose(cohort) -> None:
    st.header("Time to the lowest effective dose")
    st.markdown(LED_DEFINITION)
    columns = {"group": "Group", "n": "Patients (n)", "reached": "Reached", "not_reached": "Not reached (yet)",
               "median_days": "Median days", "min_days": "Fewest days", "max_days": "Most days"}
    st.dataframe(_marked(cohort.lowest_effective_dose, list(columns)).rename(columns=columns), hide_index=True)


def side_effects(cohort) -> None:
    st.header("Side effects by dose band")
    st.caption("For each patient, the share of their diary days on troche steps in the band on which the effect was "
               "reported (any severity), averaged over patients; n = patients who rated the effect in that band.")
    if cohort.side_effects.empty:
        st.info("No side effects were rated on any troche step.")
        return
    st.plotly_chart(charts.side_effect_heatmap(cohort.side_effects), theme=None, key="effects")
    with st.expander("Side effects as a table (with the share of days severe)"):
        table = cohort.side_effects.assign(effect=cohort.side_effects["effect"].str.replace("_", " "))
        columns = {"band": "Daily dose", "effect": "Side effect", "n": "Patients (n)",
                   "reported_share": "Days reported (mean share)", "severe_share": "Days severe (mean share)"}
        st.dataframe(_marked(table, list(columns), percent=("reported_share", "severe_share")).rename(columns=columns),
                     hide_index=True)


def flags(cohort) -> None:
    st.header("Flags per 100 patient-months")
    st.caption("Flag runs (acknowledged ones included) over the patients' review periods, from the baseline to "
               "today; a month is 365.25/12 days. Safety flags first.")
    st.plotly_chart(charts.flag_rate_bars(cohort.flags), theme=None, key="flags")


def drill_down(cohort) -> None:
    mine = cohort.patients[cohort.patients["ref"].notna()]
    st.header("Patients behind these figures")
    if mine.empty:
        st.caption("None of these patients is shared with you, so none can be opened from here.")
        return
    st.caption(f"{len(mine)} of the {cohort.n_patients} patients are shared with you and can be opened.")
    labels = {r.ref: f"{r.ref} · {r.condition}" for r in mine.itertuples()}
    ref = st.selectbox("Patient", list(labels), format_func=labels.get, key="cohort_patient")
    if st.button("Open review", key="cohort_open"):
        st.switch_page(navigation.review_page(), query_params={"patient": ref})


LABEL_COLUMNS = ("group", "band", "effect", "n")


def _marked(table, columns: list[str], percent: tuple[str, ...] = ()):
    """The table as text cells: a group under five shows "n < 5" in place of each figure."""
    shown = table[columns].astype("object")
    for column in (c for c in columns if c not in LABEL_COLUMNS):
        values = table[column]
        shown[column] = [TOO_SMALL if small else ("" if v != v else (f"{v:.0%}" if column in percent else f"{v:g}"))
                         for v, small in zip(values, table["too_small"])]
    return shown


if __name__ == "__main__":
    show()
