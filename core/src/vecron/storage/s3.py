"""Object storage on an S3 server (AWS S3, MinIO, SeaweedFS, ...) through ``minio``.

URL: ``s3://ACCESS:SECRET@host:port/bucket[/prefix]?secure=false&region=us-east-1``.
Without credentials in the URL, ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` are used
when set (anonymous otherwise). ``secure`` defaults to true (HTTPS). The optional prefix
lets several deployments share one bucket. The bucket is created at :meth:`start`.

The ``minio`` client is synchronous: its calls run in a thread pool of this storage's
own, so slow S3 requests never starve the loop's default executor. S3 makes every PUT
atomic for readers. The secret key lives only in the client: ``url``, ``repr`` and
error messages show ``***`` instead.

Uploads use minio's request-level methods (``_put_object``, ``_upload_part``, ...):
its public ``put_object`` copies each part two more times. They have been stable
through minio 7.x, to which the ``s3`` extra is pinned; the contract suite covers them.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import functools
import math
import os
import re
from collections.abc import AsyncGenerator, AsyncIterable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import parse_qs, unquote, urlsplit

from vecron.errors import (
    BackendUnavailable,
    ConfigurationError,
    NotFoundError,
    ValidationError,
    VecronError,
)
from vecron.storage.base import CHUNK_SIZE, ObjectInfo, ObjectStorage, check_key, check_prefix
from vecron.storage.url import bool_option, check_options
from vecron.urls import redact_url

if TYPE_CHECKING:
    from minio import Minio

T = TypeVar("T")

SCHEME = "s3://"
#: S3's smallest part (all but the last) and its most parts per upload.
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PARTS = 10_000
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchObject", "ResourceNotFound"})
CREDENTIAL_CODES = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}
)
WORKERS = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class S3Location:
    """Everything an ``s3://`` URL says. ``secret_key`` is left out of ``repr``."""

    endpoint: str
    bucket: str
    prefix: str
    secure: bool
    region: str | None
    access_key: str | None
    secret_key: str | None = field(repr=False)
    shown_url: str


def parse_s3_url(url: str) -> S3Location:
    """Read an ``s3://`` URL.

    :raises ConfigurationError: malformed URL, bad bucket name or prefix, unknown option.
        Messages show the URL with its secret hidden.
    """
    shown = redact_url(url)
    if not url.startswith(SCHEME):
        raise ConfigurationError(f"not an s3:// storage URL: {shown!r}")
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        raise ConfigurationError(
            f"malformed storage URL {shown!r}",
            hint="percent-encode '/', '@' and ':' in the keys (e.g. '/' as %2F)",
        ) from None
    if not host:
        raise ConfigurationError(
            f"storage URL {shown!r} names no host",
            hint="e.g. s3://ACCESS:SECRET@127.0.0.1:8333/bucket?secure=false",
        )
    endpoint = f"[{host}]" if ":" in host else host
    if port is not None:
        endpoint = f"{endpoint}:{port}"
    bucket, _, prefix = parts.path.lstrip("/").partition("/")
    if not BUCKET_NAME.fullmatch(bucket) or ".." in bucket:
        raise ConfigurationError(
            f"storage URL {shown!r}: {bucket!r} is not a valid bucket name",
            hint="3-63 lowercase letters, digits, dots and hyphens",
        )
    prefix = prefix.strip("/")
    if prefix:
        try:
            check_key(prefix)
        except ValidationError as exc:
            raise ConfigurationError(f"storage URL {shown!r}: bad prefix ({exc})") from None
        prefix += "/"
    options = parse_qs(parts.query, keep_blank_values=True)
    check_options(
        options,
        {"secure", "region"},
        shown,
        "s3:// storage accepts secure=true|false and region=NAME",
    )
    secure = bool_option(options, "secure", True, shown)
    region = options["region"][-1] if "region" in options else None
    access_key = unquote(parts.username) if parts.username else None
    secret_key = unquote(parts.password) if parts.password is not None else None
    if access_key is None:
        access_key = os.environ.get("AWS_ACCESS_KEY_ID") or None
        secret_key = os.environ.get("AWS_SECRET_ACCESS_KEY") or None
    if (access_key is None) != (secret_key is None):
        raise ConfigurationError(
            f"storage URL {shown!r} needs both an access key and a secret key",
            hint="s3://ACCESS:SECRET@host:port/bucket",
        )
    return S3Location(
        endpoint=endpoint,
        bucket=bucket,
        prefix=prefix,
        secure=secure,
        region=region or None,
        access_key=access_key,
        secret_key=secret_key,
        shown_url=shown,
    )


