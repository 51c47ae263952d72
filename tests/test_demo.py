"""The demo clinic: built through the writer on both backends, deterministic, and its stories hold in the data.

The story checks read the stored data back through ``dashboard.db.queries`` and use plain
pandas, on a clinic built once per module for two seeds, so that a story holds by design
and not by the luck of one seed. The flag checks then ask ``dashboard.analysis.flags``.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pytest
from sqlalchemy import func, select

from dashboard.auth.passwords import verify_password
from dashboard.config import Thresholds
from dashboard.db import queries
from dashboard.db.models import Clinician, DiaryEntry, Patient, PatientShare
from dashboard.db.session import get_engine, migrate, session_scope
from dashboard.demo import DEMO_ACCOUNTS, STORIES, DemoRefused, build_demo, generate_clinic

TODAY = date.today()
REFS = [s.ref for s in STORIES]
CRPS, FIBRO, MIGRAINE, HIGH_DOSE, BLADDER, OVER, HYBRID, SPARSE, TAPER = REFS


@dataclass
class Frames:
    diary: pd.DataFrame
    effects: pd.DataFrame
    steps: pd.DataFrame
    visits: pd.DataFrame
    comeds: pd.DataFrame

    @property
    def daily(self) -> pd.DataFrame:
        """Daily values: the mean of the day's entries (review-metrics.md, Days)."""
        return self.diary.groupby("diary_date")[["pain", "mood", "dose_mg"]].agg(
            pain=("pain", "mean"), mood=("mood", "mean"), dose_mg=("dose_mg", lambda s: s.sum(min_count=1)))

    def baseline_pain(self) -> float:
        first = self.steps.loc[self.steps["route"] == "troche", "start_date"].min()
        daily = self.daily
        return daily.loc[(daily.index >= first - pd.Timedelta(days=14)) & (daily.index < first), "pain"].mean()

    def step_pain(self, mg_from: float, mg_to: float) -> float:
        """Mean daily pain on troche steps with a daily dose in the range, without each step's first 14 days."""
        daily, steps = self.daily, self.steps.reset_index(drop=True)
        kept = []
        for i, step in steps.iterrows():
            per_day = 2 if step["frequency"] == "twice daily" else 1
            if step["route"] != "troche" or not mg_from <= step["dose_mg"] * per_day <= mg_to:
                continue
            end = steps["start_date"].iloc[i + 1] - pd.Timedelta(days=1) if i + 1 < len(steps) else daily.index.max()
            window = (daily.index >= step["start_date"] + pd.Timedelta(days=14)) & (daily.index <= end)
            kept.append(daily.loc[window, "pain"])
        return pd.concat(kept).mean()


def frames(url: str, ref: str) -> Frames:
    with session_scope(url) as session:
        pid = queries.patient_by_ref(session, ref).id
        return Frames(queries.diary_frame(session, pid), queries.side_effects_frame(session, pid),
                      queries.titration_frame(session, pid), queries.visits_frame(session, pid),
                      queries.comedications_frame(session, pid))


@functools.lru_cache(maxsize=64)
def stored(url: str, ref: str) -> Frames:
    """The module's clinic is built once and only read: its frames are read once too."""
    return frames(url, ref)


def clinic_digest(url: str) -> str:
    """Everything the review reads, without the database's own ids: equal digests, equal clinics."""
    digest = hashlib.sha256()
    for ref in REFS:
        f = frames(url, ref)
        for frame in (f.diary.drop(columns=["entry_id", "import_id"]), f.effects.drop(columns=["entry_id"]),
                      f.steps.drop(columns=["step_id"]), f.visits.drop(columns=["visit_id"]), f.comeds):
            digest.update(frame.to_csv(index=False).encode())
    return digest.hexdigest()


def fresh_sqlite(path) -> str:
    url = f"sqlite:///{path}"
    migrate(url)
    return url


def build(url: str, seed: int = 7, today: date = TODAY) -> dict:
    with session_scope(url) as session:
        return build_demo(session, seed=seed, today=today)


@pytest.fixture(scope="module", params=[7, 2026], ids=["seed7", "seed2026"])
def clinic(request, tmp_path_factory):
    url = fresh_sqlite(tmp_path_factory.mktemp("demo") / "demo.sqlite")
    build(url, seed=request.param)
    yield url
    get_engine(url).dispose()


# --- building ------------------------------------------------------------------------------


