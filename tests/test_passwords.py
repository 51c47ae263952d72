"""Passwords are hashed at the production cost outside the tests' own processes.

tests/conftest.py hashes at argon2's cheapest cost inside the test processes (hundreds of hashes
at 0.2 s each); this proves that the dashboard itself, in a process of its own as the server and
the command line run, hashes with RFC 9106's parameters, and that a cheap hash still verifies
only its own password.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from argon2 import PasswordHasher, extract_parameters, profiles

from dashboard.auth import passwords
from tests.conftest import CHEAP_PASSWORDS

REPO = Path(__file__).resolve().parents[1]


def test_a_real_process_hashes_at_rfc_9106s_cost():
    assert passwords.PARAMETERS == profiles.RFC_9106_LOW_MEMORY
    assert (passwords.PARAMETERS.time_cost, passwords.PARAMETERS.memory_cost, passwords.PARAMETERS.parallelism) \
        == (3, 65536, 4)
    done = subprocess.run(
        [sys.executable, "-c", "from dashboard.auth.passwords import hash_password, verify_password as v; "
                               "h = hash_password('a long enough passphrase'); "
                               "print(h); print(v(h, 'a long enough passphrase'), v(h, 'another passphrase'))"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    stored, checks = done.stdout.splitlines()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert extract_parameters(stored) == passwords.PARAMETERS
    assert checks == "True False"


def test_the_tests_cheap_hash_checks_the_same_way():
    cheap = passwords.hash_password("a long enough passphrase")
    assert extract_parameters(cheap) == CHEAP_PASSWORDS  # tests/conftest.py's cost, in this process only
    assert cheap.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert passwords.verify_password(cheap, "a long enough passphrase")
    assert not passwords.verify_password(cheap, "a long enough passphrase ")
    production = PasswordHasher.from_parameters(passwords.PARAMETERS).hash("a long enough passphrase")
    assert passwords.verify_password(production, "a long enough passphrase")  # stored hashes keep working
    assert not passwords.verify_password(production, "x")