def part_size_for(size: int | None) -> int:
    """The part size of a multipart upload: 5 MiB, more when 10,000 parts are too few."""
    if size is None or size <= MIN_PART_SIZE * MAX_PARTS:
        return MIN_PART_SIZE
    mib = 1024 * 1024
    return math.ceil(size / MAX_PARTS / mib) * mib


class S3Storage(ObjectStorage):
    """Objects in one bucket (under an optional key prefix)."""

    def __init__(self, url: str) -> None:
        self._location = parse_s3_url(url)
        self.url = self._location.shown_url
        self.bucket = self._location.bucket
        self.prefix = self._location.prefix
        self._client: Minio | None = None
        self._executor: ThreadPoolExecutor | None = None

    # -- plumbing -------------------------------------------------------------------
    def _make_client(self) -> Minio:
        try:
            import certifi
            import urllib3
            from minio import Minio
        except ImportError:
            raise ConfigurationError(
                "s3:// storage needs the minio client", hint="install vecron-core[s3]"
            ) from None
        where = self._location
        http = urllib3.PoolManager(
            # A dead endpoint must fail in seconds, not after minio's default 5 minutes.
            timeout=urllib3.Timeout(connect=5.0, read=60.0),
            maxsize=WORKERS,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=urllib3.Retry(
                total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
            ),
        )
        return Minio(
            where.endpoint,
            access_key=where.access_key,
            secret_key=where.secret_key,
            secure=where.secure,
            region=where.region,
            http_client=http,
        )

    def _client_now(self) -> Minio:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    async def _call(self, function: Callable[..., T], *args: Any, key: str | None = None) -> T:
        """Run a blocking minio call in this storage's threads; translate its errors."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="vecron-s3")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(function, *args))
        except VecronError:
            raise
        except Exception as exc:
            raise self._translate(exc, key) from None

    def _translate(self, exc: Exception, key: str | None) -> VecronError:
        import urllib3
        from minio.error import InvalidResponseError, S3Error, ServerError

        where = f"S3 storage {self.url}"
        if isinstance(exc, S3Error):
            if exc.code in NOT_FOUND_CODES and key is not None:
                return NotFoundError(f"no object at {key!r}")
            if exc.code in CREDENTIAL_CODES:
                return ConfigurationError(
                    f"{where} refused the credentials ({exc.code})",
                    hint="check the access and secret key and the bucket policy",
                )
            if exc.code == "NoSuchBucket":
                return BackendUnavailable(
                    f"{where}: bucket {self.bucket!r} does not exist",
                    hint="start the storage to create it",
                )
            return BackendUnavailable(f"{where} failed: {exc.code}: {exc.message}")
        if isinstance(exc, urllib3.exceptions.HTTPError | OSError | ServerError):
            return BackendUnavailable(
                f"{where} is unreachable ({type(exc).__name__}: {exc})",
                hint="check that the S3 server runs and the URL's host and port",
            )
        if isinstance(exc, InvalidResponseError):
            return BackendUnavailable(f"{where} answered something that is not S3: {exc}")
        return VecronError(f"{where} failed: {type(exc).__name__}: {exc}")

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        client = self._client_now()
        if not await self._call(client.bucket_exists, self.bucket):
            await self._call(self._create_bucket, client)

    def _create_bucket(self, client: Minio) -> None:
        from minio.error import S3Error

        try:
            client.make_bucket(self.bucket)
        except S3Error as exc:
            # Another process may have created it since we looked.
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise

    async def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._client is not None:
            # Drops pooled connections now instead of at garbage collection.
            self._client._http.clear()
            self._client = None

    # -- writes ---------------------------------------------------------------------
    async def put_bytes(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> None:
        name = self._name(key)
        headers = {"Content-Type": content_type}
        client = self._client_now()
        await self._call(client._put_object, self.bucket, name, data, headers, key=key)

    async def put_stream(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        size: int | None = None,
        *,
        content_type: str = "application/octet-stream",
    ) -> None:
        """A multipart upload holding one part in memory at a time.

        ``Minio.put_object`` keeps about three parts alive while it concatenates the next
        one, so the parts are cut here and sent with minio's part-level calls.
        """
        from minio.datatypes import Part

        name = self._name(key)
        client = self._client_now()
        headers = {"Content-Type": content_type}
        part_size = part_size_for(size)
        parts: builtins.list[Part] = []
        upload_id: str | None = None
        part = bytearray()
        total = 0

        async def send(data: bytearray) -> None:
            nonlocal upload_id
            if upload_id is None:
                upload_id = await self._call(
                    client._create_multipart_upload, self.bucket, name, dict(headers), key=key
                )
            number = len(parts) + 1
            if number > MAX_PARTS:
                raise ValidationError(
                    f"stream for {key!r} is too large for parts of {part_size} bytes",
                    hint="pass its size so larger parts are chosen",
                )
            etag = await self._call(
                self._upload_part, client, name, [data], upload_id, number, key=key
            )
            parts.append(Part(number, etag))

        try:
            async for chunk in chunks:
                total += len(chunk)
                if size is not None and total > size:
                    raise ValidationError(f"stream for {key!r} is longer than {size} bytes")
                part += chunk
                while len(part) >= part_size:
                    # Only full parts leave while more may follow: S3 needs parts >= 5 MiB.
                    rest = part[part_size:]
                    del part[part_size:]
                    await send(part)
                    part = rest
            if size is not None and total != size:
                raise ValidationError(f"stream for {key!r} has {total} bytes, not {size}")
            if upload_id is None:
                await self._call(
                    client._put_object, self.bucket, name, cast(bytes, part), headers, key=key
                )
                return
            if part:
                await send(part)
            del part
            await self._call(
                client._complete_multipart_upload, self.bucket, name, upload_id, parts, key=key
            )
        except BaseException:
            if upload_id is not None and self._executor is not None:
                # Not awaited: this also runs on cancellation. S3 drops the parts.
                self._executor.submit(self._abort, client, name, upload_id)
            raise

    def _upload_part(
        self, client: Minio, name: str, box: builtins.list[bytearray], upload_id: str, number: int
    ) -> str:
        # The part travels in a box emptied here: the executor keeps its work item (and
        # so the arguments) alive a moment after the result is in, and a part held
        # that long would double the memory of a streamed upload.
        body = box.pop()
        # minio hashes and sends any buffer; a bytearray saves a copy of each part.
        return client._upload_part(self.bucket, name, cast(bytes, body), None, upload_id, number)

    def _abort(self, client: Minio, name: str, upload_id: str) -> None:
        # Best effort: a failed abort leaves parts that S3 lifecycle rules clean up.
        with contextlib.suppress(Exception):
            client._abort_multipart_upload(self.bucket, name, upload_id)

    async def delete(self, key: str) -> None:
        client = self._client_now()
        await self._call(client.remove_object, self.bucket, self._name(key), key=key)

    # -- reads ----------------------------------------------------------------------
    @staticmethod
    def _read_all(client: Minio, bucket: str, name: str) -> bytes:
        response = client.get_object(bucket, name)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def get_bytes(self, key: str) -> bytes:
        client = self._client_now()
        return await self._call(self._read_all, client, self.bucket, self._name(key), key=key)

    async def open_stream(self, key: str) -> AsyncGenerator[bytes, None]:
        client = self._client_now()
        name = self._name(key)
        response = await self._call(client.get_object, self.bucket, name, key=key)
        try:
            while chunk := await self._call(response.read, CHUNK_SIZE, key=key):
                yield chunk
        finally:
            # close() first: a half-read body must not go back into the pool.
            response.close()
            response.release_conn()

    async def stat(self, key: str) -> ObjectInfo:
        client = self._client_now()
        found = await self._call(client.stat_object, self.bucket, self._name(key), key=key)
        return ObjectInfo(key, found.size or 0, _utc(found.last_modified))

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except NotFoundError:
            return False
        return True

    def _list(self, client: Minio, prefix: str) -> builtins.list[ObjectInfo]:
        found: builtins.list[ObjectInfo] = []
        for item in client.list_objects(self.bucket, prefix=self.prefix + prefix, recursive=True):
            if item.is_dir or item.object_name is None:
                continue
            key = item.object_name[len(self.prefix) :]
            try:
                check_key(key)
            except ValidationError:
                continue  # written by someone else under a name this API cannot address
            found.append(ObjectInfo(key, item.size or 0, _utc(item.last_modified)))
        found.sort(key=lambda info: info.key)
        return found

    async def list(self, prefix: str = "") -> builtins.list[ObjectInfo]:
        check_prefix(prefix)
        client = self._client_now()
        return await self._call(self._list, client, prefix)


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.fromtimestamp(0, tz=UTC)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