def test_demo_builds_a_clinic_of_long_diaries_steps_and_regular_visits(db_url):
    summary = build(db_url)
    assert summary["patients"] == len(STORIES) >= 8
    assert summary["accounts"] == len(DEMO_ACCOUNTS)
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(DiaryEntry.id))) == summary["entries"] > 8 * 180
        patients = queries.patients_frame(session)
    assert sorted(patients["ref"]) == sorted(REFS)
    assert patients["name"].notna().all() and patients["condition"].notna().all()
    for ref in REFS:
        f = frames(db_url, ref)
        span = (f.diary["diary_date"].max() - f.diary["diary_date"].min()).days
        assert 182 <= span <= 548, (ref, span)  # 6-18 months
        held = f.visits[f.visits["status"] == "held"]
        gaps = held["date"].diff().dropna().dt.days
        assert gaps.between(28, 56).all(), (ref, gaps.tolist())  # every 4-8 weeks
        assert len(f.steps) >= 3, ref
        # The diary ends shortly before today, after the last visit: there is a "since last visit".
        # The bladder story's diary went quiet 8 days ago (issue 10: the worklist's quiet diary).
        last_day = f.diary["diary_date"].max()
        quiet = 8 if ref == BLADDER else 7
        assert pd.Timestamp(TODAY) - pd.Timedelta(days=quiet) <= last_day < pd.Timestamp(TODAY), ref
        assert held["date"].max() <= last_day - pd.Timedelta(days=7), ref


def test_the_demo_books_next_visits_today_this_week_and_one_overdue(db_url):
    """Issue 10: the worklist tells a story on first start. Bookings are dated from the demo's today."""
    build(db_url)
    booked = {}
    for ref in REFS:
        visits = frames(db_url, ref).visits
        rows = visits[visits["status"] == "booked"]
        assert len(rows) <= 1, ref
        if len(rows):
            booked[ref] = (rows["date"].iloc[0] - pd.Timestamp(TODAY)).days
    assert sorted(ref for ref, days in booked.items() if days == 0) == [CRPS, HIGH_DOSE, TAPER]
    assert [ref for ref, days in booked.items() if days < 0] == [BLADDER]  # the one overdue visit
    assert len([ref for ref, days in booked.items() if 0 < days <= 7]) >= 3  # and the rest of the week


def test_the_same_seed_builds_the_same_clinic_on_every_backend(db_url, tmp_path):
    build(db_url, seed=7)
    again = fresh_sqlite(tmp_path / "again.sqlite")
    build(again, seed=7)
    assert clinic_digest(db_url) == clinic_digest(again)
    get_engine(again).dispose()


@pytest.mark.parametrize(("seed_a", "today_a", "seed_b", "today_b", "same"), [
    (7, date(2026, 11, 25), 7, date(2026, 11, 25), True),
    (7, date(2026, 11, 25), 8, date(2026, 11, 25), False),
    (7, date(2026, 11, 25), 7, date(2026, 6, 1), False),
])
def test_generation_depends_only_on_seed_and_today(seed_a, today_a, seed_b, today_b, same):
    def content(seed, today):
        return [(p.format, p.diary, p.steps, p.visits, p.comedications, raw) for p, raw in generate_clinic(seed, today)]

    assert (content(seed_a, today_a) == content(seed_b, today_b)) is same


def test_a_second_build_is_refused_and_changes_nothing(db_url):
    build(db_url)
    before = clinic_digest(db_url)
    with pytest.raises(DemoRefused, match="already holds 9 patient"):
        build(db_url, seed=8)
    assert clinic_digest(db_url) == before


def test_demo_accounts_exist_already_is_refused(sqlite_url):
    username, display, role, password = DEMO_ACCOUNTS[0]
    with session_scope(sqlite_url) as session:
        session.add(Clinician(username=username, display_name=display, role=role, password_hash=None,
                              active=True, failed_logins=0, created_at=pd.Timestamp("2026-01-01").to_pydatetime()))
    with pytest.raises(DemoRefused, match=username):
        build(sqlite_url)
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(func.count(Patient.id))) == 0


