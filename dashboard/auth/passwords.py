"""Password hashing with argon2id (OWASP Password Storage Cheat Sheet's first choice)."""

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

# RFC 9106 section 4, the second recommended option (argon2-cffi's default): argon2id, 64 MiB,
# 3 passes, 4 lanes. Named so that a test can prove a real process hashes with exactly these
# (tests/test_passwords.py); the in-process tests hash at a cheaper cost (tests/conftest.py).
PARAMETERS = profiles.RFC_9106_LOW_MEMORY
_hasher = PasswordHasher.from_parameters(PARAMETERS)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
