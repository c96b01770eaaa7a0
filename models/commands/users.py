"""Managing back-office users and their roles."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.access import Permission, Viewer
from models.commands import validation as check
from models.enums import Role
from models.errors import ErrorCode, InputError, InputErrors, NotFound
from models.organizations import Organization
from models.passwords import MIN_PASSWORD_LENGTH, hash_password
from models.queries.visibility import require
from models.users import AccessToken, User, UserRole

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UserInput:
    email: str
    first_name: str
    last_name: str
    password: str
    roles: tuple[Role, ...]


def _check_roles(roles: tuple[Role, ...], errors: list[InputError]) -> None:
    if not roles:
        errors.append(InputError("roles", ErrorCode.REQUIRED, "Give the user at least one role."))


async def create_user(organization_id: int, user: UserInput) -> User:
    """Create a user in an organization; the caller has checked who may do so."""
    errors: list[InputError] = []
    check.check_email("email", user.email, errors, required=True)
    check.check_name("firstName", user.first_name, errors)
    check.check_name("lastName", user.last_name, errors)
    _check_roles(user.roles, errors)
    if len(user.password) < MIN_PASSWORD_LENGTH:
        errors.append(
            InputError(
                "password",
                ErrorCode.INVALID,
                f"The password has {len(user.password)} characters; "
                f"use at least {MIN_PASSWORD_LENGTH}.",
            )
        )
    email = check.normalise_email(user.email)
    if not errors and await User.exists(email=email):
        errors.append(_email_taken(email))
    if errors:
        raise InputErrors(errors)

    try:
        async with in_transaction():
            created = await User.create(
                organization_id=organization_id,
                email=email,
                first_name=user.first_name.strip(),
                last_name=user.last_name.strip(),
                password_hash=hash_password(user.password),
            )
            await UserRole.bulk_create(
                [UserRole(user_id=created.id, role=role) for role in sorted(set(user.roles))]
            )
    except IntegrityError as error:
        raise InputErrors([_email_taken(email)]) from error

    logger.info("User %s created in organization %s", created.id, organization_id)
    return created


def _email_taken(email: str) -> InputError:
    return InputError("email", ErrorCode.DUPLICATE, f"A user with email {email!r} already exists.")


async def create_user_as(viewer: Viewer, user: UserInput) -> User:
    require(viewer, Permission.MANAGE_USERS)
    return await create_user(viewer.organization_id, user)


async def _managed_user(viewer: Viewer, user_id: int) -> User:
    require(viewer, Permission.MANAGE_USERS)
    user = await User.get_or_none(id=user_id, organization_id=viewer.organization_id)
    if user is None:
        raise NotFound(f"User {user_id} was not found.")
    return user


async def _other_active_admins(organization_id: int, user_id: int) -> int:
    return (
        await UserRole.filter(
            role=Role.ADMIN, user__organization_id=organization_id, user__is_active=True
        )
        .exclude(user_id=user_id)
        .count()
    )


async def _keep_an_admin(user: User, field: str) -> None:
    """Raise unless an active admin other than `user` remains; call inside a transaction.

    Locking the organization's row serialises admin changes on PostgreSQL, so two admins who
    demote or deactivate each other at once cannot leave the organization without one.
    """
    await Organization.filter(id=user.organization_id).select_for_update().first()
    if await _other_active_admins(user.organization_id, user.id):
        return
    raise InputErrors(
        [
            InputError(
                field,
                ErrorCode.LAST_ADMIN,
                f"{user.email} is the organization's last active admin; "
                "make another user ADMIN first.",
            )
        ]
    )


async def update_user_roles(viewer: Viewer, user_id: int, roles: tuple[Role, ...]) -> User:
    user = await _managed_user(viewer, user_id)
    errors: list[InputError] = []
    _check_roles(roles, errors)
    if errors:
        raise InputErrors(errors)

    async with in_transaction():
        if Role.ADMIN not in roles:
            await _keep_an_admin(user, "roles")
        await UserRole.filter(user_id=user.id).delete()
        await UserRole.bulk_create(
            [UserRole(user_id=user.id, role=role) for role in sorted(set(roles))]
        )
    logger.info("Roles of user %s set by user %s", user.id, viewer.user_id)
    return user


async def deactivate_user(viewer: Viewer, user_id: int) -> User:
    """Deactivate a user and revoke all its tokens, so it is signed out everywhere at once."""
    user = await _managed_user(viewer, user_id)
    if user.id == viewer.user_id:
        raise InputErrors(
            [InputError("id", ErrorCode.INVALID, "You cannot deactivate your own account.")]
        )

    now = datetime.now(UTC)
    async with in_transaction():
        await _keep_an_admin(user, "id")
        await User.filter(id=user.id).update(is_active=False)
        await AccessToken.filter(user_id=user.id, revoked_at=None).update(revoked_at=now)
    logger.info("User %s deactivated by user %s", user.id, viewer.user_id)
    await user.refresh_from_db()
    return user
