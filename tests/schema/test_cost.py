"""The estimated-cost limit on operations."""

import pytest

from models.enums import Role
from tests.helpers import execute

NESTED_GUESTS = """
query {
  guests(first: 100) { nodes { booking { guests { booking { guests { booking { guests {
    firstName
  } } } } } } } }
}
"""

FULL_BOOKINGS_PAGE = """
query {
  bookings(first: 100) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      reference status createdAt
      seller { name }
      departure { startsAt activity { name } }
      buyer { firstName lastName email }
      total { amount currency }
      answers { key value }
      guests { firstName lastName category answers { key value field { label } } }
    }
  }
}
"""

NESTED_THROUGH_FRAGMENTS = """
query {
  guests(first: 100) { nodes { ...Trip } }
}
fragment Trip on Guest { booking { guests { booking { guests { ...Names } } } } }
fragment Names on Guest { booking { guests { firstName } } }
"""


@pytest.mark.parametrize(
    "document", [NESTED_GUESTS, NESTED_THROUGH_FRAGMENTS], ids=["fields", "fragments"]
)
async def test_nested_lists_over_the_cost_are_rejected(world, document):
    result = await execute(world.user("alpine", Role.ADMIN), document)

    assert result.data is None
    assert result.codes == ["BAD_USER_INPUT"]
    assert "estimated cost" in result.messages[0]


async def test_full_bookings_page_is_within_the_cost(world):
    result = await execute(world.user("alpine", Role.ADMIN), FULL_BOOKINGS_PAGE)

    assert result.errors == []
