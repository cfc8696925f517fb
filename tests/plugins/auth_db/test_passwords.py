"""Passwords: argon2id at or above the OWASP minimum, rehashed when the parameters grow,
one answer (and the same work) for an unknown user, a wrong password and a disabled
user, and the password policy."""

from __future__ import annotations

import statistics
import time

import pydantic
import pytest
from argon2 import Type, extract_parameters
from sqlalchemy import select

from vecron import Unauthenticated, ValidationError
from vecron_auth_db import DbAuthBackend, DbAuthConfig
from vecron_auth_db.config import (
    OWASP_MIN_MEMORY_KIB,
    OWASP_MIN_PARALLELISM,
    OWASP_MIN_TIME_COST,
)
from vecron_auth_db.passwords import Passwords
from vecron_auth_db.tables import users
from vecron_auth_db.views import UserCreate

from .conftest import ADDRESS, PASSWORD, BackendFactory, add_user, api_caller

TRIES = 20


async def stored_hash(backend: DbAuthBackend, name: str) -> str:
    async with backend.started.database.connect() as conn:
        query = select(users.c.password_hash).where(users.c.name == name)
        return str((await conn.execute(query)).scalar_one())


async def test_default_parameters_are_at_least_owasps() -> None:
    hashed = await Passwords(DbAuthConfig()).hash(PASSWORD)
    found = extract_parameters(hashed)
    assert found.type is Type.ID
    assert found.memory_cost >= OWASP_MIN_MEMORY_KIB == 19 * 1024
    assert found.time_cost >= OWASP_MIN_TIME_COST == 2
    assert found.parallelism >= OWASP_MIN_PARALLELISM == 1
    assert (found.memory_cost, found.time_cost, found.parallelism) == (64 * 1024, 3, 4)


@pytest.mark.parametrize(
    "weaker",
    [{"argon2_memory_kib": 19455}, {"argon2_time_cost": 1}, {"argon2_parallelism": 0}],
)
def test_parameters_below_owasp_are_refused(weaker: dict[str, int]) -> None:
    with pytest.raises(pydantic.ValidationError):
        DbAuthConfig.model_validate(weaker)


async def test_a_stored_hash_is_argon2id_and_salted(backend: DbAuthBackend) -> None:
    await add_user(backend, "salt1", "viewer")
    await add_user(backend, "salt2", "viewer")
    first, second = await stored_hash(backend, "salt1"), await stored_hash(backend, "salt2")
    assert first.startswith("$argon2id$") and first != second
    assert PASSWORD not in first


async def test_login_rehashes_when_the_parameters_grew(make_backend: BackendFactory) -> None:
    weak = await make_backend()  # OWASP's minimum
    await add_user(weak, "grow", "viewer")
    before = extract_parameters(await stored_hash(weak, "grow"))
    strong = await make_backend(argon2_memory_kib=32 * 1024, argon2_time_cost=3)
    await strong.login("grow", PASSWORD, ADDRESS)
    after = extract_parameters(await stored_hash(strong, "grow"))
    assert (before.memory_cost, before.time_cost) == (19456, 2)
    assert (after.memory_cost, after.time_cost) == (32 * 1024, 3)
    # Back on the weaker settings the stronger hash is kept, and still matches.
    await weak.login("grow", PASSWORD, ADDRESS)
    assert extract_parameters(await stored_hash(weak, "grow")).memory_cost == 32 * 1024


async def failing_login(backend: DbAuthBackend, name: str, address: str) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        await backend.login(name, "wrong password, quite long", address)
    return caught.value


async def test_unknown_wrong_and_disabled_give_one_answer(backend: DbAuthBackend) -> None:
    await add_user(backend, "known", "viewer")
    await add_user(backend, "resting", "viewer", disabled=True)
    answers = [
        await failing_login(backend, "nobody", ADDRESS),
        await failing_login(backend, "known", ADDRESS),
    ]
    with pytest.raises(Unauthenticated) as disabled:
        await backend.login("resting", PASSWORD, ADDRESS)  # the right password
    answers.append(disabled.value)
    assert {a.problem()["detail"] for a in answers} == {"invalid username or password"}
    assert {a.problems[0].code for a in answers} == {"invalid-credentials"}
    assert len({str(a.problem()) for a in answers}) == 1


async def test_unknown_user_and_wrong_password_take_the_same_time(
    make_backend: BackendFactory,
) -> None:
    backend = await make_backend(login_max_failures=1000)
    await add_user(backend, "timed", "viewer")

    async def median(name: str) -> float:
        spent = []
        for attempt in range(TRIES):
            started = time.perf_counter()
            await failing_login(backend, name, f"198.51.100.{attempt}")
            spent.append(time.perf_counter() - started)
        return statistics.median(spent)

    await median("warm-up")
    unknown, wrong = await median("no-such-user"), await median("timed")
    assert 0.5 < unknown / wrong < 2, f"unknown user {unknown:.4f} s, wrong password {wrong:.4f} s"


async def test_the_password_policy(backend: DbAuthBackend) -> None:
    short = "short-pass1"  # 11 characters: one too few
    with pytest.raises(ValidationError) as caught:
        await backend.users.create(
            api_caller(), UserCreate.model_validate({"name": "p", "password": short})
        )
    assert caught.value.problems[0].code == "password-too-short"
    assert caught.value.field == "password" and short not in str(caught.value.problem())
    with pytest.raises(ValidationError) as long:
        await backend.users.create(
            api_caller(), UserCreate.model_validate({"name": "p", "password": "x" * 1025})
        )
    assert long.value.problems[0].code == "password-too-long"


async def test_the_minimum_length_is_configurable(make_backend: BackendFactory) -> None:
    backend = await make_backend(password_min_length=20)
    await add_user(backend, "p", "viewer")  # PASSWORD has 28 characters: allowed
    with pytest.raises(ValidationError):
        await backend.users.create(
            api_caller(), UserCreate.model_validate({"name": "q", "password": "n" * 19})
        )
