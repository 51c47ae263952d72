"""Every setting in one place.

Deployment settings (database URL, demo mode) come from the environment; clinical
thresholds have the defaults of ``shared/spec/review-metrics.md`` and may be changed
by the clinic (stored in the ``setting`` table, see ``dashboard.db.settings_store``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, make_dataclass
from pathlib import Path

from dashboard.fields import RANGES as DIARY_RANGES

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "data"
DEFAULT_DATABASE_URL = f"sqlite:///{DATA_DIR / 'dashboard.sqlite'}"


def database_url() -> str:
    """The database the process talks to: ``DASHBOARD_DATABASE_URL`` or the embedded SQLite file."""
    return os.environ.get("DASHBOARD_DATABASE_URL") or DEFAULT_DATABASE_URL


def pool_settings() -> tuple[int, int]:
    """Database connections per server process: ``DASHBOARD_DB_POOL_SIZE`` kept open (default 5)
    and ``DASHBOARD_DB_MAX_OVERFLOW`` more under load (default 5). With several processes, size
    them so that processes x (pool + overflow) + command-line jobs stays below PostgreSQL's
    ``max_connections`` minus its reserved connections (README, "More than one server")."""
    def number(name: str, default: int) -> int:
        text = os.environ.get(name, "").strip()
        if not text:
            return default
        if not text.isdigit():
            raise ValueError(f"{name} must be a whole number of connections, not {text!r}")
        return int(text)

    return number("DASHBOARD_DB_POOL_SIZE", 5), number("DASHBOARD_DB_MAX_OVERFLOW", 5)


def demo_mode() -> bool:
    """Demo mode shows the demo accounts on the login page; never set it in a clinic."""
    return os.environ.get("DASHBOARD_DEMO", "").lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class SmartSettings:
    """The EHR launch (SMART App Launch 2, docs/smart-launch.md): the FHIR servers the clinic trusts,
    the client id the EHR registered for the dashboard, and the dashboard's ``/launch`` address."""

    issuers: tuple[str, ...]
    client_id: str
    redirect_uri: str

    @property
    def configured(self) -> bool:
        return bool(self.issuers and self.client_id and self.redirect_uri)


def smart_settings() -> SmartSettings:
    """``DASHBOARD_SMART_ISS`` (comma-separated FHIR base URLs), ``DASHBOARD_SMART_CLIENT_ID``,
    ``DASHBOARD_SMART_REDIRECT_URI``; a base URL is compared without a trailing slash."""
    issuers = tuple(dict.fromkeys(i.strip().rstrip("/") for i in os.environ.get("DASHBOARD_SMART_ISS", "").split(",")
                                  if i.strip()))
    return SmartSettings(issuers, os.environ.get("DASHBOARD_SMART_CLIENT_ID", "").strip(),
                         os.environ.get("DASHBOARD_SMART_REDIRECT_URI", "").strip())


def public_url() -> str | None:
    """The dashboard's address as patients reach it (``DASHBOARD_PUBLIC_URL``, e.g.
    ``https://pain.example-clinic.org``): the start of a share link's address. None when unset:
    the link is then shown as a path to put after the address the clinic's staff use."""
    text = os.environ.get("DASHBOARD_PUBLIC_URL", "").strip().rstrip("/")
    return text or None


def clinic_name() -> str:
    """The clinic's name as the patient's upload page says it (``DASHBOARD_CLINIC_NAME``)."""
    return os.environ.get("DASHBOARD_CLINIC_NAME", "").strip()[:200] or "your clinic"


@dataclass(frozen=True)
class ShareLimits:
    """What a share link takes (issue 22, docs/security.md "Share links"): a file's size, files per
    submission, and per hour through one link and through every link at once (counted in the
    database, so they hold across server processes). A file's 10 MB stays below the pages' own
    upload limit (``.streamlit/config.toml`` maxUploadSize 50 MB); a year of a daily diary is a few
    hundred kB in every format the dashboard reads."""

    file_bytes: int = 10 * 1024 * 1024
    files_per_submission: int = 10
    link_files_per_hour: int = 30
    link_bytes_per_hour: int = 50 * 1024 * 1024
    all_files_per_hour: int = 500
    all_bytes_per_hour: int = 500 * 1024 * 1024
    default_days: int = 14
    max_days: int = 90

    @property
    def body_bytes(self) -> int:
        """The most a submission's request body may hold: the files and their form's overhead."""
        return self.file_bytes * 2 + 64 * 1024


SHARE_LIMITS = ShareLimits()


