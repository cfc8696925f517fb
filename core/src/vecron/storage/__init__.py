"""Object storage: job definition versions, execution context and files, by key."""

from __future__ import annotations

from vecron.storage.base import CHUNK_SIZE as CHUNK_SIZE
from vecron.storage.base import ObjectInfo as ObjectInfo
from vecron.storage.base import ObjectStorage as ObjectStorage
from vecron.storage.base import check_key as check_key
from vecron.storage.base import check_prefix as check_prefix
from vecron.storage.factory import open_storage as open_storage
