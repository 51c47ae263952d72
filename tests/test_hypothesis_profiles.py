"""The property tests cannot turn a newcomer's or CI's run red by chance (issue 24, item 10)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from hypothesis import settings

from tests.hypothesis_profiles import EXPLORE_FACTOR, examples

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def test_the_default_profile_is_derandomized_bounded_and_without_deadline():
    """What the README's plain ``python -m pytest`` loads (no HYPOTHESIS_PROFILE in the environment)."""
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    code = ("from tests import hypothesis_profiles as p; from hypothesis import settings as s; d = s.default; "
            "print(s.get_current_profile_name(), d.derandomize, d.database, d.deadline, d.max_examples, p.examples(150))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["ci", "True", "None", "None", "100", "150"]


def test_the_explore_profile_searches_longer_with_random_examples():
    env = {**os.environ, "HYPOTHESIS_PROFILE": "explore"}
    code = ("from tests import hypothesis_profiles as p; from hypothesis import settings as s; d = s.default; "
            "print(s.get_current_profile_name(), d.derandomize, d.database is not None, p.examples(150))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["explore", "False", "True", str(150 * EXPLORE_FACTOR)]


def test_this_run_uses_the_profile_and_no_test_overrides_it():
    """No @settings in tests/ sets derandomize, database or a bare max_examples (those belong to the
    profile), nor drops the profile's too_slow suppression (a timing, like a deadline)."""
    if settings.get_current_profile_name() == "ci":
        assert settings.default.derandomize and settings.default.database is None
        assert examples(7) == 7
    offenders = []
    for path in TESTS.rglob("*.py"):
        if path.name == "hypothesis_profiles.py":
            continue
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"settings\((?:[^()]|\([^()]*\))*\)", text):
            call = match.group()
            if re.search(r"derandomize\s*=|database\s*=|max_examples\s*=\s*\d", call):
                offenders.append(f"{path.relative_to(REPO)}: {call}")
            # A slow machine must not fail a health check either: a list of its own keeps too_slow.
            if "suppress_health_check" in call and "HealthCheck.too_slow" not in call:
                offenders.append(f"{path.relative_to(REPO)}: {call}")
    assert offenders == []
