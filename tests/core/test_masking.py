"""Secrets never shown: config fields typed secret, templates or not (S4.5), and secret
values in every spelling vecron or an echoing target produces (issue 9)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote, quote_plus, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr

from tests.support.spellings import base64_spellings, exposed, plain_spellings, quoted
from vecron.jobs.masking import MASK, masked_config
from vecron.plugin.executor import ExecutorConfig
from vecron.templates import MIN_SECRET_LENGTH, excerpt, mask, maskable
from vecron.testing import make_step_context
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


# --- values masked in every spelling: as written, quoted, encoded, cut (issue 9) --------

#: Quotes, a backslash, a newline, non-ASCII and the characters URLs encode.
SECRET = 'pä$s "wo\\rd\n+%&/ é'


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
@pytest.mark.parametrize("ascii_only", [True, False])
def test_a_secret_quoted_into_json_at_any_depth_is_masked(depth: int, ascii_only: bool) -> None:
    text = f"refused: {quoted(SECRET, depth, ascii_only=ascii_only)}!"
    assert mask(text, [SECRET]) == f"refused: {MASK}!"


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: quote(s, safe=""),
        quote,
        quote_plus,
        lambda s: quote(s, safe="").lower(),
        lambda s: quote(quote(s, safe=""), safe=""),
        lambda s: urlencode({"t": s}).removeprefix("t="),
    ],
)
def test_a_secret_url_or_form_encoded_is_masked(encode: Callable[[str], str]) -> None:
    url = f"GET https://api.test/v1?t={encode(SECRET)}&page=2: HTTP 400"
    assert mask(url, [SECRET]) == f"GET https://api.test/v1?t={MASK}&page=2: HTTP 400"


@pytest.mark.parametrize("name", sorted(base64_spellings(SECRET)))
def test_a_secret_in_base64_is_masked_at_any_alignment(name: str) -> None:
    encoded = base64_spellings(SECRET)[name]
    assert exposed(encoded, SECRET)  # the check finds it before masking
    masked = mask(f"Authorization: Basic {encoded}", [SECRET])
    assert MASK in masked
    assert exposed(masked, SECRET) == []


def test_a_body_stored_as_base64_hides_no_secret_once_masked_first() -> None:
    body = b"\x00\xff" + json.dumps({"echo": SECRET}).encode() + SECRET.encode()
    masked = mask(body, [SECRET])
    assert masked == b'\x00\xff{"echo": "' + MASK.encode() + b'"}' + MASK.encode()
    assert exposed(base64.b64encode(masked).decode(), SECRET) == []


def test_an_excerpt_masks_before_it_cuts() -> None:
    secret = "tok-0123456789"
    text = "x" * 490 + secret + " and more"
    assert excerpt(text, [secret]) == "x" * 490 + "*" * 9 + "…"
    assert excerpt(text, []) == "x" * 490 + secret[:9] + "…"  # what masking prevents


def test_an_excerpt_masks_before_and_after_folding_whitespace() -> None:
    assert excerpt("token:\n  ab\ncd !", ["ab\ncd"]) == f"token: {MASK} !"
    assert excerpt("token: ab \n cd", ["ab cd"]) == f"token: {MASK}"


def test_a_step_context_masks_with_its_secrets() -> None:
    ctx = make_step_context(secrets=frozenset({SECRET}))
    assert ctx.mask({"k": [SECRET]}) == {"k": [MASK]}
    assert ctx.excerpt("a" * 600 + SECRET) == "a" * 499 + "…"
    assert ctx.excerpt(f"x {quote_plus(SECRET)} y", limit=15) == f"x {MASK} y"


def test_long_runs_and_many_secrets_mask_in_reasonable_time() -> None:
    started = time.monotonic()
    # Quadratic or worse on runs of backslashes or %25 took minutes here.
    mask("\\" * 200_000 + "x", ["\\\\\\a", "a\\b"])
    mask("%25" * 100_000 + "x", ["%%%a", "a%%"])
    # A database step masks every bound value of a batch out of its error.
    values = {f"value-{n:06d}-{n * 7919 % 100_000:05d}" for n in range(10_000)}
    assert excerpt("duplicate key value-000042-32598 (x)", values) == f"duplicate key {MASK} (x)"
    assert time.monotonic() - started < 5


def test_secrets_too_short_or_part_of_the_mask_cannot_be_masked() -> None:
    assert [maskable(s) for s in ("ab", "abc", "é€", "***", "*" * 11)] == [
        False,
        True,
        False,
        False,
        True,
    ]
    assert mask("ab abc", ["ab", "abc"]) == f"ab {MASK}"


_SECRETS = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",)),
    min_size=MIN_SECRET_LENGTH,
    max_size=16,
).filter(maskable)
_SPELLINGS = sorted({*plain_spellings("x"), *base64_spellings("x")})


@settings(max_examples=400, deadline=None)
@given(
    secret=_SECRETS,
    spelling=st.sampled_from(_SPELLINGS),
    before=st.text(max_size=6),
    after=st.text(max_size=6),
)
def test_no_spelling_of_a_secret_survives_masking(
    secret: str, spelling: str, before: str, after: str
) -> None:
    written = {**plain_spellings(secret), **base64_spellings(secret)}[spelling]
    assert exposed(mask(before + written + after, [secret]), secret) == []


@settings(max_examples=200, deadline=None)
@given(secret=_SECRETS, kept=st.integers(min_value=0, max_value=15))
def test_an_excerpt_never_keeps_part_of_a_secret_it_cuts(secret: str, kept: int) -> None:
    pad = next(c for c in "x#=~" if c not in secret)
    folded = " ".join(secret.split())
    limit = 100 + min(kept, len(folded) - 1) + 1
    cut = excerpt(pad * 100 + secret + pad * 100, [secret], limit)
    # The mask may be shorter than the secret: what follows it then shows too.
    assert re.fullmatch(rf"{re.escape(pad)}{{100}}\**{re.escape(pad)}*…", cut), cut