def test_demo_accounts_log_in_and_see_only_their_shared_patients(clinic):
    with session_scope(clinic) as session:
        accounts = {c.username: c for c in session.scalars(select(Clinician))}
        shares = session.execute(
            select(Clinician.username, Patient.ref)
            .join(PatientShare, PatientShare.clinician_id == Clinician.id)
            .join(Patient, Patient.id == PatientShare.patient_id)
        ).all()
    for username, display, role, password in DEMO_ACCOUNTS:
        assert accounts[username].role == role and accounts[username].display_name == display
        assert verify_password(accounts[username].password_hash, password)
        assert not verify_password(accounts[username].password_hash, password + "x")
    seen: dict[str, set[str]] = {}
    for username, ref in shares:
        seen.setdefault(username, set()).add(ref)
    assert set(seen) == {"dr.rivera", "dr.chen"}  # staff and admin get no shares
    assert len(seen["dr.rivera"]) > len(seen["dr.chen"]) >= 2
    assert len(seen["dr.rivera"] & seen["dr.chen"]) == 1
    assert seen["dr.rivera"] | seen["dr.chen"] == set(REFS)


# --- what every diary looks like -------------------------------------------------------------


@pytest.mark.parametrize(("column", "low", "high"), [
    ("pain", 0, 10), ("pain_worst", 0, 10), ("sleep", 0, 10), ("mood", 0, 10), ("function", 0, 10),
    ("enjoyment_interference", 0, 10), ("activity_interference", 0, 10), ("dose_mg", 0, 1000),
    ("bp_systolic", 60, 260), ("bp_diastolic", 30, 160),
])
def test_values_respect_the_native_ranges(clinic, column, low, high):
    values = pd.concat([stored(clinic, ref).diary[column] for ref in REFS]).dropna()
    assert len(values) > 0
    assert values.between(low, high).all()
    assert ((values * 10).round() == values * 10).all()  # one decimal at most


def test_blood_pressure_pairs_and_side_effect_grades(clinic):
    for ref in REFS:
        f = stored(clinic, ref)
        bp = f.diary[["bp_systolic", "bp_diastolic"]]
        assert (bp["bp_systolic"].isna() == bp["bp_diastolic"].isna()).all()
        assert (bp.dropna()["bp_diastolic"] < bp.dropna()["bp_systolic"]).all()
        assert f.effects["severity"].between(0, 3).all()
        assert not f.diary["recorded_at"].duplicated().any()  # an entry's identity is patient + time


def test_diaries_vary_as_real_diaries_do(clinic):
    diaries = {ref: stored(clinic, ref) for ref in REFS}
    all_entries = pd.concat([f.diary for f in diaries.values()])
    per_day = all_entries.groupby([all_entries["import_id"], "diary_date"]).size()
    assert set(per_day.unique()) >= {1, 2, 3}
    with_offset = [ref for ref, f in diaries.items() if f.diary["utc_offset_minutes"].eq(60).any()]
    assert 2 <= len(with_offset) < len(REFS)
    assert (all_entries["recorded_at"].dt.strftime("%H:%M") == "23:30").any()
    for ref, f in diaries.items():
        recorded = set(f.effects["entry_id"])
        assert f.diary["entry_id"].isin(recorded).any() and not f.diary["entry_id"].isin(recorded).all(), ref
        assert (f.effects["severity"] == 0).any(), ref  # "none" recorded, not only left empty
    assert all_entries["enjoyment_interference"].notna().sum() >= 20
    notes = all_entries["notes"].dropna()
    assert notes.str.contains("\n").any()
    for char in "<>&*_":
        assert notes.str.contains(char, regex=False).any(), char


def test_most_patients_keep_a_14_day_baseline_before_the_first_troche(clinic):
    with_baseline = []
    for ref in REFS:
        f = stored(clinic, ref)
        first = f.steps.loc[f.steps["route"] == "troche", "start_date"].min()
        days = f.diary.loc[(f.diary["diary_date"] < first), "diary_date"].nunique()
        if days >= 10:
            with_baseline.append(ref)
    assert len(with_baseline) >= len(REFS) - 2
    assert SPARSE not in with_baseline  # the sparse diary leaves its baseline missing


# --- the stories ---------------------------------------------------------------------------


def test_crps_patient_responds_at_75_to_100_mg(clinic):
    f = stored(clinic, CRPS)
    baseline = f.baseline_pain()
    assert f.step_pain(75, 100) <= 0.7 * baseline  # at least 30 % below baseline
    assert f.step_pain(75, 100) < f.step_pain(50, 50) < f.step_pain(20, 30)


def test_fibromyalgia_patient_responds_partly(clinic):
    f = stored(clinic, FIBRO)
    reduction = 1 - f.step_pain(40, 50) / f.baseline_pain()
    assert 0.10 <= reduction < 0.45


