"""Hands execution ids from whoever created them to workers."""

from __future__ import annotations

from .base import Delivery as Delivery
from .base import Queue as Queue
from .base import QueueMessage as QueueMessage
from .factory import open_queue as open_queue
