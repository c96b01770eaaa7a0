"""Signing in and out with bearer tokens."""

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.queryset import ValuesListQuery

from models.access import Viewer
from models.commands.validation import normalise_email
from models.errors import ErrorCode, InputError, InputErrors
from models.passwords import verify_password
from models.queries.tuples import fetch_tuples_of
from models.users import AccessToken, SignInThrottle, User, UserRole

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "td_"
# Failed sign-ins allowed before each further one locks the account for a doubling delay.
FREE_SIGN_IN_ATTEMPTS = 5
MAX_LOCKOUT = timedelta(minutes=15)
THROTTLE_MEMORY = timedelta(days=1)
MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True, slots=True)
class SignIn:
    token: str
    expires_at: datetime
    user: User


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def lockout_after(failures: int) -> timedelta:
    """Return how long the account stays locked after `failures` consecutive failed sign-ins."""
    if failures < FREE_SIGN_IN_ATTEMPTS:
        return timedelta(0)
    # The exponent is capped: 2**10 seconds is past MAX_LOCKOUT already, and an uncapped power
    # overflows timedelta after about fifty failures.
    exponent = min(failures - FREE_SIGN_IN_ATTEMPTS, 10)
    return min(timedelta(seconds=2**exponent), MAX_LOCKOUT)


def _invalid_credentials() -> InputErrors:
    # One message for a wrong email and a wrong password, so sign-in does not reveal accounts.
    return InputErrors(
        [InputError("password", ErrorCode.INVALID_CREDENTIALS, "Invalid email or password.")]
    )


async def sign_in(email: str, password: str, *, token_ttl: timedelta) -> SignIn:
    now = datetime.now(UTC)
    email_key = normalise_email(email)
    # No account has a NUL in its email or one that long, and PostgreSQL rejects NUL in a
    # query parameter.
    if "\x00" in email_key or len(email_key) > MAX_EMAIL_LENGTH:
        raise _invalid_credentials()

    await _count_attempt(email_key, now)

    user = await User.get_or_none(email=email_key, is_active=True)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise _invalid_credentials()

    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + token_ttl
    await AccessToken.create(user_id=user.id, token_hash=hash_token(token), expires_at=expires_at)
    await User.filter(id=user.id).update(last_sign_in_at=now)
    await SignInThrottle.filter(email_key=email_key).delete()
    logger.info("User %s signed in", user.id)
    return SignIn(token=token, expires_at=expires_at, user=user)


def _too_many_attempts(seconds: int) -> InputErrors:
    return InputErrors(
        [
            InputError(
                "password",
                ErrorCode.TOO_MANY_ATTEMPTS,
                f"Too many failed sign-ins; try again in {seconds} seconds.",
            )
        ]
    )


async def _count_attempt(email_key: str, now: datetime) -> None:
    """Count a sign-in attempt before the password is checked, or reject it while locked.

    The count and the lock are written with a compare-and-set on the previous count, so of many
    attempts sent at once only one passes each step: parallel guesses cannot outrun the lock. A
    successful sign-in deletes the row afterwards.
    """
    # Rows of emails nobody tried for a day are dropped, so guessing many emails cannot grow
    # the table without bound.
    await SignInThrottle.filter(updated_at__lt=now - THROTTLE_MEMORY).delete()
    try:
        throttle, _ = await SignInThrottle.get_or_create(email_key=email_key)
    except IntegrityError:
        throttle = await SignInThrottle.get(email_key=email_key)

    if throttle.locked_until is not None and throttle.locked_until > now:
        raise _too_many_attempts(int((throttle.locked_until - now).total_seconds()) + 1)

    failures = throttle.failures + 1
    lockout = lockout_after(failures)
    counted = await SignInThrottle.filter(id=throttle.id, failures=throttle.failures).update(
        failures=failures, locked_until=now + lockout if lockout else None
    )
    if not counted:
        # Another attempt for this email was counted between the read and the write.
        raise _too_many_attempts(1)
    if lockout:
        logger.warning("Sign-in attempt %s for throttle row %s", failures, throttle.id)


async def sign_out(token: str) -> bool:
    revoked = await AccessToken.filter(token_hash=hash_token(token), revoked_at=None).update(
        revoked_at=datetime.now(UTC)
    )
    return revoked > 0


async def viewer_for_token(token: str) -> Viewer | None:
    """Return the viewer a bearer token signs in, or None when it is unknown, expired or revoked."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    rows = await fetch_tuples_of(_token_users, [hash_token(token), datetime.now(UTC)])
    # Checked here rather than in the statement, whose only parameters are then the token and
    # the time, so that its text is built once.
    return _viewer_of([row[1:] for row in rows if row[0]])


def _token_users(values: list[Any]) -> ValuesListQuery[Any]:
    """Select whether the user is active and the viewer's columns, for the user whose unrevoked
    token has the hash `values[0]` and expires after `values[1]`."""
    token_hash, now = values
    tokens = AccessToken.filter(token_hash=token_hash, revoked_at=None, expires_at__gt=now)
    return tokens.values_list("user__is_active", *(f"user__{column}" for column in VIEWER_COLUMNS))


async def viewer_for_user(user_id: int) -> Viewer | None:
    """Return the viewer of an active user, as export jobs that run on its behalf need."""
    users = User.filter(id=user_id, is_active=True)
    return _viewer_of(await users.values_list(*VIEWER_COLUMNS))


# The columns a viewer is built from, read with the user in one statement: one row per role of
# the user, or one row with no role.
VIEWER_COLUMNS = (
    "id",
    "organization_id",
    "organization__time_zone",
    "organization__currency",
    "roles__role",
)


def _viewer_of(rows: Sequence[Sequence[Any]]) -> Viewer | None:
    if not rows:
        return None
    user_id, organization_id, time_zone, currency, _ = rows[0]
    return Viewer(
        user_id=user_id,
        organization_id=organization_id,
        time_zone=time_zone,
        currency=currency,
        roles=frozenset(row[4] for row in rows if row[4] is not None),
    )


async def viewer_from_user(user: User) -> Viewer:
    """Build the viewer of a user whose organization is fetched."""
    roles = await UserRole.filter(user_id=user.id).values_list("role", flat=True)
    return Viewer(
        user_id=user.id,
        organization_id=user.organization_id,
        time_zone=user.organization.time_zone,
        currency=user.organization.currency,
        roles=frozenset(roles),  # type: ignore[arg-type]
    )
