"""Triggers: every run asked for — by hand (CLI, API, dashboard) or by an event trigger
(a webhook) — starts here, under the job's :class:`~vecron.models.policy.TriggerPolicy`,
the object the scheduler plans its fire times with.

One exactly-once rule: a run asked for with an idempotency key is created at most once
per (job, kind, key), however many callers ask at once, from any process — the store's
unique key decides, never a check before the insert.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from vecron.auth import AuditOutcome, Permission, Principal
from vecron.clock import utcnow
from vecron.errors import ValidationError
from vecron.events import EventSink, ExecutionCreated, NullSink
from vecron.ids import new_id
from vecron.jobs.context import TRIGGER_KEYS
from vecron.models.execution import NewExecution, request_fingerprint
from vecron.models.policy import TriggerPolicy
from vecron.plugin.registry import Registry
from vecron.services.audit import Gate
from vecron.services.jobreads import job_resource
from vecron.services.views import ExecutionSummary, Fired
from vecron.store.base import Store

#: The longest idempotency key a run takes (the API's header, the CLI's option).
MAX_IDEMPOTENCY_KEY = 200
#: Where an idempotency key problem points: the HTTP header that carries it.
IDEMPOTENCY_KEY_FIELD = "Idempotency-Key"
KEY_REUSED = "idempotency-key-reused"
#: The audit action of every run asked for, whatever its kind (``detail.kind`` says).
RUN_ACTION = "job.run"


def check_idempotency_key(key: str | None) -> None:
    """:raises ValidationError: ``key`` is empty or longer than :data:`MAX_IDEMPOTENCY_KEY`."""
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise ValidationError(
            f"an idempotency key is 1 to {MAX_IDEMPOTENCY_KEY} characters, not {len(key)}",
            field=IDEMPOTENCY_KEY_FIELD,
            reason="out-of-range",
            params={"min": 1, "max": MAX_IDEMPOTENCY_KEY},
        )


def _checked_data(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """``data`` as stored: JSON, and none of the keys vecron fills itself.

    :raises ValidationError: a reserved key, or a value JSON cannot hold.
    """
    found = dict(data or {})
    taken = sorted(TRIGGER_KEYS & found.keys())
    if taken:
        raise ValidationError(
            f"trigger data may not set {', '.join(taken)}: vecron fills them",
            field="trigger_data",
            reason="reserved-key",
            params={"keys": taken},
        )
    try:
        json.dumps(found, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"trigger data must be JSON: {exc}", field="trigger_data", reason="not-json"
        ) from None
    return found


class TriggerService:
    def __init__(
        self,
        store: Store,
        registry: Registry,
        *,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        events: EventSink | None = None,
        gate: Gate | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.on_change = on_change
        self.clock = clock
        self.events: EventSink = events or NullSink()
        self.gate = gate or Gate(store, clock=lambda: self.clock())

    async def fire(
        self,
        principal: Principal,
        ref: str,
        *,
        kind: str,
        params: dict[str, Any] | None = None,
        trigger_data: Mapping[str, Any] | None = None,
        by: str | None = None,
        idempotency_key: str | None = None,
    ) -> Fired:
        """Start the job ``ref`` (name or id) by trigger ``kind`` (``manual``, or an
        event trigger's kind such as ``webhook``). Permission ``job:execute``; audited as
        ``job.run`` with the kind and the names of the params (never their values).

        ``params`` and ``trigger_data`` reach the Job Context's ``trigger``: templates
        read ``{{ trigger.params.x }}`` and, for the kind's data, ``{{ trigger.payload }}``
        or ``{{ webhook.payload }}``. ``by`` is who or what fired it (recorded as
        ``triggered_by``; the principal's subject by default).

        ``idempotency_key`` makes it exactly once per (job, kind, key): the same key
        again gives the same execution and ``created`` False, however many callers ask
        at once. The key remembers what was asked (a fingerprint of ``params``): the same
        key for different params is refused, never answered with the other run.

        :raises ValidationError: the key is empty or longer than 200 characters, or it
            was used for different params (reason ``idempotency-key-reused``, field
            ``Idempotency-Key``); ``kind`` is unknown or a scheduled kind (``cron`` fires
            on its schedule); ``trigger_data`` is not JSON or sets a reserved key.
        :raises TriggerForbidden: the job is disabled (reason ``job-disabled``) or does
            not allow ``kind`` (reason ``trigger-not-allowed``).
        :raises ConflictError: the job does not allow overlap and an execution holds it
            (reason ``job-running``) — decided in the insert's transaction, so of runs
            asked for at the same instant one is created.
        :raises NotFoundError: no such job.
        :raises PermissionDenied: without ``job:execute``.
        """
        await self.gate.check(principal, Permission.JOB_EXECUTE, RUN_ACTION, job_resource(ref))
        check_idempotency_key(idempotency_key)
        self._check_kind(kind)
        data = _checked_data(trigger_data)
        job = await self.store.get_job(ref)
        policy = TriggerPolicy(job.definition)
        policy.admit(job.name, kind, enabled=job.enabled)
        now = self.clock()
        params = params or {}
        fingerprint = request_fingerprint({"params": params})
        # Refused (overlap, disabled, kind) is answered, not audited nor announced: the
        # caller holds the reason, and a busy job asked every second fills no log.
        execution, created = await self.store.create_execution(
            NewExecution(
                id=new_id(),
                job_id=job.id,
                job_name=job.name,
                job_version=job.version,
                idempotency_key=f"{job.id}:{kind}:{idempotency_key or new_id()}",
                trigger=kind,
                triggered_by=by or principal.subject,
                scheduled_at=None,
                not_before=now,
                max_attempts=job.definition.retry.max_attempts,
                created_at=now,
                params=params,
                request_fingerprint=fingerprint,
                trigger_data=data,
            ),
            exclusive=policy.exclusive,
            audit=self.gate.entry(
                principal,
                RUN_ACTION,
                job_resource(job.name),
                detail={"kind": kind, "params": sorted(params)},
            ),
        )
        if not created and execution.request_fingerprint not in (None, fingerprint):
            # (None: made before fingerprints were kept; nothing to compare with.)
            await self.gate.record(
                self.gate.entry(
                    principal,
                    RUN_ACTION,
                    job_resource(job.name),
                    outcome=AuditOutcome.FAILED,
                    detail={"reason": KEY_REUSED, "execution": execution.id},
                )
            )
            raise ValidationError(
                "this Idempotency-Key was used for a different request (other params); "
                "use a new key for a new request",
                field=IDEMPOTENCY_KEY_FIELD,
                reason=KEY_REUSED,
            )
        if created:
            self.events.emit(
                ExecutionCreated(at=now, execution_id=execution.id, job_id=job.id, trigger=kind)
            )
            if self.on_change is not None:
                self.on_change()
        return Fired(execution=ExecutionSummary.of(execution), created=created)

    def _check_kind(self, kind: str) -> None:
        """:raises ValidationError: ``kind`` is not an installed event-driven trigger."""
        try:
            cls = self.registry.trigger(kind)
        except ValidationError as exc:
            raise ValidationError(exc.message, field="kind", reason="unknown-kind") from None
        if cls.scheduled:
            raise ValidationError(
                f"{kind} runs start on their schedule, not on request",
                field="kind",
                reason="scheduled-kind",
            )
