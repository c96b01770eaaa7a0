"""The role matrix and the viewer it is checked against.

Every permission check in tourdesk reads `ROLE_MATRIX`; a role or permission missing from it grants
nothing.
"""

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import cache

from models.enums import Role


class Permission(StrEnum):
    READ_BOOKINGS = "READ_BOOKINGS"
    WRITE_BOOKINGS = "WRITE_BOOKINGS"
    READ_CUSTOMERS = "READ_CUSTOMERS"
    EXPORT_GUESTS = "EXPORT_GUESTS"
    EXPORT_CUSTOMERS = "EXPORT_CUSTOMERS"
    MANAGE_USERS = "MANAGE_USERS"
    MANAGE_ACTIVITIES = "MANAGE_ACTIVITIES"
    MANAGE_PARTNERS = "MANAGE_PARTNERS"
    READ_CATALOG = "READ_CATALOG"


class Scope(IntEnum):
    """How much of the organization's data a permission reaches; a larger value reaches more."""

    NONE = 0
    # Departures the user is assigned to as a guide.
    GUIDED = 1
    # Bookings the user created.
    OWN = 2
    ALL = 3


_A, _O, _G = Scope.ALL, Scope.OWN, Scope.GUIDED

ROLE_MATRIX: dict[Permission, dict[Role, Scope]] = {
    Permission.READ_BOOKINGS: {
        Role.ADMIN: _A,
        Role.EMPLOYEE: _A,
        Role.AGENT: _O,
        Role.ACCOUNTANT: _A,
        Role.GUIDE: _G,
    },
    Permission.WRITE_BOOKINGS: {Role.ADMIN: _A, Role.EMPLOYEE: _A, Role.AGENT: _O},
    Permission.READ_CUSTOMERS: {
        Role.ADMIN: _A,
        Role.EMPLOYEE: _A,
        Role.AGENT: _O,
        Role.ACCOUNTANT: _A,
    },
    Permission.EXPORT_GUESTS: {Role.ADMIN: _A, Role.EMPLOYEE: _A, Role.ACCOUNTANT: _A},
    Permission.EXPORT_CUSTOMERS: {Role.ADMIN: _A, Role.ACCOUNTANT: _A},
    Permission.MANAGE_USERS: {Role.ADMIN: _A},
    Permission.MANAGE_ACTIVITIES: {Role.ADMIN: _A, Role.EMPLOYEE: _A, Role.EDITOR: _A},
    Permission.MANAGE_PARTNERS: {Role.ADMIN: _A},
    # Every role works with activities and custom fields, but a user without a role reads none.
    Permission.READ_CATALOG: dict.fromkeys(Role, _A),
}


@cache
def _widest_scope(roles: frozenset[Role], permission: Permission) -> Scope:
    # Cached, because resolvers call this for every row of a page and there are few role sets.
    grants = ROLE_MATRIX.get(permission, {})
    return max((grants.get(role, Scope.NONE) for role in roles), default=Scope.NONE)


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user a request runs as."""

    user_id: int
    organization_id: int
    time_zone: str
    currency: str
    roles: frozenset[Role]

    def scope(self, permission: Permission) -> Scope:
        """Return the widest scope any of the viewer's roles has for `permission`."""
        return _widest_scope(self.roles, permission)

    def can(self, permission: Permission) -> bool:
        return self.scope(permission) is not Scope.NONE
