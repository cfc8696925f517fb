"""The webhook's REST routes: ``POST /hooks/{hook_id}`` (public: the signature is the
credential), ``GET /jobs/{name}/webhook`` and ``POST /jobs/{name}/webhook:regenerate``.

Handlers only read the request, call :class:`WebhookService` and reply with its view.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import ConfigDict, RootModel

from vecron import Permission, Runtime
from vecron_api import Route, RouteRegistry, client_address, principal, reply

from .limits import open_limits
from .payloads import FORM
from .service import HOOKS, Delivery, WebhookService, utc_now
from .signing import ID, SIGNATURE, TIMESTAMP
from .views import WebhookAccepted, WebhookView

TAG = "webhooks"
#: Bytes read from the body at a time.
CHUNK = 64 * 1024


class WebhookPayload(RootModel[Any]):
    """Whatever the sender posts: JSON, a form or text, signed with the endpoint's
    secret (Standard Webhooks). It reaches the Job Context as `webhook.payload`."""

    model_config = ConfigDict(title="WebhookPayload")


class Webhooks:
    """The service of one app: opened with the app (the rate limits are per app, in
    Redis when the lock backend is), closed with it."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        self._service: WebhookService | None = None

    @asynccontextmanager
    async def lifespan(self, runtime: Runtime) -> AsyncIterator[None]:
        limits = open_limits(runtime.settings.lock_url, lambda: self.clock().timestamp())
        self._service = WebhookService(runtime, limits, clock=self.clock)
        try:
            yield
        finally:
            self._service = None
            await limits.close()

    @property
    def service(self) -> WebhookService:
        if self._service is None:
            raise RuntimeError("the webhook routes are used before their app started")
        return self._service

    async def deliver(self, request: web.Request) -> web.Response:
        async def read(most: int) -> bytes:
            data = bytearray()
            while len(data) < most:
                chunk = await request.content.read(min(CHUNK, most - len(data)))
                if not chunk:
                    break
                data += chunk
            return bytes(data)

        delivery = Delivery(
            hook_id=request.match_info["hook_id"],
            headers={name.lower(): value for name, value in request.headers.items()},
            query={key: _values(request.query.getall(key)) for key in request.query},
            media=request.content_type if request.body_exists else "",
            charset=request.charset,
            size=request.content_length,
            read=read,
            address=client_address(request),
        )
        return reply(await self.service.deliver(delivery), status=202)

    async def show(self, request: web.Request) -> web.Response:
        found = await self.service.show(principal(request), request.match_info["name"])
        return reply(_with_url(found, request))

    async def regenerate(self, request: web.Request) -> web.Response:
        made = await self.service.regenerate(principal(request), request.match_info["name"])
        return reply(_with_url(made, request), headers={"Cache-Control": "no-store"})

    def routes(self) -> list[Route]:
        return [
            Route(
                method="POST",
                path=HOOKS + "/{hook_id}",
                handler=self.deliver,
                operation_id="deliverWebhook",
                summary="Start the endpoint's job with a signed delivery (Standard Webhooks)",
                description=(
                    "No bearer token: the `webhook-signature` header is the credential. "
                    "A repeated `webhook-id` answers the execution the first delivery "
                    "started. The body may also be a form "
                    f"(`{FORM}`) or text (`text/plain`)."
                ),
                tag=TAG,
                public=True,
                body=WebhookPayload,
                body_required=False,
                body_types=("application/json", FORM, "text/plain"),
                response=WebhookAccepted,
                status=202,
                errors=(401, 403, 409, 429, 503),
                headers=(
                    (ID, "The delivery's id: the same id is the same delivery (exactly once)."),
                    (TIMESTAMP, "When it was signed, Unix seconds (within 5 minutes of now)."),
                    (SIGNATURE, "One or more space-separated `v1,<base64 HMAC-SHA256>`."),
                ),
            ),
            Route(
                method="GET",
                path="/jobs/{name}/webhook",
                handler=self.show,
                operation_id="getJobWebhook",
                summary="The job's webhook URL (never its secret)",
                tag=TAG,
                permission=Permission.JOB_READ,
                response=WebhookView,
            ),
            Route(
                method="POST",
                path="/jobs/{name}/webhook:regenerate",
                handler=self.regenerate,
                operation_id="regenerateJobWebhook",
                summary="Make the job's webhook secret, or a new one (shown in this answer only)",
                tag=TAG,
                permission=Permission.JOB_WRITE,
                response=WebhookView,
                errors=(409,),
            ),
        ]


def _values(found: list[str]) -> str | list[str]:
    return found[0] if len(found) == 1 else found


def _with_url(view: WebhookView, request: web.Request) -> WebhookView:
    """The URL as this request reached the API."""
    return view.model_copy(update={"url": str(request.url.origin()) + view.path})


def register_routes(register: RouteRegistry) -> None:
    webhooks = Webhooks()
    register.add_lifespan(webhooks.lifespan)
    for route in webhooks.routes():
        register.add(route)
