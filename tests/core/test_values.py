"""The ``types:`` vocabulary shared by the database and files steps, and JSON-safe output."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecron.plugin.values import (
    FALSE_WORDS,
    INT_DIGITS,
    TRUE_WORDS,
    TYPE_NAMES,
    ConversionError,
    TypeName,
    convert,
    converter,
    json_safe,
    to_date,
    to_str,
)


@pytest.mark.parametrize(
    ("value", "type_name", "expected"),
    [
        ("42", "int", 42),
        (" -7 ", "int", -7),
        ("4.0", "int", 4),
        (7.0, "int", 7),
        (Decimal("12"), "int", 12),
        ("12.50", "decimal", Decimal("12.50")),
        ("-1e3", "decimal", Decimal("-1E+3")),
        (3, "decimal", Decimal(3)),
        (0.1, "decimal", Decimal("0.1")),  # the float's shortest text, not 0.1000…555
        ("2.5", "float", 2.5),
        (Decimal("2.5"), "float", 2.5),
        (10**20, "float", 1e20),
        ("2026-03-01", "date", date(2026, 3, 1)),
        (datetime(2026, 3, 1), "date", date(2026, 3, 1)),
        (datetime(2026, 3, 1, 23, 59), "date", date(2026, 3, 1)),
        ("2026-03-01T10:30:00Z", "datetime", datetime(2026, 3, 1, 10, 30, tzinfo=UTC)),
        ("2026-03-01 10:30", "datetime", datetime(2026, 3, 1, 10, 30)),
        ("2026-03-01", "datetime", datetime(2026, 3, 1)),
        (date(2026, 3, 1), "datetime", datetime(2026, 3, 1)),
        ("yes", "bool", True),
        (" FALSE ", "bool", False),
        ("On", "bool", True),
        ("off", "bool", False),
        (1, "bool", True),
        (0.0, "bool", False),
        (Decimal("1.0"), "bool", True),
        (False, "bool", False),
        ("  kept  ", "str", "  kept  "),
        (12, "str", "12"),
        (0.1, "str", "0.1"),
        (Decimal("12.50"), "str", "12.50"),
        (True, "str", "true"),
        (datetime(2026, 3, 1, 10, 30), "str", "2026-03-01T10:30:00"),
        ({"a": [1, Decimal("2.5")], "b": "Hà Nội"}, "str", '{"a": [1, "2.5"], "b": "Hà Nội"}'),
        ("", "int", None),  # an empty CSV cell is null
        ("  ", "date", None),
        (None, "decimal", None),
        (None, "str", None),
        ("", "str", ""),  # but empty text is a text
    ],
)
def test_convert(value: Any, type_name: TypeName, expected: Any) -> None:
    converted = convert(value, type_name)
    assert converted == expected
    assert type(converted) is type(expected)
    # The column converter follows the same rules.
    assert converter(type_name)(value) == expected


@pytest.mark.parametrize(
    ("value", "type_name", "why"),
    [
        ("4.5", "int", "not a whole number"),
        (True, "int", "a boolean is not a number"),
        ([1], "int", "a list is not a number"),
        ("1e5000", "int", f"more than {INT_DIGITS} digits"),
        ("abc", "decimal", "not a number"),
        ("NaN", "decimal", "not a finite number"),
        (Decimal("sNaN"), "decimal", "not a finite number"),
        ("inf", "float", "not a finite number"),
        ("1e999", "float", "not a finite number"),
        ("2026-02-30", "date", "not a date in ISO 8601"),
        ("2026-03-01T10:30", "date", "not a date in ISO 8601"),
        (45322, "date", "an int is not a date"),
        ("tomorrow", "datetime", "not a date and time in ISO 8601"),
        ("maybe", "bool", "not a boolean"),
        (2, "bool", "not a boolean"),
        (Decimal("sNaN"), "bool", "not a boolean"),
    ],
)
def test_convert_refuses(value: Any, type_name: TypeName, why: str) -> None:
    with pytest.raises(ConversionError) as caught:
        convert(value, type_name)
    assert why in str(caught.value)
    if isinstance(value, str):
        assert value not in str(caught.value)  # the value may be a secret


def test_every_type_keeps_none() -> None:
    assert TYPE_NAMES == ("int", "decimal", "float", "date", "datetime", "bool", "str")
    for type_name in TYPE_NAMES:
        assert convert(None, type_name) is None
        assert converter(type_name)(None) is None


def test_formats_read_dates_and_times() -> None:
    assert convert("31/01/2024", "date", format="%d/%m/%Y") == date(2024, 1, 31)
    at = converter("datetime", format="%d.%m.%Y %H:%M")
    assert at(" 31.01.2024 08:30 ") == datetime(2024, 1, 31, 8, 30)
    assert at("31.01.2024 08:30") == datetime(2024, 1, 31, 8, 30)  # from the cache
    assert at("") is None
    with pytest.raises(ConversionError, match=r"not a date and time in format '%d\.%m"):
        at("2024-01-31T08:30")
    with pytest.raises(ConversionError, match="not a date in format"):
        to_date("2024-01-31", "%d/%m/%Y")


def test_a_format_for_another_type_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="format applies to date and datetime, not to int"):
        convert("1", "int", format="%d")
    with pytest.raises(ValueError, match="not to str"):
        converter("str", format="%d")


@pytest.mark.parametrize("word", sorted(TRUE_WORDS | FALSE_WORDS))
def test_boolean_words_in_any_case(word: str) -> None:
    expected = word in TRUE_WORDS
    assert convert(word.upper(), "bool") is expected
    assert convert(f" {word.title()} ", "bool") is expected


#: Each type's values, as the round trip below generates them.
VALUES: dict[TypeName, st.SearchStrategy[Any]] = {
    "int": st.integers(),
    "decimal": st.decimals(allow_nan=False, allow_infinity=False),
    "float": st.floats(allow_nan=False, allow_infinity=False),
    "date": st.dates(),
    "datetime": st.datetimes(
        timezones=st.none()
        | st.builds(timezone, st.integers(-1439, 1439).map(lambda m: timedelta(minutes=m)))
    ),
    "bool": st.booleans(),
    "str": st.text(),
}


@pytest.mark.parametrize("type_name", TYPE_NAMES)
@settings(max_examples=50)
@given(data=st.data())
def test_text_round_trips(type_name: TypeName, data: st.DataObject) -> None:
    value = data.draw(VALUES[type_name])
    text = to_str(value)
    back = convert(text, type_name)
    assert back == value
    assert type(back) is type(value)
    assert to_str(back) == text  # exact: 1.50 stays 1.50, the offset is kept
    assert converter(type_name)(text) == value


@settings(max_examples=50)
@given(st.dates(min_value=date(1000, 1, 1)))
def test_formatted_dates_round_trip(value: date) -> None:
    assert convert(value.strftime("%d/%m/%Y"), "date", format="%d/%m/%Y") == value


def test_json_safe() -> None:
    ident = uuid.UUID("12345678-1234-5678-1234-567812345678")
    row = {
        "d": Decimal("12.50"),
        "day": date(2026, 3, 1),
        "at": datetime(2026, 3, 1, 10, 30, tzinfo=UTC),
        "t": time(10, 30),
        "raw": b"\x00\xff",
        "id": ident,
        "nan": float("nan"),
        "inf": float("-inf"),
        "f": 1.5,
        "span": timedelta(hours=10, minutes=30),  # a MySQL TIME, an XLSX duration
        "list": [Decimal("1"), None],
        "tuple": (True, "x"),
        "nested": {1: date(2026, 1, 2)},
    }
    safe = json_safe(row)
    json.dumps(safe, allow_nan=False)
    assert safe == {
        "d": "12.50",
        "day": "2026-03-01",
        "at": "2026-03-01T10:30:00+00:00",
        "t": "10:30:00",
        "raw": "AP8=",
        "id": str(ident),
        "nan": "nan",
        "inf": "-inf",
        "f": 1.5,
        "span": "10:30:00",
        "list": ["1", None],
        "tuple": [True, "x"],
        "nested": {"1": "2026-01-02"},
    }


def test_json_safe_serves_as_the_default_of_json_dumps() -> None:
    text = json.dumps({"d": Decimal("0.10"), "day": date(2026, 3, 1)}, default=json_safe)
    assert json.loads(text) == {"d": "0.10", "day": "2026-03-01"}
