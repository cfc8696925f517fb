"""Secret config fields are masked in what vecron shows, templates or not (S4.5)."""

from __future__ import annotations

from typing import Any, Literal

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr

from vecron.executor import ExecutorConfig
from vecron.masking import MASK, masked_config
from vecron_http import HttpConfig


class Basic(BaseModel):
    type: Literal["basic"]
    username: str
    password: SecretStr


class Bearer(BaseModel):
    type: Literal["bearer"]
    token: SecretStr


class Config(ExecutorConfig):
    url: str
    password: SecretStr | None = None
    headers: dict[str, SecretStr] = {}
    keys: list[SecretStr] = []
    auth: Basic | Bearer | None = None
    count: int = 1


def test_secret_fields_are_masked_wherever_they_nest() -> None:
    config: dict[str, Any] = {
        "url": "https://example.com/{{ vars.PATH }}",
        "password": "hunter22",
        "headers": {"X-Key": "k-123456"},
        "keys": ["a-123456", "b-123456"],
        "auth": {"type": "bearer", "token": "t-123456"},
        "count": 3,
    }
    assert masked_config(Config, config) == {
        "url": "https://example.com/{{ vars.PATH }}",
        "password": MASK,
        "headers": {"X-Key": MASK},
        "keys": [MASK, MASK],
        "auth": {"type": "bearer", "token": MASK},
        "count": 3,
    }


def test_the_union_member_is_chosen_by_its_discriminator() -> None:
    config = {"url": "u", "auth": {"type": "basic", "username": "ann", "password": "p-123456"}}
    assert masked_config(Config, config)["auth"] == {
        "type": "basic",
        "username": "ann",
        "password": MASK,
    }


def test_a_variable_reference_in_a_secret_field_stays_readable() -> None:
    config = {"url": "u", "password": "{{ vars.DB_PASSWORD }}", "keys": ["x{{ vars.K }}"]}
    masked = masked_config(Config, config)
    assert masked["password"] == "{{ vars.DB_PASSWORD }}"
    assert masked["keys"] == [MASK]  # literal text around a template may be secret


def test_templated_http_config_is_masked_without_validating_it() -> None:
    config = {
        "url": "{{ vars.BASE }}/orders",
        "secret_headers": {"X-Api-Key": "live-key-123"},
        "auth": {
            "type": "oauth2_client_credentials",
            "token_url": "{{ vars.ID }}/token",
            "client_id": "vecron",
            "client_secret": "cs-123456",
        },
    }
    masked = masked_config(HttpConfig, config)
    assert masked["secret_headers"] == {"X-Api-Key": MASK}
    assert masked["auth"]["client_secret"] == MASK
    assert masked["auth"]["client_id"] == "vecron"
    assert masked["url"] == "{{ vars.BASE }}/orders"


@given(st.text(min_size=1).filter(lambda s: "{{" not in s))
def test_no_secret_value_survives(secret: str) -> None:
    config = {
        "url": "u",
        "password": secret,
        "headers": {"h": secret},
        "keys": [secret],
        "auth": {"type": "bearer", "token": secret},
    }
    masked = masked_config(Config, config)
    assert masked["password"] == masked["headers"]["h"] == masked["keys"][0] == MASK
    assert masked["auth"]["token"] == MASK