def test_migraine_patient_was_escalated_without_benefit(clinic):
    f = stored(clinic, MIGRAINE)
    troche = f.steps[f.steps["route"] == "troche"]
    top = troche["dose_mg"].max()
    assert troche["dose_mg"].iloc[:5].is_monotonic_increasing and top >= 100
    # No important improvement (>= 1 point, review-metrics.md) on the highest dose.
    assert f.step_pain(top, top) > f.step_pain(troche["dose_mg"].iloc[0], troche["dose_mg"].iloc[0]) - 1.0
    assert f.step_pain(top, top) > f.baseline_pain() - 1.0


def test_side_effects_at_150_mg_led_to_a_step_down(clinic):
    f = stored(clinic, HIGH_DOSE)
    doses = f.steps["dose_mg"].tolist()
    assert 150 in doses and doses[doses.index(150) + 1] < 150
    start, end = f.steps["start_date"].iloc[doses.index(150)], f.steps["start_date"].iloc[doses.index(150) + 1]
    at_150 = f.effects[(f.effects["diary_date"] >= start) & (f.effects["diary_date"] < end)]
    after = f.effects[f.effects["diary_date"] >= end]
    for effect in ("dissociation", "nausea"):
        grades = at_150.loc[at_150["effect"] == effect, "severity"]
        assert grades.max() == 3 and (grades >= 2).mean() > 0.5, effect
        assert after.loc[after["effect"] == effect, "severity"].mean() < grades.mean() - 0.5
    high_bp = f.diary[f.diary["bp_systolic"] >= 160]
    assert 3 <= len(high_bp) <= 6 and high_bp["diary_date"].between(start, end).all()


def test_bladder_symptoms_appear_in_one_patient_only(clinic):
    for ref in REFS:
        f = stored(clinic, ref)
        bladder = f.effects.loc[f.effects["effect"] == "bladder", "severity"]
        if ref == BLADDER:
            assert (bladder >= 1).sum() >= 10 and bladder.max() == 2
            assert f.diary["notes"].str.contains("bladder|pee", regex=True).any()
        else:
            assert (bladder == 0).all(), ref


def test_over_prescribed_patient_took_more_than_the_step_dose(clinic):
    f = stored(clinic, OVER)
    daily = f.daily.reset_index()
    steps = f.steps.sort_values("start_date")
    daily = pd.merge_asof(daily, steps[["start_date", "dose_mg"]].rename(columns={"dose_mg": "step_dose"}),
                          left_on="diary_date", right_on="start_date")
    over = daily[daily["dose_mg"] > daily["step_dose"]]
    assert len(over) >= 5
    assert f.diary["notes"].str.contains("second troche|2 troches", regex=True).any()


def test_hybrid_patient_has_infusions_between_troche_periods(clinic):
    f = stored(clinic, HYBRID)
    # Held infusions each have their IV step; the booked one (in two days) has none yet.
    infusions = f.visits[(f.visits["kind"] == "infusion") & (f.visits["status"] == "held")]
    iv = f.steps[f.steps["route"] == "IV"]
    assert len(infusions) >= 2
    assert sorted(iv["start_date"]) == sorted(infusions["date"]) == sorted(iv["end_date"])
    troche_starts = set(f.steps.loc[f.steps["route"] == "troche", "start_date"])
    assert all(day + pd.Timedelta(days=1) in troche_starts for day in iv["start_date"])


def test_sparse_diary_has_weeks_missing(clinic):
    f = stored(clinic, SPARSE)
    days = pd.Series(sorted(f.diary["diary_date"].unique()))
    assert (days.diff().dt.days > 7).sum() >= 3
    span = (days.iloc[-1] - days.iloc[0]).days + 1
    assert len(days) / span < 0.6


def test_opioid_taper_lowers_oxycodone_and_the_diary_mentions_it(clinic):
    f = stored(clinic, TAPER)
    oxy = f.comeds[f.comeds["name"] == "oxycodone"].sort_values("start_date")
    mg = oxy["dose_text"].str.extract(r"^(\d+) mg")[0].astype(int).tolist()
    assert mg == sorted(mg, reverse=True) and len(set(mg)) == len(mg) >= 3
    assert (oxy["source"] == "clinic").all() and (oxy["drug_class"] == "opioid").all()
    mentions = f.diary["other_medication"].dropna()
    assert mentions.str.contains("oxycodone").sum() > 20


def test_one_patient_has_a_run_of_low_mood(clinic):
    with_run = []
    for ref in REFS:
        low = stored(clinic, ref).daily["mood"].dropna() <= 2
        if (low.rolling(3).sum() == 3).any():
            with_run.append(ref)
    assert with_run == [MIGRAINE]


