"""The demo clinic: synthetic patients a pain specialist would recognise.

``build_demo(session, seed=7, today=None)`` writes nine patients (6-18 months of diary,
titration steps, visits every 4-8 weeks, co-medications) through the one import writer,
adds the demo accounts (``DEMO_ACCOUNTS``) and shares the patients with the clinicians.
``python -m dashboard demo`` and the tests' fixture database both use it. The stories are
in :mod:`dashboard.demo.stories`; ``generate_clinic`` gives the files without a database.
"""

from dashboard.demo.build import DEMO_ACCOUNTS, DEMO_LEADS, DemoRefused, build_demo, not_the_demo
from dashboard.demo.clinic import generate_clinic
from dashboard.demo.stories import STORIES

__all__ = ["DEMO_ACCOUNTS", "DEMO_LEADS", "STORIES", "DemoRefused", "build_demo", "generate_clinic", "not_the_demo"]
