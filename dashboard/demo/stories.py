"""The demo clinic's patients: nine stories a pain specialist meets in a ketamine clinic.

Each story is data: who the patient is, how long they have kept a diary, the titration plan
(what changes at which visit) and how their pain answers each daily dose. The generator in
:mod:`dashboard.demo.diary` turns a story into diary entries; features named in
``Story.features`` add what makes the story (a bladder problem, extra troches, a taper).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Step:
    """A titration step prescribed at a visit; ``dose`` is mg per dose."""

    dose: float
    frequency: str = "daily"
    route: str = "troche"
    note: str | None = None

    @property
    def per_day(self) -> int:
        return 2 if self.frequency == "twice daily" else 1


@dataclass(frozen=True)
class Infusion:
    """An in-clinic IV infusion at a visit (the hybrid model); troches resume the next day."""

    dose: float
    resume: Step
    note: str = "in-clinic ketamine infusion 0.5 mg/kg over 40 min"


@dataclass(frozen=True)
class Story:
    ref: str
    name: str
    birth_year: int
    condition: str
    span_days: int  # diary length: 6-18 months
    baseline_pain: float
    # Relief (fraction of baseline pain) once a daily troche total has had 2-4 weeks to act.
    relief: dict[float, float]
    # plan[0] starts after the 14-day baseline; plan[i] happens at visit i (None: no change).
    plan: tuple[Step | Infusion | None, ...]
    lag_days: int = 1  # the last diary day is this many days before "today"
    missing: float = 0.08  # chance of a day without an entry
    slots: tuple[float, float, float] = (0.25, 0.55, 0.20)  # chance of 1, 2 or 3 entries a day
    precision: float = 0.5  # how the patient rates: whole points, halves, or an app's 0.1 slider
    effects: tuple[str, ...] = ("dizziness", "nausea", "brain_fog", "dissociation", "drowsiness", "bladder")
    # Mean severity at 100 mg a day; it grows with the square of the dose.
    effect_load: dict[str, float] = field(default_factory=dict)
    effect_cap: dict[str, int] = field(default_factory=dict)  # highest severity per effect (default 2)
    bp_readings: float = 0.0  # chance of a home blood-pressure reading on a diary day
    peg: bool = False  # fills the PEG items on Sunday evenings
    records_worst: bool = False
    offset_minutes: int | None = None  # an app that writes the UTC offset with every time
    infusion_boost: float = 0.0
    # Story features (see diary.FEATURES) with the visit index each is anchored to.
    features: dict[str, int] = field(default_factory=dict)
    other_medication: str | None = None  # rescue medication named on bad days
    shared_with: tuple[str, ...] = ("dr.rivera",)
    # The next visit the clinic booked: (days from the demo's today, kind); negative is a booked
    # visit that passed with no record that it happened (overdue). None: nothing booked.
    booked: tuple[int, str] | None = None
    # Laboratory results (review-metrics.md v3, liver tests and urinalysis): (visit index, -1 the last,
    # days after it, LOINC code, value or None, the laboratory's upper limit or None, result in words or None).
    labs: tuple[tuple[int, int, str, float | None, float | None, str | None], ...] = ()

    def relief_at(self, daily_mg: float) -> float:
        doses = sorted(self.relief)
        return float(np.interp(daily_mg, [0.0, *doses], [0.0, *(self.relief[d] for d in doses)]))


STORIES: tuple[Story, ...] = (
    Story(
        ref="DEMO-001", name="Maria Alvarez", birth_year=1979,
        condition="Complex regional pain syndrome type I, right hand",
        span_days=420, baseline_pain=7.4,
        relief={20: 0.04, 30: 0.08, 50: 0.38, 75: 0.55, 100: 0.72},
        plan=(Step(20), Step(30), Step(50), Step(75), Step(100, note="good response at 75 mg; try 100 mg daily")),
        effect_load={"dizziness": 0.8, "drowsiness": 0.7, "dissociation": 0.6, "brain_fog": 0.5, "nausea": 0.3},
        bp_readings=0.25, peg=True, records_worst=True, features={"late_entry": 2, "plain_text_note": 1, "recent_high_bp": 0},
        other_medication="gabapentin 300 mg", booked=(0, "in person"),
    ),
    Story(
        ref="DEMO-002", name="Janet Okafor", birth_year=1968, condition="Fibromyalgia",
        span_days=300, baseline_pain=6.8, lag_days=2, precision=0.1, offset_minutes=60,
        relief={15: 0.05, 25: 0.12, 40: 0.20, 50: 0.26},
        plan=(Step(15), Step(25), Step(20, "twice daily", note="split the dose: 20 mg twice daily"),
              Step(25, "twice daily")),
        effects=("dizziness", "brain_fog", "drowsiness"),
        effect_load={"drowsiness": 0.9, "brain_fog": 0.8, "dizziness": 0.4},
        peg=True, other_medication="paracetamol 1 g", booked=(3, "telehealth"),
    ),
    Story(
        ref="DEMO-003", name="Tom Becker", birth_year=1985, condition="Chronic migraine",
        span_days=360, baseline_pain=4.2, slots=(0.35, 0.5, 0.15), precision=1.0,
        relief={20: 0.04, 30: 0.04, 50: 0.02, 75: 0.0, 100: -0.05},
        plan=(Step(20), Step(30), Step(50), Step(75), Step(100),
              Step(50, note="no benefit from escalation: taper to 50 mg, back to neurology")),
        effects=("dizziness", "nausea", "dissociation"),
        effect_load={"dizziness": 0.7, "nausea": 0.4, "dissociation": 0.5},
        features={"migraine_attacks": 0, "low_mood": 4}, other_medication="sumatriptan 50 mg",
        booked=(14, "in person"),
    ),
    Story(
        ref="DEMO-004", name="Priya Nair", birth_year=1972,
        condition="Chronic low back pain with lumbar radiculopathy",
        span_days=280, baseline_pain=6.9, records_worst=True,
        relief={50: 0.15, 100: 0.33, 150: 0.42},
        plan=(Step(50), Step(100), Step(150, note="pain still 5-6 at 100 mg; try 150 mg daily"),
              Step(100, note="step down to 100 mg: dissociation and nausea at 150 mg, home BP up to 170s")),
        effect_load={"dissociation": 1.0, "nausea": 0.9, "dizziness": 0.6, "drowsiness": 0.5},
        effect_cap={"dissociation": 3, "nausea": 3},
        bp_readings=0.35, features={"high_dose_reaction": 2}, booked=(0, "in person"),
    ),
    Story(
        ref="DEMO-005", name="Derek Walsh", birth_year=1958, condition="Post-herpetic neuralgia, left T6",
        # The diary went quiet 8 days ago and the visit booked 4 days ago has no record.
        span_days=480, baseline_pain=6.5, lag_days=8, booked=(-4, "in person"),
        relief={25: 0.10, 50: 0.25, 75: 0.38, 100: 0.48},
        plan=(Step(25), Step(50), Step(75), Step(100), None, None,
              Step(50, note="urinary frequency and urgency for ~3 weeks: urinalysis, reduce to 50 mg, "
                            "urology if it persists")),
        effect_load={"drowsiness": 0.6, "dizziness": 0.5, "brain_fog": 0.4},
        features={"bladder": 6, "quiet_since_last_visit": -1},
        # Urinalysis at the bladder visit; liver tests then (normal) and after the last visit (ALT above
        # 3 x the laboratory's upper limit: the liver_tests_high flag, v3).
        labs=((6, 0, "5794-3", None, None, "1+"), (6, 0, "5799-2", None, None, "trace"),
              (6, 0, "1742-6", 31.0, 41.0, None), (6, 0, "1920-8", 27.0, 40.0, None),
              (-1, 2, "1742-6", 142.0, 41.0, None), (-1, 2, "1920-8", 88.0, 40.0, None),
              (-1, 2, "2324-2", 96.0, 60.0, None), (-1, 2, "1975-2", 0.8, 1.2, None),
              (-1, 2, "6768-6", 112.0, 129.0, None)),
    ),
    Story(
        ref="DEMO-006", name="Linda Kowalski", birth_year=1976, condition="Failed back surgery syndrome",
        span_days=230, baseline_pain=7.0, slots=(0.1, 0.7, 0.2),
        relief={30: 0.10, 50: 0.22, 75: 0.30},
        plan=(Step(30), Step(50), Step(75, note="extra troches on several days: safe use discussed; 75 mg daily")),
        effect_load={"drowsiness": 0.7, "dizziness": 0.6, "dissociation": 0.4},
        bp_readings=0.2, features={"extra_troche": 1}, other_medication="ibuprofen 400 mg",
        booked=(5, "in person"),
    ),
    Story(
        ref="DEMO-007", name="Marcus Reid", birth_year=1981, condition="Painful diabetic peripheral neuropathy",
        span_days=365, baseline_pain=6.6, infusion_boost=0.30,
        relief={25: 0.10, 50: 0.22},
        plan=(Step(25), Infusion(35, resume=Step(50)), None, Infusion(35, resume=Step(50)), None,
              Infusion(40, resume=Step(50))),
        effects=("dizziness", "nausea", "dissociation", "drowsiness"),
        effect_load={"dizziness": 0.6, "drowsiness": 0.6, "dissociation": 0.4},
        features={"travel": 4}, shared_with=("dr.rivera", "dr.chen"), booked=(2, "infusion"),
    ),
    Story(
        ref="DEMO-008", name="Grace Liu", birth_year=1990, condition="Phantom limb pain, left below-knee amputation",
        span_days=210, baseline_pain=6.2, lag_days=4, missing=0.45, slots=(0.8, 0.2, 0.0), precision=1.0,
        relief={20: 0.10, 40: 0.30, 60: 0.35},
        plan=(Step(20), Step(40), Step(60)),
        effects=("dizziness", "dissociation"), effect_load={"dizziness": 0.5, "dissociation": 0.5},
        features={"sparse": 0}, shared_with=("dr.chen",), booked=(6, "telehealth"),
    ),
    Story(
        ref="DEMO-009", name="Robert Hughes", birth_year=1963,
        condition="Chronic post-surgical knee pain on long-term opioids",
        span_days=540, baseline_pain=6.6,
        relief={20: 0.10, 40: 0.25, 60: 0.35, 80: 0.42},
        plan=(Step(20), Step(40), Step(60), Step(80)),
        effect_load={"drowsiness": 0.7, "dizziness": 0.5, "brain_fog": 0.4},
        bp_readings=0.15, peg=True, features={"opioid_taper": 3}, shared_with=("dr.chen",),
        booked=(0, "telehealth"),
    ),
)
