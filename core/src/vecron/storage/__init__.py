"""Object storage: job definition versions, execution context and files, by key."""

from __future__ import annotations

from .base import CHUNK_SIZE as CHUNK_SIZE
from .base import ObjectInfo as ObjectInfo
from .base import ObjectStorage as ObjectStorage
from .base import check_key as check_key
from .base import check_prefix as check_prefix
from .factory import open_storage as open_storage
