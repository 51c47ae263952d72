"""Every setting in one place.

Deployment settings (database URL, demo mode) come from the environment; clinical
thresholds have the defaults of ``shared/spec/review-metrics.md`` and may be changed
by the clinic (stored in the ``setting`` table, see ``dashboard.db.settings_store``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

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


@dataclass(frozen=True)
class Threshold:
    """A clinical threshold with its default and where the default comes from."""

    key: str
    default: float
    label: str
    source: str
    minimum: float = 0.0
    maximum: float = 1000.0


@dataclass(frozen=True)
class Thresholds:
    """The clinic's thresholds; defaults from review-metrics.md.

    Responder cut-offs follow Farrar et al. 2001 (Pain 94:149-158) and the IMMPACT
    recommendations (Dworkin et al. 2008, J Pain 9:105-121): a ~30 % or ~2-point drop on a
    0-10 scale is moderately important, >= 50 % substantial.
    """

    baseline_days: int = 14
    onset_days: int = 14
    min_response_days: int = 7
    min_baseline_diary_days: int = 3
    responder_substantial_pct: float = 50.0
    responder_moderate_pct: float = 30.0
    responder_minimal_pct: float = 15.0
    worse_pct: float = 15.0
    important_change_points: float = 2.0
    effective_category: str = "moderate"
    severe_share_max_pct: float = 10.0
    bp_systolic_high: float = 160.0
    bp_diastolic_high: float = 100.0
    pain_spike_points: float = 3.0
    low_mood_max: float = 2.0
    low_mood_days: int = 3
    diary_gap_days: int = 7
    escalation_min_benefit_points: float = 1.0
    low_adherence_pct: float = 80.0
    sparse_diary_share: float = 0.5
    coverage_min_share: float = 0.5
    liver_uln_factor: float = 3.0
    liver_upper_limit_u_l: float = 40.0
    idle_logoff_minutes: int = 15

    def replace(self, **changes: object) -> "Thresholds":
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Thresholds(**values)  # type: ignore[arg-type]


THRESHOLD_SOURCES: dict[str, str] = {
    "baseline_days": "review-metrics.md: the 14 days before the first troche step",
    "onset_days": "Ketamine's analgesic effect builds over 2-4 weeks (ASRA/AAPM/ASA consensus, Cohen et al. 2018, Reg Anesth Pain Med 43:521-546)",
    "min_response_days": "review-metrics.md: fewer remaining days mark a step 'early'",
    "min_baseline_diary_days": "review-metrics.md: fewer diary days with pain make the baseline missing",
    "responder_substantial_pct": "Farrar et al. 2001 (Pain 94:149); IMMPACT, Dworkin et al. 2008 (J Pain 9:105): >= 50 % substantial",
    "responder_moderate_pct": "Farrar et al. 2001; IMMPACT 2008: ~30 % moderately important",
    "responder_minimal_pct": "IMMPACT 2008: 10-20 % minimally important",
    "worse_pct": "review-metrics.md: pain rose by this share or more",
    "important_change_points": "Farrar et al. 2001: ~2 points on a 0-10 scale",
    "effective_category": "review-metrics.md: the response a step must reach to count as effective",
    "severe_share_max_pct": "review-metrics.md: severe (CTCAE grade 3) side effects tolerated on at most this share of days",
    "bp_systolic_high": "Ketamine raises blood pressure (FDA 2023 compounded-ketamine warning; ASRA/AAPM 2018)",
    "bp_diastolic_high": "As above: diastolic threshold",
    "pain_spike_points": "review-metrics.md: rise over the previous diary day",
    "low_mood_max": "review-metrics.md: mood at or below this on consecutive days",
    "low_mood_days": "review-metrics.md: consecutive diary days of low mood",
    "diary_gap_days": "review-metrics.md: days without an entry",
    "escalation_min_benefit_points": "review-metrics.md: benefit a dose increase must bring; v3: also the "
                                     "difference a step's verdict must reach to be clinically important",
    "low_adherence_pct": "review-metrics.md v3: below this share of the prescribed mg taken, a step is not a fair test",
    "sparse_diary_share": "review-metrics.md v3: a response window with pain on fewer than this share of its days "
                          "is sparse",
    "coverage_min_share": "review-metrics.md v3: below this share of diary days since the last visit, 'none' "
                          "is not said",
    "liver_uln_factor": "ALT/AST above this multiple of the upper limit of normal (FDA 2009 guidance on drug-induced "
                        "liver injury, Hy's law: ALT or AST > 3 x ULN; ketamine liver injury: Noppers et al. 2011, "
                        "Pain 152:2173)",
    "liver_upper_limit_u_l": "review-metrics.md v3: ALT/AST upper limit (U/L) where the laboratory gives none",
    "idle_logoff_minutes": "HIPAA Security Rule 45 CFR 164.312(a)(2)(iii): automatic logoff",
}


@dataclass(frozen=True)
class AppConfig:
    database_url: str = field(default_factory=database_url)
    demo: bool = field(default_factory=demo_mode)
    max_upload_mb: int = 50
