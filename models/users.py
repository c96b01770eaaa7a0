"""Back-office users, their roles and their access tokens."""

from tortoise import fields
from tortoise.models import Model

from models.enums import Role
from models.organizations import Organization


class User(Model):
    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="users", on_delete=fields.CASCADE, db_index=True
    )
    organization_id: int
    # Stored lower-cased and trimmed, so sign-in and uniqueness ignore case.
    email = fields.CharField(max_length=254, unique=True)
    first_name = fields.CharField(max_length=100)
    last_name = fields.CharField(max_length=100, db_index=True)
    password_hash = fields.CharField(max_length=200)
    is_active = fields.BooleanField(default=True, db_index=True)
    last_sign_in_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    roles: fields.ReverseRelation["UserRole"]
    tokens: fields.ReverseRelation["AccessToken"]

    class Meta:
        table = "app_user"

    def __str__(self) -> str:
        return self.email


class UserRole(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="roles", on_delete=fields.CASCADE, db_index=True
    )
    user_id: int
    role = fields.CharEnumField(Role, max_length=16, db_index=True)

    class Meta:
        table = "user_role"
        unique_together = (("user", "role"),)

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}"


class AccessToken(Model):
    """A bearer token. Only its SHA-256 digest is stored, so a database leak reveals no token."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tokens", on_delete=fields.CASCADE, db_index=True
    )
    user_id: int
    token_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "access_token"

    def __str__(self) -> str:
        return f"token {self.id} of user {self.user_id}"


class SignInThrottle(Model):
    """Consecutive failed sign-ins for one email, whether or not an account has that email.

    Keying on the email rather than the account makes an unknown email lock exactly like a real
    one, so lockouts do not reveal which accounts exist.
    """

    id = fields.IntField(primary_key=True)
    email_key = fields.CharField(max_length=254, unique=True)
    failures = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True, db_index=True)

    class Meta:
        table = "sign_in_throttle"

    def __str__(self) -> str:
        return f"{self.failures} failures"
