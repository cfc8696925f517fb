"""Variables and secrets: precedence, masking, encryption at rest, key rotation."""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from vecron.auth import LOCAL_OPERATOR
from vecron.errors import (
    ConfigurationError,
    ConflictError,
    NotFoundError,
    SecretKeyError,
    ValidationError,
)
from vecron.jobs.masking import MASK
from vecron.models.definition import JobDefinition, StepSpec, TriggerSpec
from vecron.secretkey import create_key_file, secret_box
from vecron.secrets.box import SecretBox, generate_key
from vecron.services.variables import VariableService
from vecron.settings import Settings, load_settings
from vecron.store.schema import variables as variables_table
from vecron.store.sql import SqlStore
from vecron.templates import MIN_SECRET_LENGTH, maskable

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
OLD_KEY, NEW_KEY, OTHER_KEY = generate_key(), generate_key(), generate_key()

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)
VALUES = st.text(
    alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40
)
#: ``(value, secret)``: only a value that can be masked may be secret.
VARIABLES = st.tuples(VALUES, st.booleans()).map(lambda v: (v[0], v[1] and maskable(v[0])))
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlStore]:
    store = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'vecron.db'}")
    await store.start()
    await store.upgrade()
    yield store
    await store.close()


@pytest.fixture
def service(store: SqlStore) -> VariableService:
    return VariableService(store, SecretBox([OLD_KEY]))


async def make_job(store: SqlStore, name: str) -> str:
    definition = JobDefinition(
        name=name,
        timezone="UTC",
        triggers=[TriggerSpec(type="manual", config={})],
        steps=[StepSpec(id="call", type="http", config={"url": "http://127.0.0.1/a"})],
    )
    return (await store.save_job(definition, next_fire_at=None, now=T0)).job.id


def database_bytes(folder: Path) -> bytes:
    """The database file and its WAL: everything SQLite has put on disk."""
    files = sorted(folder.glob("vecron.db*"))
    assert files, f"no database in {folder}"
    return b"".join(path.read_bytes() for path in files)


# -- SecretBox -----------------------------------------------------------------------
def test_box_round_trips_and_the_token_hides_the_value() -> None:
    box = SecretBox([OLD_KEY])
    token = box.encrypt("hunter2 ✓")
    assert "hunter2" not in token
    assert box.decrypt(token) == "hunter2 ✓"
    assert box.encrypt("hunter2 ✓") != token  # a fresh IV every time


def test_wrong_key_is_a_clear_error_naming_the_variable() -> None:
    token = SecretBox([OLD_KEY]).encrypt("hunter2")
    with pytest.raises(SecretKeyError) as info:
        SecretBox([OTHER_KEY]).decrypt(token, name="secret variable 'DB_PASSWORD'")
    assert "variable 'DB_PASSWORD'" in info.value.one_line()
    assert "cannot be decrypted" in info.value.one_line()
    assert "hunter2" not in info.value.one_line()
    assert info.value.exit_code == 78
    with pytest.raises(SecretKeyError):
        SecretBox([OLD_KEY]).decrypt(token[:-4] + "AAAA")  # tampered


def test_first_key_encrypts_and_every_key_decrypts() -> None:
    old_token = SecretBox([OLD_KEY]).encrypt("v")
    both = SecretBox([NEW_KEY, OLD_KEY])
    assert both.decrypt(old_token) == "v"
    new_token = both.encrypt("w")
    assert SecretBox([NEW_KEY]).decrypt(new_token) == "w"
    rotated = both.rotate(old_token)
    assert SecretBox([NEW_KEY]).decrypt(rotated) == "v"
    with pytest.raises(SecretKeyError):
        SecretBox([OLD_KEY]).decrypt(rotated)
    with pytest.raises(SecretKeyError, match="cannot be re-encrypted"):
        SecretBox([NEW_KEY]).rotate(SecretBox([OTHER_KEY]).encrypt("x"), name="S")


def test_a_box_needs_valid_keys() -> None:
    with pytest.raises(ConfigurationError, match="no secret key"):
        SecretBox([])
    with pytest.raises(ConfigurationError, match="#2 is not a Fernet key") as info:
        SecretBox([OLD_KEY, "not-a-key"])
    assert "not-a-key" not in info.value.one_line()


