"""``types`` coercions on the way in, JSON-safe values on the way out."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecron_database.values import CoercionError, coerce, coerce_all, json_safe


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("42", "int", 42),
        (" 42 ", "int", 42),
        ("4.0", "int", 4),
        (7.0, "int", 7),
        ("12.50", "decimal", Decimal("12.50")),
        (3, "decimal", Decimal(3)),
        (0.1, "decimal", Decimal("0.1")),
        ("2.5", "float", 2.5),
        ("2026-03-01", "date", date(2026, 3, 1)),
        (datetime(2026, 3, 1), "date", date(2026, 3, 1)),
        ("2026-03-01T10:30:00Z", "datetime", datetime(2026, 3, 1, 10, 30, tzinfo=UTC)),
        ("2026-03-01 10:30", "datetime", datetime(2026, 3, 1, 10, 30)),
        (date(2026, 3, 1), "datetime", datetime(2026, 3, 1)),
        ("yes", "bool", True),
        ("FALSE", "bool", False),
        (1, "bool", True),
        (12, "str", "12"),
        ({"a": 1}, "str", '{"a": 1}'),
        ({"a": [1, 2]}, "json", '{"a": [1, 2]}'),
        ('{"a": 1}', "json", '{"a": 1}'),  # text is already JSON: not encoded twice
        ("", "int", None),  # an empty CSV cell is NULL
        ("  ", "date", None),
        ("", "str", ""),
        (None, "decimal", None),
    ],
)
def test_coerce(value: Any, kind: Any, expected: Any) -> None:
    assert coerce(value, kind) == expected
    assert type(coerce(value, kind)) is type(expected)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("4.5", "int"),
        (True, "int"),
        ("abc", "decimal"),
        ("NaN", "decimal"),
        ("inf", "float"),
        ("2026-02-30", "date"),
        (datetime(2026, 3, 1, 10), "date"),
        ("tomorrow", "datetime"),
        ("maybe", "bool"),
        (2, "bool"),
        ("{not json", "json"),
        ([1], "int"),
    ],
)
def test_coerce_refuses(value: Any, kind: Any) -> None:
    with pytest.raises(CoercionError):
        coerce(value, kind)


def test_coerce_all_names_the_parameter_not_the_value() -> None:
    with pytest.raises(CoercionError) as caught:
        coerce_all({"amount": "s3cr3t-amount", "other": "x"}, {"amount": "decimal"})
    assert ":amount is not a valid decimal" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


@settings(max_examples=50)
@given(st.decimals(allow_nan=False, allow_infinity=False, places=4))
def test_decimal_text_round_trips(value: Decimal) -> None:
    assert coerce(str(value), "decimal") == value


@settings(max_examples=50)
@given(st.integers())
def test_int_text_round_trips(value: int) -> None:
    assert coerce(str(value), "int") == value


@settings(max_examples=50)
@given(st.datetimes(timezones=st.none() | st.timezones()))
def test_datetime_text_round_trips(value: datetime) -> None:
    assert coerce(value.isoformat(), "datetime") == value


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
        "f": 1.5,
        "span": timedelta(hours=10, minutes=30),
        "list": [Decimal("1"), None],
        "nested": {"k": date(2026, 1, 2)},
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
        "f": 1.5,
        "span": "10:30:00",
        "list": ["1", None],
        "nested": {"k": "2026-01-02"},
    }
