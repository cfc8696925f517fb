"""The webhook service: a job's endpoint (show, regenerate its secret) and deliveries.

Every rule lives here; the routes and the command only parse and print. Showing needs
``job:read`` and regenerating ``job:write`` on the job, checked through
:func:`vecron.authorize` with refusals audited. A delivery has no bearer token: its
signature is its credential, and it acts as ``webhook:<hook_id>`` (source ``webhook``),
the principal the execution and the audit log record.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from vecron import (
    AuditEntry,
    AuditOutcome,
    ConflictError,
    Database,
    JobView,
    NotFoundError,
    Permission,
    PermissionDenied,
    Principal,
    Runtime,
    TooManyRequests,
    authorize,
)

from . import endpoints, payloads, signing
from .endpoints import Endpoint
from .errors import PayloadTooLarge
from .limits import Limits
from .trigger import WebhookConfig, WebhookTrigger
from .views import WebhookAccepted, WebhookView

KIND = WebhookTrigger.kind
#: Where deliveries go, relative to the API's ``/api/v1``.
HOOKS = "/hooks"
API_PREFIX = "/api/v1"

#: Seconds an endpoint and its job are kept in memory between deliveries: a change made
#: through another process (a regenerated secret, a disabled job) reaches this one within
#: this time; a change made through this service at once.
KEEP_SECONDS = 1.0
#: Endpoints kept in memory at most; the least recently used go first.
KEEP_MOST = 10_000

#: Reads the job an endpoint belongs to; never lent to anyone.
_READER = Principal(
    subject="vecron-webhook", permissions=frozenset({Permission.JOB_READ}), source="webhook"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def hook_path(hook_id: str) -> str:
    return f"{API_PREFIX}{HOOKS}/{hook_id}"


def webhook_config(job: JobView) -> WebhookConfig | None:
    """The job's webhook trigger config, or None when it lists none."""
    for trigger in job.definition.get("triggers", []):
        if trigger.get("type") == KIND:
            return WebhookConfig.model_validate({k: v for k, v in trigger.items() if k != "type"})
    return None