# -- settings and the embedded key file -------------------------------------------------
def test_secret_keys_come_comma_separated_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VECRON_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("VECRON_SECRET_KEYS", f" {NEW_KEY} , {OLD_KEY}")
    keys = [k.get_secret_value() for k in load_settings().secret_keys]
    assert keys == [NEW_KEY, OLD_KEY]
    assert NEW_KEY not in repr(load_settings())  # never printed by accident
    monkeypatch.setenv("VECRON_SECRET_KEYS", "")
    assert load_settings().secret_keys == ()


def test_secret_keys_as_a_toml_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "vecron.toml"
    toml.write_text(f'secret_keys = ["{NEW_KEY}", "{OLD_KEY}"]\n')
    monkeypatch.setenv("VECRON_CONFIG", str(toml))
    monkeypatch.delenv("VECRON_SECRET_KEYS", raising=False)
    assert [k.get_secret_value() for k in load_settings().secret_keys] == [NEW_KEY, OLD_KEY]


def test_a_bad_key_in_settings_is_one_line_without_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VECRON_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("VECRON_SECRET_KEYS", f"{NEW_KEY},oops-short-key")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    line = info.value.one_line()
    assert "secret_keys" in line
    assert "#2 is not a Fernet key" in line
    assert "oops-short-key" not in line
    assert NEW_KEY not in line


def test_embedded_default_generates_a_private_key_file_on_first_encrypt(tmp_path: Path) -> None:
    embedded = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/db/vecron.db")
    key_file = tmp_path / "db" / "secret.key"
    box = secret_box(embedded)
    assert not key_file.exists()  # nothing is written until a secret is used
    with pytest.raises(SecretKeyError, match="does not exist"):
        box.decrypt(SecretBox([OLD_KEY]).encrypt("x"))
    assert not key_file.exists()  # a decrypt never invents a key

    token = box.encrypt("value")
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # Another process on the same database reads the same key.
    assert secret_box(embedded).decrypt(token) == "value"
    assert SecretBox([key_file.read_text().strip()]).decrypt(token) == "value"


def test_two_processes_creating_the_key_file_agree(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    first = create_key_file(path)
    assert create_key_file(path) == first
    assert path.read_text().strip() == first
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # no temporary left


def test_configured_keys_win_over_the_key_file(tmp_path: Path) -> None:
    configured = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/vecron.db", secret_keys=(NEW_KEY,)
    )
    token = secret_box(configured).encrypt("v")
    assert SecretBox([NEW_KEY]).decrypt(token) == "v"
    assert not (tmp_path / "secret.key").exists()


def test_postgresql_without_keys_refuses_to_encrypt() -> None:
    shared = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1/vecron")
    with pytest.raises(ConfigurationError, match="need VECRON_SECRET_KEYS"):
        secret_box(shared).encrypt("v")


# -- the service ---------------------------------------------------------------------
async def test_set_get_list_delete_with_secrets_masked(
    service: VariableService, store: SqlStore
) -> None:
    await make_job(store, "report")
    await service.set(LOCAL_OPERATOR, "URL", "https://example.test")
    await service.set(LOCAL_OPERATOR, "TOKEN", "tok-123", secret=True)
    await service.set(LOCAL_OPERATOR, "TOKEN", "job-tok-456", job="report", secret=True)

    assert (await service.get(LOCAL_OPERATOR, "URL")).value == "https://example.test"
    assert (await service.get(LOCAL_OPERATOR, "TOKEN")).value == MASK
    assert (await service.reveal(LOCAL_OPERATOR, "TOKEN")).value == "tok-123"
    assert (await service.reveal(LOCAL_OPERATOR, "TOKEN", job="report")).value == "job-tok-456"

    listed = await service.list(LOCAL_OPERATOR)
    assert [(v.name, v.job, v.secret, v.value) for v in listed] == [
        ("TOKEN", None, True, MASK),
        ("URL", None, False, "https://example.test"),
        ("TOKEN", "report", True, MASK),
    ]
    assert [v.value for v in await service.list(LOCAL_OPERATOR, job="report")] == [MASK]

    await service.delete(LOCAL_OPERATOR, "TOKEN", job="report")
    with pytest.raises(NotFoundError, match="variable 'TOKEN' of job 'report' not found"):
        await service.get(LOCAL_OPERATOR, "TOKEN", job="report")
    with pytest.raises(NotFoundError):
        await service.delete(LOCAL_OPERATOR, "TOKEN", job="report")
    with pytest.raises(NotFoundError, match="job 'nope' not found"):
        await service.set(LOCAL_OPERATOR, "X", "1", job="nope")


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a b", "é", "a" * 129, "x.y"])
async def test_bad_names_are_refused(service: VariableService, name: str) -> None:
    with pytest.raises(ValidationError, match="not a variable name"):
        await service.set(LOCAL_OPERATOR, name, "v")


