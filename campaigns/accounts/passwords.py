"""Password hashing with argon2id (argon2-cffi's tuned defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
MIN_LENGTH = 12


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# A hash to verify against when the account does not exist, so that a login
# for an unknown email takes as long as one for a known email. It is a
# constant (the hash of a random password nobody kept, with the hasher's
# parameters) rather than computed at import: hashing allocates argon2's
# 64 MiB in every process that imports this module, web and Celery alike.
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$KP8co1JeqAJoXaomJCcqgA$wNBEwu34hMjvE0Vd67lIcapUcqNcDwoi65mAs5GVSQg"
)
