"""The per-request context every resolver receives as `info.context`."""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import strawberry

from models.access import Viewer
from models.errors import DomainError, ErrorCode

if TYPE_CHECKING:
    from schema.dataloaders import Loaders


class NotAuthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


@dataclass(slots=True)
class Context:
    """Built anew for every request, so loaders never share cached rows between viewers."""

    viewer: Viewer | None
    loaders: "Loaders"
    # The bearer token of the request, kept so that `logout` can revoke it.
    token: str | None = None
    token_ttl: timedelta = timedelta(days=7)
    extra: dict[str, Any] = field(default_factory=dict)

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise NotAuthenticated(
                "Sign in first: call the `login` mutation and send its token in the "
                "Authorization header as `Bearer <token>`."
            )
        return self.viewer


Info = strawberry.Info[Context, None]


def viewer_of(info: Info) -> Viewer:
    return info.context.require_viewer()
