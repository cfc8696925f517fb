"""Hands execution ids from whoever created them to workers."""

from __future__ import annotations

from vecron.queue.base import Delivery as Delivery
from vecron.queue.base import Queue as Queue
from vecron.queue.base import QueueMessage as QueueMessage
from vecron.queue.factory import open_queue as open_queue