# --- the review's flags find each story ------------------------------------------------------


@pytest.mark.parametrize(("rule", "refs"), [
    ("bladder", {BLADDER}),
    ("dissociation_severe", {HIGH_DOSE}),
    ("bp_high", {HIGH_DOSE, CRPS}),  # CRPS: two high home readings after the last visit (issue 10, a new flag)
    ("over_prescribed", {OVER}),
    ("low_mood", {MIGRAINE}),
    ("diary_gap", {SPARSE, BLADDER}),  # BLADDER: the diary went quiet 8 days ago (issue 10)
    ("co_sedative", {TAPER}),
])
def test_each_safety_flag_fires_for_its_story_only(clinic, rule, refs):
    assert {ref for ref in REFS if rule in set(_flags(clinic, ref)["rule"])} == refs


def test_migraine_escalations_raise_the_no_benefit_flag(clinic):
    flagged = _flags(clinic, MIGRAINE)
    assert (flagged["rule"] == "no_benefit_escalation").sum() >= 3


@functools.lru_cache(maxsize=64)
def _flags(url: str, ref: str) -> pd.DataFrame:
    from dashboard.analysis.flags import flags_table

    f = stored(url, ref)
    return flags_table(diary=f.diary, side_effects=f.effects, steps=f.steps, comedications=f.comeds,
                       as_of=TODAY, thresholds=Thresholds())


# --- version 3: a patient for each situation a verdict or a "none" must not hide -----------------


@functools.lru_cache(maxsize=64)
def _summary(url: str, ref: str) -> dict:
    from dashboard.stored.review import patient_summary

    with session_scope(url) as session:
        return patient_summary(session, ref, as_of=TODAY)


def _qualified(url: str, qualifier: str) -> set[str]:
    """Patients whose step just judged (or the current step) names ``qualifier``."""
    found = set()
    for ref in REFS:
        summary = _summary(url, ref)
        judged = summary["last_judged_step"]
        current = [s for s in summary["steps"] if s["vs_previous"]][-1:]
        for vs in [judged["vs_previous"] if judged else None, *(s["vs_previous"] for s in current)]:
            if vs and qualifier in vs["qualifiers"]:
                found.add(ref)
    return found


def test_low_adherence_is_the_sparse_patients_story(clinic):
    assert SPARSE in _qualified(clinic, "low_adherence")
    sparse = [s for s in _summary(clinic, SPARSE)["steps"] if s["route"] == "troche"]
    assert all(s["adherence"]["mg_pct"] < 60 for s in sparse)


def test_an_infusion_falls_in_the_hybrid_patients_windows_only(clinic):
    assert _qualified(clinic, "infusion_in_window") == {HYBRID}


def test_the_bladder_patients_diary_is_too_quiet_since_the_last_visit_to_say_none(clinic):
    coverage = {ref: _summary(clinic, ref)["safety_since_last_visit"]["coverage"] for ref in REFS}
    quiet = {ref for ref, covered in coverage.items() if covered < 0.5}
    # The sparse patient's diary misses about 45 % of days by design, so since a recent visit it falls
    # either side of half depending on the demo's today (0.41-0.69 over December 2026): either answer
    # is then right. Every other patient keeps a diary on most days.
    assert BLADDER in quiet and quiet - {SPARSE} == {BLADDER}
    assert all(coverage[ref] >= 0.5 for ref in REFS if ref not in (BLADDER, SPARSE))
    safety = _summary(clinic, BLADDER)["safety_since_last_visit"]
    assert safety["bladder_days"] == 0 and safety["diary_days"] < safety["days"] / 2


def test_a_liver_test_above_three_times_the_limit_since_the_last_visit(clinic):
    with_labs = {ref for ref in REFS if _summary(clinic, ref)["safety_since_last_visit"]["labs"]}
    assert with_labs == {BLADDER}
    alt = next(lab for lab in _summary(clinic, BLADDER)["safety_since_last_visit"]["labs"] if lab["code"] == "1742-6")
    assert alt["times_upper_limit"] > 3 and alt["upper_limit"] == 41.0
    flagged = {ref for ref in REFS if any(f["rule"] == "liver_tests_high" for f in _summary(clinic, ref)["flags"])}
    assert flagged == {BLADDER}
    (count,) = [c for c in _summary(clinic, BLADDER)["flag_counts"] if c["rule"] == "liver_tests_high"]
    assert (count["open"], count["new"]) == (1, 1)
