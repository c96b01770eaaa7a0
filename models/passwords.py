"""Password hashing with argon2id."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Verified against when the email is unknown, so that a wrong email costs as much time as a wrong
# password and response times do not reveal which accounts exist.
_UNKNOWN_USER_HASH = _hasher.hash("tourdesk: no such user")

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _UNKNOWN_USER_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False
