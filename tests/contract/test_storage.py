"""The object storage contract: ``file://`` and ``s3://`` behave the same.

``file://`` gets a fresh folder per test; ``s3://`` gets a fresh key prefix in the
session's bucket on a real S3 server (SeaweedFS started by the fixture, or the one in
``VECRON_TEST_S3_URL``). Key checks are a security boundary, so every operation is
tried with every bad key, and the file backend is attacked with symlinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import random
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.s3_fixtures import S3Server, s3_server_fixture, s3_url_fixture  # noqa: F401
from vecron.errors import (
    BackendUnavailable,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    ValidationError,
)
from vecron.storage import CHUNK_SIZE, ObjectStorage, open_storage
from vecron.storage.file import FileStorage
from vecron.storage.s3 import S3Storage

MIB = 1024 * 1024
BIG = 20 * MIB


@pytest.fixture(params=["file", "s3"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "file":
        return f"file://{tmp_path}/storage"
    url: str = request.getfixturevalue("s3_url")
    return url


@pytest.fixture
async def storage(storage_url: str) -> AsyncIterator[ObjectStorage]:
    opened = open_storage(storage_url)
    await opened.start()
    yield opened
    await opened.close()


@pytest.fixture
async def file_storage(tmp_path: Path) -> AsyncIterator[FileStorage]:
    opened = FileStorage(f"file://{tmp_path}/storage")
    await opened.start()
    yield opened
    await opened.close()


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def read_stream(storage: ObjectStorage, key: str) -> bytes:
    return b"".join([chunk async for chunk in storage.open_stream(key)])


# -- round trips ----------------------------------------------------------------------
PER_EXAMPLE = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
SEGMENTS = st.text(alphabet="abcxyz0189-_.", min_size=1, max_size=12).filter(
    lambda segment: segment not in (".", "..")
)
KEYS = st.lists(SEGMENTS, min_size=1, max_size=4).map("/".join)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)
EXAMPLE = itertools.count()


@PER_EXAMPLE
@given(key=KEYS, data=st.binary(max_size=4096))
async def test_any_bytes_round_trip_at_any_safe_key(
    storage: ObjectStorage, key: str, data: bytes
) -> None:
    # Each example under its own folder: "a" and "a/b" cannot both be files on disk.
    key = f"ex{next(EXAMPLE)}/{key}"
    await storage.put_bytes(key, data)
    assert await storage.get_bytes(key) == data
    assert await read_stream(storage, key) == data
    assert await storage.exists(key)
    assert (await storage.stat(key)).size == len(data)
    assert [info.key for info in await storage.list(key)] == [key]


@PER_EXAMPLE
@given(value=JSON_VALUES)
async def test_any_json_value_round_trips(storage: ObjectStorage, value: Any) -> None:
    key = f"executions/ex{next(EXAMPLE)}/context.json"
    await storage.put_json(key, value)
    assert await storage.get_json(key) == value


async def test_overwrite_replaces_the_whole_object(storage: ObjectStorage) -> None:
    await storage.put_bytes("jobs/j1/v1.json", b"a much longer first version")
    await storage.put_bytes("jobs/j1/v1.json", b"short")
    assert await storage.get_bytes("jobs/j1/v1.json") == b"short"
    listed = await storage.list("jobs/")
    assert [(info.key, info.size) for info in listed] == [("jobs/j1/v1.json", 5)]


async def test_non_json_object_is_a_validation_error(storage: ObjectStorage) -> None:
    await storage.put_bytes("bad.json", b"{not json")
    with pytest.raises(ValidationError, match=r"bad\.json"):
        await storage.get_json("bad.json")


# -- missing, exists, delete ------------------------------------------------------------
async def test_missing_object_is_not_found_everywhere(storage: ObjectStorage) -> None:
    await storage.put_bytes("executions/x/other.json", b"{}")
    key = "executions/x/context.json"
    with pytest.raises(NotFoundError, match=r"context\.json"):
        await storage.get_bytes(key)
    with pytest.raises(NotFoundError):
        await storage.get_json(key)
    with pytest.raises(NotFoundError):
        await storage.stat(key)
    with pytest.raises(NotFoundError):
        await read_stream(storage, key)
    assert not await storage.exists(key)
    # A "folder" of other keys is not an object either.
    assert not await storage.exists("executions/x")
    with pytest.raises(NotFoundError):
        await storage.get_bytes("executions/x")


async def test_exists_and_delete(storage: ObjectStorage) -> None:
    await storage.put_bytes("a/b.txt", b"1")
    await storage.put_bytes("a/c.txt", b"2")
    assert await storage.exists("a/b.txt")
    await storage.delete("a/b.txt")
    assert not await storage.exists("a/b.txt")
    with pytest.raises(NotFoundError):
        await storage.get_bytes("a/b.txt")
    await storage.delete("a/b.txt")  # deleting nothing is fine
    assert await storage.get_bytes("a/c.txt") == b"2"
    assert [info.key for info in await storage.list()] == ["a/c.txt"]


# -- list and stat ----------------------------------------------------------------------
async def test_list_returns_only_the_prefix_with_sizes(storage: ObjectStorage) -> None:
    before = datetime.now(UTC)
    objects = {
        "executions/abc/context.json": b"{}",
        "executions/abc/files/out.txt": b"hello",
        "executions/abcd/context.json": b"[1,2,3]",
        "jobs/j1/v1.json": b"x" * 1000,
    }
    for key, data in objects.items():
        await storage.put_bytes(key, data)

    def listed(infos: list[Any]) -> list[tuple[str, int]]:
        return [(info.key, info.size) for info in infos]

    assert listed(await storage.list("executions/abc/")) == [
        ("executions/abc/context.json", 2),
        ("executions/abc/files/out.txt", 5),
    ]
    # A prefix is a plain string prefix, as in S3.
    assert listed(await storage.list("executions/abc")) == [
        ("executions/abc/context.json", 2),
        ("executions/abc/files/out.txt", 5),
        ("executions/abcd/context.json", 7),
    ]
    assert listed(await storage.list("jobs/j")) == [("jobs/j1/v1.json", 1000)]
    assert listed(await storage.list()) == sorted((key, len(data)) for key, data in objects.items())
    assert await storage.list("nothing/") == []
    assert await storage.list("executions/abc/context.json/") == []
    for info in await storage.list():
        assert info.modified.tzinfo is not None
        # Generous: an external S3 server's clock may differ a little from ours.
        assert (
            before - timedelta(minutes=5)
            <= info.modified
            <= datetime.now(UTC) + timedelta(minutes=5)
        )


async def test_stat_reports_size_and_time(storage: ObjectStorage) -> None:
    await storage.put_bytes("f/one.bin", bytes(range(256)) * 3)
    info = await storage.stat("f/one.bin")
    assert info.key == "f/one.bin"
    assert info.size == 768
    assert info.modified.utcoffset() == timedelta(0)


# -- streaming --------------------------------------------------------------------------
async def generated(total: int, chunk: int, seed: int, digest: Any) -> AsyncIterator[bytes]:
    """``total`` pseudo-random bytes in chunks, made on the fly (never all in memory)."""
    sent = 0
    while sent < total:
        # shake makes the bytes directly; random.randbytes would hold a big int as well.
        data = hashlib.shake_128(f"{seed}/{sent}".encode()).digest(min(chunk, total - sent))
        digest.update(data)
        sent += len(data)
        yield data
        del data  # or two chunks would be alive while the next is made


@pytest.mark.parametrize("known_size", [True, False], ids=["sized", "unsized"])
async def test_streaming_20_mb_keeps_memory_bounded(
    storage: ObjectStorage, known_size: bool
) -> None:
    sent = hashlib.sha256()
    received = hashlib.sha256()
    largest = 0
    count = 0
    tracemalloc.start()
    try:
        await storage.put_stream(
            "executions/big/file.bin",
            generated(BIG, MIB, seed=7, digest=sent),
            BIG if known_size else None,
        )
        async for chunk in storage.open_stream("executions/big/file.bin"):
            received.update(chunk)
            largest = max(largest, len(chunk))
            count += len(chunk)
            del chunk
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == BIG
    assert received.hexdigest() == sent.hexdigest()
    assert 0 < largest <= CHUNK_SIZE
    assert (await storage.stat("executions/big/file.bin")).size == BIG
    # S3 holds one 5 MiB part (its minimum) plus a chunk; the file backend a few chunks.
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB for a {BIG / MIB:.0f} MiB object"


@pytest.mark.parametrize(("stream_size", "declared"), [(5, 10), (15, 10), (6 * MIB, 6 * MIB - 1)])
async def test_stream_of_the_wrong_size_stores_nothing(
    storage: ObjectStorage, stream_size: int, declared: int
) -> None:
    await storage.put_bytes("s/kept.bin", b"old")
    for key in ("s/new.bin", "s/kept.bin"):
        data = b"z" * stream_size
        with pytest.raises(ValidationError, match="bytes"):
            await storage.put_stream(key, chunks_of(data, MIB), declared)
    assert not await storage.exists("s/new.bin")
    assert await storage.get_bytes("s/kept.bin") == b"old"
    assert [info.key for info in await storage.list("s/")] == ["s/kept.bin"]


async def test_small_chunks_and_empty_streams(storage: ObjectStorage) -> None:
    data = bytes(range(256)) * 41
    await storage.put_stream("s/small.bin", chunks_of(data, 7), len(data))
    assert await storage.get_bytes("s/small.bin") == data
    await storage.put_stream("s/empty.bin", chunks_of(b"", 1), None)
    assert await storage.get_bytes("s/empty.bin") == b""
    assert await read_stream(storage, "s/empty.bin") == b""


async def test_a_stream_closed_early_releases_its_object(storage: ObjectStorage) -> None:
    data = random.Random(3).randbytes(3 * MIB + 5)
    await storage.put_bytes("s/three.bin", data)
    for _ in range(20):  # more than a pool's connections: each must come back
        async with contextlib.aclosing(storage.open_stream("s/three.bin")) as stream:
            first = await anext(stream)
        assert first == data[: len(first)]
    assert await storage.get_bytes("s/three.bin") == data


async def test_readers_never_see_a_partial_write(storage: ObjectStorage) -> None:
    versions = [bytes([letter]) * (2 * MIB) for letter in b"ab"]
    await storage.put_bytes("race/obj", versions[0])
    seen: set[bytes] = set()

    async def writer() -> None:
        for index in range(10):
            await storage.put_bytes("race/obj", versions[index % 2])

    async def reader() -> None:
        for _ in range(10):
            data = await storage.get_bytes("race/obj")
            assert data in versions, f"partial object of {len(data)} bytes"
            seen.add(data[:1])

    await asyncio.gather(writer(), reader(), reader())
    assert seen <= {b"a", b"b"}
    assert [info.key for info in await storage.list("race/")] == ["race/obj"]


# -- bad keys ---------------------------------------------------------------------------
BAD_KEYS = [
    "../x",
    "/abs",
    "a//b",
    "a\\b",
    "a/../../b",
    "./a",
    "a/.",
    "",
    "a/",
    "a\x00b",
    "a\nb",
    ".vecron-tmp-x",
    "a" * 1025,
]
OPERATIONS: dict[str, Callable[[ObjectStorage, str], Awaitable[Any]]] = {
    "put_bytes": lambda s, key: s.put_bytes(key, b"x"),
    "put_json": lambda s, key: s.put_json(key, {"a": 1}),
    "put_stream": lambda s, key: s.put_stream(key, chunks_of(b"x", 1), 1),
    "get_bytes": lambda s, key: s.get_bytes(key),
    "get_json": lambda s, key: s.get_json(key),
    "open_stream": lambda s, key: read_stream(s, key),
    "exists": lambda s, key: s.exists(key),
    "delete": lambda s, key: s.delete(key),
    "stat": lambda s, key: s.stat(key),
}


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
async def test_bad_keys_are_rejected_by_every_operation(storage: ObjectStorage, key: str) -> None:
    for name, operation in OPERATIONS.items():
        try:
            await operation(storage, key)
        except ValidationError:
            continue
        pytest.fail(f"{name} accepted {key!r}")
    assert await storage.list() == []


@pytest.mark.parametrize("prefix", ["../", "/abs", "a//", "a\\", "a/../"])
async def test_bad_prefixes_are_rejected(storage: ObjectStorage, prefix: str) -> None:
    with pytest.raises(ValidationError):
        await storage.list(prefix)


# -- file:// specifics ------------------------------------------------------------------
def files_under(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink()
    }


async def test_file_storage_never_leaves_its_root_through_symlinks(
    file_storage: FileStorage, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"do not touch")
    root = tmp_path / "storage"
    (root / "escape").symlink_to(outside, target_is_directory=True)
    (root / "link.json").symlink_to(outside / "secret.txt")
    (root / "dangling.json").symlink_to(outside / "new.txt")
    before = files_under(outside)

    attempts: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("write through a folder link", lambda: file_storage.put_bytes("escape/x.txt", b"!")),
        ("write over a file link", lambda: file_storage.put_bytes("link.json", b"!")),
        ("write to a dangling link", lambda: file_storage.put_bytes("dangling.json", b"!")),
        ("stream through a link", lambda: file_storage.put_stream("escape/y", chunks_of(b"!", 1))),
        ("read through a folder link", lambda: file_storage.get_bytes("escape/secret.txt")),
        ("read a file link", lambda: file_storage.get_bytes("link.json")),
        ("stream a file link", lambda: read_stream(file_storage, "link.json")),
        ("stat through a link", lambda: file_storage.stat("escape/secret.txt")),
        ("exists through a link", lambda: file_storage.exists("escape/secret.txt")),
        ("delete through a link", lambda: file_storage.delete("escape/secret.txt")),
        ("delete a file link", lambda: file_storage.delete("link.json")),
        ("list through a link", lambda: file_storage.list("escape/")),
    ]
    refusals: dict[str, str] = {}
    for what, attempt in attempts:
        try:
            await attempt()
        except ValidationError as exc:
            refusals[what] = exc.message
        else:
            pytest.fail(f"{what} was allowed")
    assert all("outside" in message for message in refusals.values()), refusals
    assert files_under(outside) == before
    assert not (outside / "new.txt").exists()
    # Listing the root does not follow the links either.
    assert await file_storage.list() == []


async def test_file_storage_keeps_links_that_stay_inside(file_storage: FileStorage) -> None:
    await file_storage.put_bytes("real/data.txt", b"inside")
    (file_storage.root / "alias").symlink_to(file_storage.root / "real")
    assert await file_storage.get_bytes("alias/data.txt") == b"inside"


@PER_EXAMPLE
@given(key=st.text(alphabet="./\\a\x00", min_size=0, max_size=12))
async def test_file_storage_writes_nothing_outside_its_root_for_any_key(
    tmp_path: Path, key: str
) -> None:
    root = tmp_path / "deep" / "root"
    storage = FileStorage(f"file://{root}")
    await storage.start()
    outside_before = {p for p in tmp_path.rglob("*") if root not in (p, *p.parents)}
    try:
        await storage.put_bytes(key, b"payload")
    except (ValidationError, ConflictError):
        pass
    else:
        assert (root / key).resolve().is_relative_to(root.resolve())
        assert (root / key).read_bytes() == b"payload"
    outside_after = {p for p in tmp_path.rglob("*") if root not in (p, *p.parents)}
    assert outside_after == outside_before


async def test_file_storage_writes_atomically_with_no_temp_files_left(
    file_storage: FileStorage,
) -> None:
    await file_storage.put_bytes("a/b.json", b"1")
    await file_storage.put_stream("a/c.bin", chunks_of(b"x" * (3 * MIB), MIB), 3 * MIB)
    with pytest.raises(ValidationError):
        await file_storage.put_stream("a/d.bin", chunks_of(b"x" * 10, 3), 11)
    assert sorted(os.listdir(file_storage.root / "a")) == ["b.json", "c.bin"]


async def test_relative_file_url_resolves_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = open_storage("file://./.vecron/storage")
    assert isinstance(storage, FileStorage)
    await storage.start()
    await storage.put_json("executions/e1/context.json", {"steps": {}})
    stored = tmp_path / ".vecron" / "storage" / "executions" / "e1" / "context.json"
    assert stored.read_bytes() == b'{"steps":{}}'
    absolute = open_storage(f"file://{tmp_path}/.vecron/storage")
    assert await absolute.get_json("executions/e1/context.json") == {"steps": {}}


async def test_file_storage_with_fsync_round_trips(tmp_path: Path) -> None:
    storage = open_storage(f"file://{tmp_path}/s?fsync=true")
    await storage.start()
    await storage.put_bytes("k", b"v")
    assert (tmp_path / "s" / "k").read_bytes() == b"v"


def test_file_url_options_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="unknown option"):
        open_storage("file://./x?sync=1")
    with pytest.raises(ConfigurationError, match="fsync"):
        open_storage("file://./x?fsync=maybe")
    with pytest.raises(ConfigurationError, match="no folder"):
        open_storage("file://")


# -- s3:// specifics --------------------------------------------------------------------
SECRET = "pa55-w0rd%2Fwith%2Bodd%40chars"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"s3://ak:{SECRET}@127.0.0.1:9/AB?secure=false", "bucket name"),
        (f"s3://ak:{SECRET}@127.0.0.1:9/bkt?secure=maybe", "secure"),
        (f"s3://ak:{SECRET}@127.0.0.1:9/bkt?token=x", "unknown option"),
        (f"s3://ak:{SECRET}@127.0.0.1:9/bkt/a/../b", "prefix"),
        (f"s3://ak:{SECRET}@127.0.0.1:bad/bk", "malformed"),
        ("s3://ak:pa55/unencoded@127.0.0.1:9/bk", "malformed"),
        (f"s3://ak:{SECRET}@/bk", "no host"),
        (f"ftp://ak:{SECRET}@127.0.0.1/bk", "unsupported"),
    ],
)
def test_bad_s3_urls_are_refused_without_showing_the_secret(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        open_storage(url)
    assert "pa55" not in str(caught.value) and "pa55" not in caught.value.one_line()


async def test_s3_secret_never_shows_and_a_dead_server_is_unavailable() -> None:
    storage = open_storage(f"s3://ak:{SECRET}@127.0.0.1:9/bucket?secure=false&region=x")
    assert isinstance(storage, S3Storage)
    shown = [repr(storage), str(storage), storage.url, repr(vars(storage).get("_location"))]
    with pytest.raises(BackendUnavailable) as caught:
        await storage.start()
    shown += [str(caught.value), caught.value.one_line(), repr(caught.value)]
    with pytest.raises(BackendUnavailable):
        await storage.get_bytes("a")
    await storage.close()
    for text in shown:
        assert "pa55" not in text, text
    assert "***" in storage.url
    assert caught.value.status == 503 and caught.value.exit_code == 69


async def test_s3_wrong_secret_is_a_configuration_error(s3_server: S3Server) -> None:
    wrong = S3Server(
        s3_server.host, s3_server.port, s3_server.access_key, "wrong-secret", s3_server.bucket
    )
    storage = open_storage(wrong.url(prefix="p"))
    with pytest.raises(ConfigurationError, match="credentials") as caught:
        await storage.start()
    assert "wrong-secret" not in caught.value.one_line()
    with pytest.raises(ConfigurationError, match="credentials"):
        await storage.put_bytes("k", b"v")
    await storage.close()


async def test_s3_start_creates_a_missing_bucket(s3_server: S3Server) -> None:
    bucket = f"vecron-new-{uuid.uuid4().hex[:12]}"
    client = s3_server.client()
    assert not client.bucket_exists(bucket)
    storage = open_storage(s3_server.url(bucket=bucket))
    try:
        await storage.start()
        await storage.start()  # again: the bucket exists now, and that is fine
        assert client.bucket_exists(bucket)
        await storage.put_bytes("k", b"v")
        assert await storage.get_bytes("k") == b"v"
        await storage.delete("k")
    finally:
        await storage.close()
        if client.bucket_exists(bucket):
            client.remove_bucket(bucket)


async def test_s3_prefix_keeps_deployments_apart(s3_server: S3Server) -> None:
    base = f"iso-{uuid.uuid4().hex[:12]}"
    one = open_storage(s3_server.url(prefix=f"{base}/one"))
    two = open_storage(s3_server.url(prefix=f"{base}/two"))
    await one.start()
    await two.start()
    try:
        await one.put_bytes("k.json", b"1")
        await two.put_bytes("k.json", b"2")
        assert await one.get_bytes("k.json") == b"1"
        assert [(i.key, i.size) for i in await two.list()] == [("k.json", 1)]
        names = [o.object_name for o in s3_server.client().list_objects(
            s3_server.bucket, prefix=f"{base}/", recursive=True
        )]  # fmt: skip
        assert sorted(names) == [f"{base}/one/k.json", f"{base}/two/k.json"]
        await one.delete("k.json")
        await two.delete("k.json")
    finally:
        await one.close()
        await two.close()
