"""Checks of user input shared by the write functions; each returns errors instead of raising."""

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from models.catalog import CustomField
from models.enums import CustomFieldType
from models.errors import ErrorCode, InputError

# Deliberately loose: one @, a dot in the domain, no spaces or NUL. Deliverability is the mail
# system's business; this only catches typing mistakes.
EMAIL_PATTERN = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()./-]{3,40}$")
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
MAX_ANSWER_LENGTH = 2000
# Digits allowed on each side of the decimal point of a NUMBER answer.
MAX_NUMBER_DIGITS = 30


def normalise_email(email: str) -> str:
    return email.strip().lower()


def nul_character_error(field: str) -> InputError:
    # PostgreSQL text columns cannot store NUL, so such input is rejected before any write.
    return InputError(
        field, ErrorCode.INVALID, f"`{field}` contains a NUL character (\\x00); remove it."
    )


def check_name(field: str, value: str, errors: list[InputError], *, max_length: int = 100) -> None:
    stripped = value.strip()
    if not stripped:
        errors.append(InputError(field, ErrorCode.REQUIRED, f"`{field}` is empty; enter a name."))
    elif "\x00" in stripped:
        errors.append(nul_character_error(field))
    elif any(unicodedata.category(character) == "Cc" for character in stripped):
        errors.append(
            InputError(
                field,
                ErrorCode.INVALID,
                f"`{field}` contains a control character such as a tab or line break; "
                "enter the name on one line.",
            )
        )
    elif len(stripped) > max_length:
        errors.append(
            InputError(
                field,
                ErrorCode.INVALID,
                f"`{field}` has {len(stripped)} characters; use at most {max_length}.",
            )
        )


def check_email(field: str, value: str, errors: list[InputError], *, required: bool) -> None:
    email = value.strip()
    if not email:
        if required:
            errors.append(InputError(field, ErrorCode.REQUIRED, f"`{field}` is empty."))
        return
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        errors.append(
            InputError(
                field,
                ErrorCode.INVALID,
                f"{email!r} is not a valid email address; use the form name@example.com.",
            )
        )


def check_pattern(
    field: str, value: str, pattern: re.Pattern[str], hint: str, errors: list[InputError]
) -> None:
    if value and not pattern.match(value):
        errors.append(InputError(field, ErrorCode.INVALID, f"{value!r} is not valid; {hint}."))


def check_amount(field: str, amount: Decimal, errors: list[InputError]) -> None:
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e10"):
        errors.append(
            InputError(
                field,
                ErrorCode.INVALID,
                f"{amount} is not a valid amount; use a number from 0 to 9999999999.99.",
            )
        )
    elif amount.as_tuple().exponent < -2:  # type: ignore[operator]
        errors.append(
            InputError(
                field,
                ErrorCode.INVALID,
                f"{amount} has more than 2 decimal places; round it to cents.",
            )
        )


def normalise_answers(
    path: str,
    definitions: list[CustomField],
    answers: list[tuple[str, str]],
    errors: list[InputError],
) -> dict[int, str]:
    """Check answers against the custom-field definitions and return value by custom field id."""
    by_key = {definition.key: definition for definition in definitions}
    values: dict[int, str] = {}
    answered: set[int] = set()
    # A field whose answer is invalid or repeated already has an error; REQUIRED as well would
    # ask the client to answer a question it did answer.
    invalid: set[int] = set()

    for key, raw_value in answers:
        field = f"{path}.{key}"
        definition = by_key.get(key)
        if definition is None:
            known = ", ".join(sorted(by_key)) or "none"
            errors.append(
                InputError(
                    field,
                    ErrorCode.UNKNOWN_FIELD,
                    f"There is no custom field {key!r} here; known keys: {known}.",
                )
            )
            continue
        if definition.id in answered:
            errors.append(
                InputError(field, ErrorCode.DUPLICATE, f"{key!r} is answered more than once.")
            )
            invalid.add(definition.id)
            continue
        answered.add(definition.id)
        error_count = len(errors)
        value = _normalise_value(field, definition, raw_value.strip(), errors)
        if value:
            values[definition.id] = value
        elif len(errors) > error_count:
            invalid.add(definition.id)

    for definition in definitions:
        if definition.required and definition.id not in values and definition.id not in invalid:
            errors.append(
                InputError(
                    f"{path}.{definition.key}",
                    ErrorCode.REQUIRED,
                    f"{definition.label!r} ({definition.key}) is required; answer it.",
                )
            )
    return values


def _normalise_value(
    field: str, definition: CustomField, value: str, errors: list[InputError]
) -> str | None:
    if not value:
        return None
    if "\x00" in value:
        errors.append(nul_character_error(field))
        return None
    if len(value) > MAX_ANSWER_LENGTH:
        errors.append(
            InputError(
                field,
                ErrorCode.INVALID,
                f"The answer has {len(value)} characters; use at most {MAX_ANSWER_LENGTH}.",
            )
        )
        return None

    kind = definition.type
    if kind is CustomFieldType.NUMBER:
        return _normalise_number(field, value, errors)
    if kind is CustomFieldType.BOOLEAN:
        if value.lower() in {"true", "false"}:
            return value.lower()
        errors.append(InputError(field, ErrorCode.INVALID, f"{value!r} is not true or false."))
        return None
    if kind is CustomFieldType.DATE:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            errors.append(
                InputError(field, ErrorCode.INVALID, f"{value!r} is not a date like 2026-07-14.")
            )
            return None
    if kind is CustomFieldType.SELECT and value not in definition.options:
        allowed = ", ".join(repr(option) for option in definition.options)
        errors.append(
            InputError(field, ErrorCode.INVALID, f"{value!r} is not one of the options {allowed}.")
        )
        return None
    return value


def _normalise_number(field: str, value: str, errors: list[InputError]) -> str | None:
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        errors.append(
            InputError(field, ErrorCode.INVALID, f"{value!r} is not a number like 72 or 72.5.")
        )
        return None
    # Checked before formatting, because the plain form of 1e999999999 would be a billion digits.
    exponent = int(number.as_tuple().exponent)
    if number.adjusted() >= MAX_NUMBER_DIGITS or exponent < -MAX_NUMBER_DIGITS:
        errors.append(
            InputError(
                field,
                ErrorCode.INVALID,
                f"{value!r} is out of range; use at most {MAX_NUMBER_DIGITS} digits before "
                "and after the decimal point.",
            )
        )
        return None
    # Plain decimal notation, so "1e2" is stored as "100"; trailing zeros stay as entered.
    return format(number, "f")
