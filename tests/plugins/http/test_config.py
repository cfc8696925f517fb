"""The ``http`` step's Config: validation, secrets, JSON Schema, Retry-After parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vecron_http import HttpConfig
from vecron_http.response import retry_after

URL = "https://api.example.com/v1/items"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"url": "ftp://example.com/x"}, "scheme must be http or https"),
        ({"url": "/relative"}, "scheme must be http or https"),
        ({"url": URL, "json": {}, "form": {"a": 1}}, "at most one of json, form and body"),
        ({"url": URL, "content_type": "text/csv"}, "content_type applies to a raw `body`"),
        (
            {"url": URL, "body": "x", "content_type": "a/b", "headers": {"content-type": "c/d"}},
            "either as content_type or as a header",
        ),
        (
            {
                "url": URL,
                "auth": {"type": "bearer", "token": "t"},
                "headers": {"Authorization": "x"},
            },
            "either `auth` or an Authorization header",
        ),
        ({"url": URL, "headers": {"X-A": "1"}, "secret_headers": {"x-a": "2"}}, "given twice"),
        ({"url": URL, "expected_status": ["6xx"]}, "neither a status code"),
        ({"url": URL, "expected_status": [99]}, "not an HTTP status"),
        ({"url": URL, "method": "TRACE"}, "method"),
        ({"url": URL, "auth": {"type": "digest"}}, "auth"),
        ({"url": URL, "timeout": 5}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_configs_are_rejected(document: dict[str, Any], message: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=message):
        HttpConfig.model_validate(document)


def test_defaults() -> None:
    config = HttpConfig.model_validate({"url": URL})
    assert config.method == "GET"
    assert config.expected_status == ["2xx"]
    assert config.follow_redirects is True
    assert config.verify_tls is True
    assert config.max_response_bytes == 10 * 1024 * 1024


def test_status_patterns_are_normalised() -> None:
    config = HttpConfig.model_validate({"url": URL, "expected_status": ["2XX", "404", 301]})
    assert config.expected_status == ["2xx", 404, 301]
    assert config.accepts(204)
    assert config.accepts(404)
    assert not config.accepts(403)


def test_secrets_stay_out_of_repr_and_json() -> None:
    config = HttpConfig.model_validate(
        {
            "url": URL,
            "secret_headers": {"X-Api-Key": "secret-header-value"},
            "auth": {
                "type": "oauth2_client_credentials",
                "token_url": "https://id.example.com/token",
                "client_id": "app",
                "client_secret": "secret-client-value",
            },
        }
    )
    for text in (repr(config), str(config), config.model_dump_json()):
        assert "secret-header-value" not in text
        assert "secret-client-value" not in text
    assert "secret-client-value" not in repr(
        HttpConfig.model_validate(
            {
                "url": URL,
                "auth": {"type": "basic", "username": "u", "password": "secret-client-value"},
            }
        )
    )


def test_the_json_schema_marks_secrets_and_uses_user_names() -> None:
    schema = HttpConfig.model_json_schema()
    assert "json" in schema["properties"]
    assert schema["properties"]["secret_headers"]["additionalProperties"]["format"] == "password"
    assert schema["$defs"]["BearerAuth"]["properties"]["token"]["format"] == "password"


def test_a_dumped_config_validates_again() -> None:
    config = HttpConfig.model_validate({"url": URL, "method": "POST", "json": [1, 2]})
    again = HttpConfig.model_validate(config.model_dump())
    assert again == config
    assert again.json_body == [1, 2]


@given(st.integers(min_value=0, max_value=10**9))
def test_retry_after_seconds(seconds: int) -> None:
    assert retry_after(str(seconds)) == float(seconds)


@given(st.integers(min_value=0, max_value=10**7))
def test_retry_after_http_date(seconds: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=seconds), usegmt=True)
    assert retry_after(header, now=now) == float(seconds)


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5"])
def test_retry_after_garbage_is_none(value: str | None) -> None:
    assert retry_after(value) is None


@given(st.integers(min_value=100, max_value=599))
def test_status_classes_accept_exactly_their_hundreds(status: int) -> None:
    config = HttpConfig.model_validate({"url": URL, "expected_status": [f"{status // 100}xx"]})
    assert config.accepts(status)
    assert not config.accepts(status + 100 if status < 500 else status - 100)
