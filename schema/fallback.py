"""Sync resolvers whose value is usually at hand and sometimes has to be loaded.

graphql-core awaits whatever a resolver returns when it is awaitable, so a sync resolver may hand
back a DataLoader's coroutine when its value was not fetched beforehand. Declared async instead,
the resolver would cost every list item a coroutine and a task even when nothing is loaded.
"""

from collections.abc import Awaitable
from typing import TypeVar, cast

T = TypeVar("T")


def awaited_by_executor(value: Awaitable[T]) -> T:
    """Return `value` from a sync resolver declared to return its result."""
    return cast(T, value)