async def test_longest_name_and_nul_values(service: VariableService) -> None:
    await service.set(LOCAL_OPERATOR, "_" + "a" * 127, "v")
    with pytest.raises(ValidationError, match="NUL"):
        await service.set(LOCAL_OPERATOR, "A", "a\x00b")
    with pytest.raises(ValidationError, match="valid Unicode"):
        await service.set(LOCAL_OPERATOR, "A", "a\ud800b")  # undecodable argv bytes
    assert await service.list(LOCAL_OPERATOR) == [
        await service.get(LOCAL_OPERATOR, "_" + "a" * 127)
    ]


@pytest.mark.parametrize("value", ["", "a", "ab", "***", "*" * 10])
async def test_a_secret_too_short_to_mask_is_refused(service: VariableService, value: str) -> None:
    with pytest.raises(ValidationError, match=f"at least {MIN_SECRET_LENGTH} characters"):
        await service.set(LOCAL_OPERATOR, "PIN", value, secret=True)
    assert await service.list(LOCAL_OPERATOR) == []
    await service.set(LOCAL_OPERATOR, "PIN", value)  # a plain value may be anything
    assert (await service.get(LOCAL_OPERATOR, "PIN")).value == value


async def test_a_secret_is_not_made_plain_by_a_forgotten_flag(service: VariableService) -> None:
    await service.set(LOCAL_OPERATOR, "TOKEN", "tok", secret=True)
    with pytest.raises(ConflictError, match="variable 'TOKEN' is secret") as refused:
        await service.set(LOCAL_OPERATOR, "TOKEN", "other")
    # A stable code for front ends to advise on; the CLI's advice (--secret) is its own.
    assert refused.value.problems[0].code == "variable-is-secret"
    assert "--secret" not in refused.value.one_line()
    assert (await service.reveal(LOCAL_OPERATOR, "TOKEN")).value == "tok"
    await service.delete(LOCAL_OPERATOR, "TOKEN")
    await service.set(LOCAL_OPERATOR, "TOKEN", "now-plain")
    assert (await service.get(LOCAL_OPERATOR, "TOKEN")).value == "now-plain"


async def test_a_change_is_seen_by_the_next_resolution(
    service: VariableService, store: SqlStore
) -> None:
    job = await make_job(store, "report")
    await service.set(LOCAL_OPERATOR, "V", "1")
    assert (await service.resolve_for_execution(job)).values == {"V": "1"}
    await service.set(LOCAL_OPERATOR, "V", "2", job="report")
    assert (await service.resolve_for_execution(job)).values == {"V": "2"}
    await service.delete(LOCAL_OPERATOR, "V", job="report")
    assert (await service.resolve_for_execution(job)).values == {"V": "1"}


@PROPERTY
@given(
    global_vars=st.dictionaries(NAMES, VARIABLES, max_size=5),
    job_vars=st.dictionaries(NAMES, VARIABLES, max_size=5),
)
async def test_job_scope_wins_over_global_for_any_names_and_values(
    service: VariableService,
    store: SqlStore,
    global_vars: dict[str, tuple[str, bool]],
    job_vars: dict[str, tuple[str, bool]],
) -> None:
    for old in await store.list_variables():  # earlier examples' globals
        await store.delete_variable(None, old.name)
    job = f"job-{len(await store.list_jobs())}"
    job_id = await make_job(store, job)
    for name, (value, secret) in global_vars.items():
        await service.set(LOCAL_OPERATOR, name, value, secret=secret)
    for name, (value, secret) in job_vars.items():
        await service.set(LOCAL_OPERATOR, name, value, job=job, secret=secret)

    winners = {**global_vars, **job_vars}
    resolved = await service.resolve_for_execution(job_id)
    assert dict(resolved.values) == {name: value for name, (value, _) in winners.items()}
    assert resolved.secret_names == {name for name, (_, secret) in winners.items() if secret}
    assert resolved.secret_values == {value for value, secret in winners.values() if secret}
    batch = await service.resolve_for_executions([job_id])
    assert batch[job_id] == resolved