def chromium_path() -> str | None:
    """The Chromium that draws the report's chart (plotly's static export through kaleido):
    ``CHROMIUM_PATH``, else kaleido's own ``BROWSER_PATH``, else Debian's /usr/bin/chromium."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), os.environ.get("BROWSER_PATH"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def audit_key_file() -> Path:
    """Where the audit trail's HMAC key lives when ``DASHBOARD_AUDIT_KEY`` is not set.

    Outside the database on purpose: whoever can write the database must not also hold the key.
    """
    return Path(os.environ.get("DASHBOARD_AUDIT_KEY_FILE") or DATA_DIR / "audit.key")


def audit_checkpoint_file() -> Path:
    """The signed record of the trail's last row, kept outside the database (see ``audit checkpoint``)."""
    return Path(os.environ.get("DASHBOARD_AUDIT_CHECKPOINT_FILE") or DATA_DIR / "audit-checkpoint.json")


# Every this many audit rows the application itself advances the checkpoint (after the commit).
AUDIT_CHECKPOINT_EVERY = 100


# Who may change a threshold (``dashboard.access.may_change_setting`` reads it from the table, the
# one place that says so): the clinic-wide thresholds are the administrators' and the clinic's lead
# clinician's (a clinician an administrator marks so); every other clinician reads them.
CLINIC_LEAD = "clinic lead"
CLINICAL = ("admin", CLINIC_LEAD)
ADMIN_ONLY = ("admin",)  # security settings (HIPAA automatic logoff) are the administrator's alone
CHANGED_BY_WORDS = {"admin": "administrators", CLINIC_LEAD: "the clinic's lead clinician"}

_REVIEW_METRICS = "review-metrics.md"


@dataclass(frozen=True)
class Threshold:
    """One clinical threshold the clinic may change: its default, what it means, in what unit,
    where the default comes from, what values are allowed and who may change it.

    ``low``/``high`` bound a number (inclusive); ``choices`` list a text's allowed values. The type
    of the setting is the type of its default (a whole number, a number or a word).
    """

    key: str
    default: int | float | str
    unit: str
    label: str
    source: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    changed_by: tuple[str, ...] = CLINICAL

    @property
    def kind(self) -> type:
        return type(self.default)

    @property
    def who(self) -> str:
        """Who may change it, in words for the settings page and its refusals."""
        return " and ".join(CHANGED_BY_WORDS[standing] for standing in self.changed_by)

    @property
    def allowed(self) -> str:
        """The allowed values in words, as docs/settings.md writes them."""
        if self.choices:
            return ", ".join(self.choices)
        return f"{self.low:g}-{self.high:g}"