@dataclass(frozen=True, slots=True)
class _Known:
    """An endpoint and its job as last read (``read_at``, monotonic seconds)."""

    endpoint: Endpoint
    job: JobView
    config: WebhookConfig | None
    read_at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One request to ``POST /api/v1/hooks/{hook_id}``, as the route read it: nothing of
    the body yet (``read(n)`` gives at most ``n`` bytes of it)."""

    hook_id: str
    headers: Mapping[str, str]
    query: Mapping[str, str | list[str]]
    media: str
    charset: str | None
    size: int | None
    read: Callable[[int], Awaitable[bytes]]
    address: str | None = None


class WebhookService:
    """Endpoints and deliveries of one vecron (an opened :class:`vecron.Runtime`).

    ``limits`` holds the per-job buckets (this process's, or Redis'); ``clock`` gives
    aware UTC times (tests move it); ``base_url`` is where the API is reached, for the
    URLs shown (None: only paths).
    """

    def __init__(
        self,
        runtime: Runtime,
        limits: Limits,
        *,
        clock: Callable[[], datetime] = utc_now,
        base_url: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.limits = limits
        self.clock = clock
        self.base_url = base_url
        self.database: Database = runtime.store
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._loading: dict[str, asyncio.Future[_Known]] = {}

    # -- the endpoint ------------------------------------------------------------------
    async def show(self, principal: Principal, ref: str) -> WebhookView:
        """The job's endpoint (by job name or id), without its secret. Permission
        ``job:read``.

        :raises NotFoundError: no such job, or no secret was made yet (reason
            ``webhook-not-created``: regenerate makes the first one).
        :raises PermissionDenied: without ``job:read``.
        """
        await self._check(principal, Permission.JOB_READ, "webhook.read", ref)
        job = await self.runtime.jobs.get(_READER, ref)
        async with self.database.connect() as conn:
            found = await endpoints.by_job(conn, job.id)
        if found is None:
            raise NotFoundError(
                f"job {job.name!r} has no webhook secret yet; regenerating makes the first one",
                reason="webhook-not-created",
            )
        return self._view(job, found)

    async def regenerate(self, principal: Principal, ref: str) -> WebhookView:
        """Make the job's endpoint, or give it a new secret; the answer is the only one
        that shows the secret. The hook id (the URL) stays; the previous secret verifies
        for the trigger's ``grace`` seconds more (0: it stops at once). Permission
        ``job:write``; audited as ``webhook.regenerate``.

        :raises NotFoundError: no such job.
        :raises ConflictError: the job lists no webhook trigger (reason
            ``no-webhook-trigger``), or another call made its endpoint at the same instant.
        :raises PermissionDenied: without ``job:write``.
        """
        await self._check(principal, Permission.JOB_WRITE, "webhook.regenerate", ref)
        job = await self.runtime.jobs.get(_READER, ref)
        config = webhook_config(job)
        if config is None:
            # The job as it stands, not the request, is what is wrong: 409, as for a
            # run the overlap policy refuses.
            raise ConflictError(
                f"job {job.name!r} lists no webhook trigger; add {{type: {KIND}}} to its "
                "triggers first",
                field="triggers",
                reason="no-webhook-trigger",
            )
        secret = signing.new_secret()
        sealed = self.runtime.secrets.encrypt(_sealed_text(job.id, secret))
        now = self.clock()
        try:
            async with self.database.begin() as conn:
                old = await endpoints.by_job(conn, job.id, lock=True)
                if old is None:
                    await endpoints.create(
                        conn, job_id=job.id, hook_id=signing.new_hook_id(), sealed=sealed, now=now
                    )
                else:
                    until = now + timedelta(seconds=config.grace)
                    await endpoints.rotate(conn, old, sealed=sealed, now=now, grace_until=until)
                found = await endpoints.by_job(conn, job.id)
        except IntegrityError:  # made at the same instant by another call
            raise ConflictError(
                f"the webhook of job {job.name!r} was just made by another call; try again",
                reason="webhook-changed",
            ) from None
        assert found is not None
        self._known.pop(found.hook_id, None)  # this process verifies with it at once
        await self._audit(principal, "webhook.regenerate", f"job:{job.name}", AuditOutcome.OK)
        return self._view(job, found, secret=secret)

    # -- deliveries --------------------------------------------------------------------
    async def deliver(self, delivery: Delivery) -> WebhookAccepted:
        """Check a delivery and start the job's execution; checks run cheapest first
        (research/reliability.md section 2.2) and the first that fails answers.

        :raises NotFoundError: no endpoint has this hook id (404).
        :raises PayloadTooLarge: the body is over the trigger's ``max_body`` (413).
        :raises UnsupportedMediaType: a body that is not JSON, a form or text (415).
        :raises Unauthenticated: a signature header is missing, the timestamp is more
            than five minutes away, or no signature matches (401).
        :raises TriggerForbidden: the job is disabled or lists no webhook trigger (403).
        :raises TooManyRequests: the job's bucket is empty (429, ``retry_after``).
        :raises MalformedBody: a JSON body that is not JSON (400).
        :raises ConflictError: the job's overlap policy refuses another execution (409).

        The execution is started by core's trigger service (kind ``webhook``), so the
        job's policy and exactly-once rule are those of every other trigger: the
        ``webhook-id`` is its idempotency key, and ``{payload, query, headers}`` its
        trigger data, ``webhook.*`` in the Job Context.
        """
        known = await self._endpoint_of(delivery.hook_id)
        endpoint, job, config = known.endpoint, known.job, known.config
        limit = (config or WebhookConfig()).max_body
        if delivery.size is not None and delivery.size > limit:
            raise _too_large(limit)
        payloads.check_media(delivery.media, delivery.size)
        signed = signing.SignedHeaders.of(delivery.headers)
        now = self.clock()
        signed.check_time(now.timestamp())
        body = await delivery.read(limit + 1)
        if len(body) > limit:
            raise _too_large(limit)
        signed.check_signature(body, self._keys(endpoint, now))
        earlier = await self.limits.answered(job.id, signed.delivery_id)
        if earlier is not None:
            return WebhookAccepted(execution_id=earlier, created=False)
        # Without the webhook trigger there is no limit: the trigger service refuses it.
        if config is not None:
            wait = await self.limits.take(job.id, config.rate, config.burst)
            if wait is not None:
                raise TooManyRequests(
                    f"job {job.name!r} takes at most {config.rate:g} deliveries a second "
                    f"(burst {config.burst})",
                    retry_after=wait,
                )
        data = {
            "payload": payloads.payload(delivery.media, delivery.charset, body),
            "query": dict(delivery.query),
            "headers": payloads.shown_headers(delivery.headers),
        }
        caller = Principal(
            subject=f"webhook:{delivery.hook_id}",
            permissions=frozenset({Permission.JOB_READ, Permission.JOB_EXECUTE}),
            source="webhook",
            address=delivery.address,
        )
        fired = await self.runtime.triggers.fire(
            caller, job.id, kind=KIND, trigger_data=data, idempotency_key=signed.delivery_id
        )
        await self.limits.remember(job.id, signed.delivery_id, fired.execution.id)
        return WebhookAccepted(execution_id=fired.execution.id, created=fired.created)

    # -- helpers -----------------------------------------------------------------------
    async def _endpoint_of(self, hook_id: str) -> _Known:
        """The endpoint of ``hook_id`` and its job, from memory while fresh: reading a job
        costs milliseconds, so a flood reads it once a second, and concurrent deliveries
        that find it stale wait for one read together."""
        known = self._known.get(hook_id)
        if known is not None and time.monotonic() - known.read_at < KEEP_SECONDS:
            self._known.move_to_end(hook_id)
            return known
        loading = self._loading.get(hook_id)
        if loading is None:
            loading = self._loading[hook_id] = asyncio.ensure_future(self._load(hook_id))
            loading.add_done_callback(lambda done: self._loaded(hook_id, done))
        return await asyncio.shield(loading)

    def _loaded(self, hook_id: str, done: asyncio.Future[_Known]) -> None:
        self._loading.pop(hook_id, None)
        if not done.cancelled():
            done.exception()  # seen here, even when every waiter has gone

    async def _load(self, hook_id: str) -> _Known:
        async with self.database.connect() as conn:
            endpoint = await endpoints.by_hook(conn, hook_id)
        job = None
        if endpoint is not None:
            try:
                job = await self.runtime.jobs.get(_READER, endpoint.job_id)
            except NotFoundError:
                job = None  # the job was deleted; its endpoint answers nothing
        if endpoint is None or job is None:
            self._known.pop(hook_id, None)
            raise NotFoundError("no webhook endpoint has this id", reason="hook-not-found")
        known = self._known[hook_id] = _Known(endpoint, job, webhook_config(job), time.monotonic())
        self._known.move_to_end(hook_id)
        while len(self._known) > KEEP_MOST:
            self._known.popitem(last=False)
        return known

    def _keys(self, endpoint: Endpoint, now: datetime) -> list[bytes]:
        return [
            signing.key_of(_unsealed(self.runtime.secrets.decrypt(token), endpoint.job_id))
            for token in endpoint.sealed_secrets(now)
        ]

    def _view(self, job: JobView, endpoint: Endpoint, *, secret: str | None = None) -> WebhookView:
        path = hook_path(endpoint.hook_id)
        return WebhookView(
            job=job.name,
            hook_id=endpoint.hook_id,
            path=path,
            url=None if self.base_url is None else self.base_url.rstrip("/") + path,
            secret=secret,
            enabled=webhook_config(job) is not None,
            created_at=endpoint.created_at,
            rotated_at=endpoint.rotated_at,
            previous_valid_until=endpoint.previous_until,
        )

    async def _check(
        self, principal: Principal, permission: Permission, action: str, ref: str
    ) -> None:
        resource = f"job:{ref}"
        try:
            authorize(principal, permission, resource)
        except PermissionDenied:
            await self._audit(
                principal,
                action,
                resource,
                AuditOutcome.DENIED,
                {"permission": permission.value},
            )
            raise

    async def _audit(
        self,
        principal: Principal,
        action: str,
        resource: str,
        outcome: AuditOutcome,
        detail: dict[str, Any] | None = None,
    ) -> None:
        entry = AuditEntry.of(
            principal,
            action,
            resource,
            at=self.clock(),
            id=str(uuid.uuid4()),
            outcome=outcome,
            detail=detail,
        )
        await self.runtime.store.add_audit(entry)


def _sealed_text(job_id: str, secret: str) -> str:
    # The job id sealed with the secret: a sealed value copied onto another endpoint's
    # row does not verify there.
    return f"{job_id}\n{secret}"


def _unsealed(text: str, job_id: str) -> str:
    owner, _, secret = text.partition("\n")
    if owner != job_id:
        raise NotFoundError("no webhook endpoint has this id", reason="hook-not-found")
    return secret


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the body is larger than the job's webhook takes ({limit} bytes; trigger max_body)",
        field="body",
        params={"max": limit},
    )
