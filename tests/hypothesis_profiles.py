"""The property tests' Hypothesis profiles: a run that anyone starts (the README's command, CI)
cannot turn red by chance; a longer search is something a developer starts on purpose.

- ``ci`` (the default): ``derandomize=True``, so every run tries the same examples (a seed per
  test, derived from its name), no example database (nothing carried over from an earlier run
  changes what is tried), no deadline (a loaded machine is not a failure), and each test's
  bounded ``max_examples`` as written.
- ``explore``: random examples, the example database in ``.hypothesis/`` (a failure found is
  replayed first next time), and :data:`EXPLORE_FACTOR` times each test's examples. Select it
  with ``HYPOTHESIS_PROFILE=explore`` or ``pytest --hypothesis-profile=explore``; put a failure
  it finds into the test as an ``@example``, so the default run keeps checking it.

Tests give their number of examples as ``examples(n)``, never ``derandomize`` or ``database``:
those come from the profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

EXPLORE_FACTOR = 20

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=100, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "explore", derandomize=False, database=DirectoryBasedExampleDatabase(".hypothesis/examples"), deadline=None,
    max_examples=100 * EXPLORE_FACTOR, print_blob=True, suppress_health_check=[HealthCheck.too_slow],
)
# ``--hypothesis-profile`` (Hypothesis' pytest plugin) loads its profile after this, and wins.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(n: int) -> int:
    """A test's bounded number of examples, or :data:`EXPLORE_FACTOR` times it when exploring."""
    return n * EXPLORE_FACTOR if settings.get_current_profile_name() == "explore" else n
