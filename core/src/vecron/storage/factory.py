"""Pick an object storage backend by URL scheme."""

from __future__ import annotations

from vecron.errors import ConfigurationError
from vecron.storage.base import ObjectStorage


def open_storage(url: str) -> ObjectStorage:
    """The storage for ``url``, not started yet: call ``await storage.start()``.

    :raises ConfigurationError: unknown scheme or malformed URL.
    """
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme == "file":
        from vecron.storage.file import FileStorage

        return FileStorage(url)
    if scheme == "s3":
        from vecron.storage.s3 import S3Storage

        return S3Storage(url)
    from vecron.urls import redact_url

    raise ConfigurationError(
        f"unsupported storage URL {redact_url(url)!r}",
        hint="use file://./.vecron/storage or s3://ACCESS:SECRET@host:port/bucket",
    )
