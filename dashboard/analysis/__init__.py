"""Pure pandas analysis behind the patient review page (shared/spec/review-metrics.md).

DataFrames in (the columns of :mod:`dashboard.db.queries`), DataFrames or plain values
out; no Streamlit, no database. Entry points for pages and charts:

- ``daily.daily_values`` / ``daily.rolling_pain``: one row per diary day
- ``periods.steps_table`` / ``periods.baseline`` / ``periods.visit_comparison_table`` /
  ``periods.visit_aligned_pain``: steps, baseline, visit intervals
- ``response.step_response_table`` / ``response.lowest_effective_dose``: titration response
- ``side_effects.daily_side_effect_severity`` / ``side_effects.side_effects_by_step``
- ``adherence.daily_prescription`` / ``adherence.over_prescribed_days``
- ``completeness.completeness`` / ``completeness.weekly_completeness``
- ``flags.flags_table``: every flag rule of the spec
- ``review.build_review`` / ``review.review_of``: the review, typed (``reported``), its JSON by ``Review.to_dict``
- ``summary.build_summary`` (``stored.review.patient_summary`` for a stored patient): the JSON-ready review
"""
