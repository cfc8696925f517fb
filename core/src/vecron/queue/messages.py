"""The payload of a queue message on NATS, and the id JetStream de-duplicates it by.

Each first publish of an attempt carries ``Nats-Msg-Id: <execution_id>:<attempt>``: the
server drops a second publish of the same attempt inside ``duplicate_window``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from vecron.queue.base import QueueMessage

MSG_ID_HEADER = "Nats-Msg-Id"

#: One encoder for every message: ``json.dumps`` with options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"))


def encode_message(message: QueueMessage) -> bytes:
    """The payload: the ids a worker needs to claim the execution, nothing else."""
    return _ENCODER.encode(
        {
            "execution_id": message.execution_id,
            "not_before": message.not_before.isoformat(),
            "attempt": message.attempt,
        }
    ).encode()


def decode_message(data: bytes) -> QueueMessage:
    """Inverse of :func:`encode_message`; ``ValueError`` for anything else."""
    try:
        body = json.loads(data)
        execution_id = body["execution_id"]
        not_before = datetime.fromisoformat(body["not_before"])
        attempt = body.get("attempt", 0)
    except (TypeError, KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a vecron queue message: {exc}") from exc
    if not isinstance(execution_id, str) or not isinstance(attempt, int):
        raise ValueError("not a vecron queue message: bad field types")
    if not_before.tzinfo is None:
        not_before = not_before.replace(tzinfo=UTC)
    return QueueMessage(execution_id, not_before, attempt)


def message_id(message: QueueMessage) -> str:
    """The de-duplication id of a first publish of ``message``'s attempt."""
    return f"{message.execution_id}:{message.attempt}"
