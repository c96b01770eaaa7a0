"""Global IDs: the text clients store must stay the same as the encoding changes."""

import base64

import pytest

from schema.relay import from_global_id, to_global_id

TYPE_NAMES = ("Guest", "Booking", "Departure", "Activity", "Customer", "User", "Export", "Ü?>~")


def unpadded_urlsafe_base64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


@pytest.mark.parametrize("type_name", TYPE_NAMES)
def test_global_id_is_unpadded_urlsafe_base64(type_name: str) -> None:
    # every length of padding
    keys = [*range(1, 2_000), 2**31 - 1, *(7**exponent for exponent in range(1, 12))]

    encoded = {pk: to_global_id(type_name, pk) for pk in keys}

    assert encoded == {pk: unpadded_urlsafe_base64(f"{type_name}:{pk}") for pk in keys}
    assert {from_global_id(text) for text in encoded.values()} == {(type_name, pk) for pk in keys}


def test_global_id_uses_the_urlsafe_letters() -> None:
    # Standard base64 writes these two IDs with "+" and "/".
    assert to_global_id(">>>", 1) == "Pj4-OjE"
    assert to_global_id("???", 1) == "Pz8_OjE"
