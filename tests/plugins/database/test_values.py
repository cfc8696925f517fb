"""``types`` coercions on the way in: vecron's types (tests/core/test_values.py) plus
``json``, with the parameter named in the error."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from vecron.plugin.values import ConversionError
from vecron_database.values import coerce, coerce_all


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
        (datetime(2026, 3, 1, 10), "date", date(2026, 3, 1)),  # its date, as CAST(… AS date)
        ("2026-03-01T10:30:00Z", "datetime", datetime(2026, 3, 1, 10, 30, tzinfo=UTC)),
        ("2026-03-01 10:30", "datetime", datetime(2026, 3, 1, 10, 30)),
        (date(2026, 3, 1), "datetime", datetime(2026, 3, 1)),
        ("yes", "bool", True),
        ("FALSE", "bool", False),
        (1, "bool", True),
        ("on", "bool", True),
        (0.0, "bool", False),  # a number from JSON or a spreadsheet
        (12, "str", "12"),
        ({"a": 1}, "str", '{"a": 1}'),
        (True, "str", "true"),
        (datetime(2026, 3, 1, 10, 30), "str", "2026-03-01T10:30:00"),
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
        ("tomorrow", "datetime"),
        ("maybe", "bool"),
        (2, "bool"),
        ("{not json", "json"),
        ([1], "int"),
    ],
)
def test_coerce_refuses(value: Any, kind: Any) -> None:
    with pytest.raises(ConversionError):
        coerce(value, kind)


def test_coerce_all_names_the_parameter_not_the_value() -> None:
    with pytest.raises(ConversionError) as caught:
        coerce_all({"amount": "s3cr3t-amount", "other": "x"}, {"amount": "decimal"})
    assert ":amount is not a valid decimal" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