# The clinic's thresholds, in the order the settings page lists them. Defaults from review-metrics.md;
# responder cut-offs follow Farrar et al. 2001 (Pain 94:149-158) and the IMMPACT recommendations
# (Dworkin et al. 2008, J Pain 9:105-121): a ~30 % or ~2-point drop on a 0-10 scale is moderately
# important, >= 50 % substantial. Blood pressure thresholds range over the diary's own readings (fields.py);
# percentages and 0-10 points within their scales.
THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("baseline_days", 14, "days", "Baseline: the days before the first troche step",
              f"{_REVIEW_METRICS}: the 14 days before the first troche step", 1, 90),
    Threshold("onset_days", 14, "days", "Onset: days after a step starts before its response is judged",
              "Ketamine's analgesic effect builds over 2-4 weeks (ASRA/AAPM/ASA consensus, Cohen et al. 2018, "
              "Reg Anesth Pain Med 43:521-546)", 0, 90),
    Threshold("min_response_days", 7, "days", "Fewest response days before a step is judged (else 'early')",
              f"{_REVIEW_METRICS}: fewer remaining days mark a step 'early'", 1, 90),
    Threshold("min_baseline_diary_days", 3, "days", "Fewest diary days with pain that make a baseline",
              f"{_REVIEW_METRICS}: fewer diary days with pain make the baseline missing", 1, 90),
    Threshold("responder_substantial_pct", 50.0, "%", "Pain reduction from baseline that is a substantial response",
              "Farrar et al. 2001 (Pain 94:149); IMMPACT, Dworkin et al. 2008 (J Pain 9:105): >= 50 % substantial",
              1, 100),
    Threshold("responder_moderate_pct", 30.0, "%", "Pain reduction from baseline that is a moderate response",
              "Farrar et al. 2001; IMMPACT 2008: ~30 % moderately important", 1, 100),
    Threshold("responder_minimal_pct", 15.0, "%", "Pain reduction from baseline that is a minimal response",
              "IMMPACT 2008: 10-20 % minimally important", 1, 100),
    Threshold("worse_pct", 15.0, "%", "Pain rise from baseline that counts as worse",
              f"{_REVIEW_METRICS}: pain rose by this share or more", 1, 1000),
    Threshold("important_change_points", 2.0, "points (0-10)", "Pain reduction that is clinically important",
              "Farrar et al. 2001: ~2 points on a 0-10 scale", 0.5, 10),
    Threshold("effective_category", "moderate", "category", "Response a step must reach to count as effective",
              f"{_REVIEW_METRICS}: the response a step must reach to count as effective",
              choices=("minimal", "moderate", "substantial")),
    Threshold("severe_share_max_pct", 10.0, "% of diary days", "Most days with a severe side effect in an effective step",
              f"{_REVIEW_METRICS}: severe (CTCAE grade 3) side effects tolerated on at most this share of days",
              0, 100),
    Threshold("bp_systolic_high", 160.0, "mmHg", "Systolic pressure that raises the bp_high flag",
              "Ketamine raises blood pressure (FDA 2023 compounded-ketamine warning; ASRA/AAPM 2018)",
              *DIARY_RANGES["bp_systolic"]),
    Threshold("bp_diastolic_high", 100.0, "mmHg", "Diastolic pressure that raises the bp_high flag",
              "As above: diastolic threshold", *DIARY_RANGES["bp_diastolic"]),
    Threshold("pain_spike_points", 3.0, "points (0-10)", "Rise over the previous diary days' mean pain that is a spike",
              f"{_REVIEW_METRICS}: rise over the previous diary day", 0.5, 10),
    Threshold("low_mood_max", 2.0, "points (0-10)", "Mood at or below this is low",
              f"{_REVIEW_METRICS}: mood at or below this on consecutive days", 0, 10),
    Threshold("low_mood_days", 3, "days", "Consecutive diary days of low mood that raise the low_mood flag",
              f"{_REVIEW_METRICS}: consecutive diary days of low mood", 1, 60),
    Threshold("diary_gap_days", 7, "days", "Days without an entry that raise the diary_gap flag",
              f"{_REVIEW_METRICS}: days without an entry", 1, 365),
    Threshold("escalation_min_benefit_points", 1.0, "points (0-10)",
              "Benefit a dose increase must bring; the difference that is clinically important",
              f"{_REVIEW_METRICS}: benefit a dose increase must bring; v3: also the difference a step's verdict "
              "must reach to be clinically important", 0, 10),
    Threshold("low_adherence_pct", 80.0, "% of prescribed mg", "Adherence below which a step is not a fair test",
              f"{_REVIEW_METRICS} v3: below this share of the prescribed mg taken, a step is not a fair test", 0, 100),
    Threshold("sparse_diary_share", 0.5, "share of days", "Share of a response window with pain below which it is sparse",
              f"{_REVIEW_METRICS} v3: a response window with pain on fewer than this share of its days is sparse",
              0, 1),
    Threshold("coverage_min_share", 0.5, "share of days",
              "Share of diary days since the last visit below which 'none' is not said",
              f"{_REVIEW_METRICS} v3: below this share of diary days since the last visit, 'none' is not said",
              0, 1),
    Threshold("liver_uln_factor", 3.0, "x upper limit of normal", "ALT/AST multiple that raises liver_tests_high",
              "ALT/AST above this multiple of the upper limit of normal (FDA 2009 guidance on drug-induced liver "
              "injury, Hy's law: ALT or AST > 3 x ULN; ketamine liver injury: Noppers et al. 2011, Pain 152:2173)",
              1, 20),
    Threshold("liver_upper_limit_u_l", 40.0, "U/L", "ALT/AST upper limit of normal where the laboratory gives none",
              f"{_REVIEW_METRICS} v3: ALT/AST upper limit (U/L) where the laboratory gives none", 1, 1000),
    Threshold("max_daily_dose_mg", 300.0, "mg/day", "Troche daily dose above which a step needs a confirmation with a reason",
              "The top of the refractory range: common maintenance doses 50-150 mg/day, 150-300 mg/day or more for "
              "refractory pain (oral and sublingual doses vary widely: Blonk et al. 2010, Eur J Pain 14:466-472; "
              "ASRA/AAPM/ASA consensus, Cohen et al. 2018, Reg Anesth Pain Med 43:521-546)", 50, 1000),
    Threshold("idle_logoff_minutes", 15, "minutes", "Idle minutes before a session is logged off",
              "HIPAA Security Rule 45 CFR 164.312(a)(2)(iii): automatic logoff", 1, 240, changed_by=ADMIN_ONLY),
)
THRESHOLD: dict[str, Threshold] = {t.key: t for t in THRESHOLDS}


def _replace(self, **changes: object) -> "Thresholds":
    values = {f.name: getattr(self, f.name) for f in fields(self)}
    values.update(changes)
    return Thresholds(**values)  # type: ignore[arg-type]


# The clinic's thresholds as one typed, frozen value: a field per record of THRESHOLDS, with its default.
Thresholds = make_dataclass(
    "Thresholds", [(t.key, t.kind, field(default=t.default)) for t in THRESHOLDS], frozen=True,
    namespace={"__module__": __name__, "replace": _replace,
               "__doc__": "The clinic's thresholds (one field per record of ``THRESHOLDS``), defaults from "
                          "review-metrics.md."},
)