async def test_only_the_winning_secret_is_decrypted(store: SqlStore) -> None:
    job_id = await make_job(store, "report")
    await VariableService(store, SecretBox([OTHER_KEY])).set(
        LOCAL_OPERATOR, "PASSWORD", "lost", secret=True
    )
    service = VariableService(store, SecretBox([OLD_KEY]))
    await service.set(LOCAL_OPERATOR, "PASSWORD", "override", job="report")
    assert (await service.resolve_for_execution(job_id)).values == {"PASSWORD": "override"}
    other_job = await make_job(store, "other")
    with pytest.raises(SecretKeyError, match="'PASSWORD'"):
        await service.resolve_for_execution(other_job)


async def test_a_token_copied_onto_another_variable_does_not_open(
    service: VariableService, store: SqlStore
) -> None:
    """Fernet has no associated data; the sealed scope and name stand in for it."""
    await service.set(LOCAL_OPERATOR, "ALICE", "alice-secret", secret=True)
    await service.set(LOCAL_OPERATOR, "BOB", "bob-secret", secret=True)
    alice = await store.get_variable(None, "ALICE")
    assert alice is not None
    async with store._write() as conn:
        await conn.execute(
            update(variables_table).where(variables_table.c.name == "BOB").values(value=alice.value)
        )
    with pytest.raises(SecretKeyError, match="belongs to another variable"):
        await service.reveal(LOCAL_OPERATOR, "BOB")
    assert (await service.reveal(LOCAL_OPERATOR, "ALICE")).value == "alice-secret"


@PROPERTY
@given(secret=st.text(alphabet=st.characters(exclude_characters="\x00"), min_size=1))
async def test_no_secret_value_ever_reaches_the_database_file(
    service: VariableService, store: SqlStore, tmp_path: Path, secret: str
) -> None:
    plaintext = f"canary{secret}"
    job_id = await make_job(store, f"job-{len(await store.list_jobs())}")
    await service.set(LOCAL_OPERATOR, "PASSWORD", plaintext, secret=True)
    await service.set(LOCAL_OPERATOR, "PASSWORD", plaintext, job=job_id, secret=True)
    assert (await service.resolve_for_execution(job_id)).values["PASSWORD"] == plaintext
    assert {v.value for v in await service.list(LOCAL_OPERATOR)} == {MASK}
    on_disk = database_bytes(tmp_path)
    assert plaintext.encode() not in on_disk
    assert b"canary" not in on_disk


async def test_rotation_lets_the_old_key_go(store: SqlStore, tmp_path: Path) -> None:
    job_id = await make_job(store, "report")
    before = VariableService(store, SecretBox([OLD_KEY]))
    await before.set(LOCAL_OPERATOR, "A", "alpha-plain", secret=True)
    await before.set(LOCAL_OPERATOR, "B", "beta-plain", job="report", secret=True)
    await before.set(LOCAL_OPERATOR, "C", "not secret")

    during = VariableService(store, SecretBox([NEW_KEY, OLD_KEY]))
    await during.set(
        LOCAL_OPERATOR, "D", "delta-plain", secret=True
    )  # written under the new key already
    assert (await during.rotate_key(LOCAL_OPERATOR)).reencrypted == 3

    after = VariableService(store, SecretBox([NEW_KEY]))
    resolved = await after.resolve_for_execution(job_id)
    assert resolved.values == {
        "A": "alpha-plain",
        "B": "beta-plain",
        "C": "not secret",
        "D": "delta-plain",
    }
    with pytest.raises(SecretKeyError):
        await VariableService(store, SecretBox([OLD_KEY])).resolve_for_execution(job_id)
    on_disk = database_bytes(tmp_path)
    for plaintext in (b"alpha-plain", b"beta-plain", b"delta-plain"):
        assert plaintext not in on_disk


async def test_rotation_without_the_old_key_changes_nothing(store: SqlStore) -> None:
    before = VariableService(store, SecretBox([OLD_KEY]))
    await before.set(LOCAL_OPERATOR, "A", "alpha", secret=True)
    tokens = [v.value for v in await store.list_variables()]
    with pytest.raises(SecretKeyError, match="'A' cannot be decrypted with any configured"):
        await VariableService(store, SecretBox([NEW_KEY])).rotate_key(LOCAL_OPERATOR)
    assert [v.value for v in await store.list_variables()] == tokens
    assert (await before.reveal(LOCAL_OPERATOR, "A")).value == "alpha"


def test_key_file_is_not_readable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "secret.key"
    create_key_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0
