"""Where alerts land in tests: a real SMTP server (aiosmtpd, STARTTLS with a self-signed
certificate made here, a login required) and a webhook receiver that verifies every
delivery with the ``standardwebhooks`` library."""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import json
import os
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.private_servers import free_port
from tests.support.web import serve

SMTP_USER = "alerts"
#: The login's password of the test SMTP server (a test's own, never a real one).
SMTP_PASSWORD = "smtp-" + "pa55word-fixture"


def webhook_secret() -> str:
    """A fresh ``whsec_`` signing secret."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vecron-test-smtp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@dataclass
class MailServer:
    """What the SMTP server received, and the settings of a notifier that reaches it."""

    port: int
    password: str
    ca_file: Path
    messages: list[Message] = field(default_factory=list)
    #: Whether each message's session had switched to TLS before MAIL FROM.
    tls: list[bool] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def subjects(self) -> list[str]:
        with self.lock:
            return [str(m["Subject"]) for m in self.messages]

    def notifier(self, **overrides: Any) -> dict[str, Any]:
        return {
            "type": "email",
            "host": "127.0.0.1",
            "port": self.port,
            "username": SMTP_USER,
            "password": self.password,
            "from_address": "vecron@example.com",
            "to": ["ops@example.com"],
            "starttls": "required",
            "ca_file": str(self.ca_file),
            "request_timeout": 5,
            **overrides,
        }

    # aiosmtpd's handler hooks
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.original_content))
            self.tls.append(session.ssl is not None)
        return "250 OK"


@contextmanager
def mail_server(folder: Path, password: str) -> Iterator[MailServer]:
    """An SMTP server on 127.0.0.1 that offers STARTTLS (self-signed certificate) and
    accepts mail only after a login with ``password``."""
    import ssl

    cert_file, key_file = self_signed(folder)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    server = MailServer(port=free_port(), password=password, ca_file=cert_file)

    def authenticate(server_: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == SMTP_USER
            and data.password.decode() == password
        )
        return AuthResult(success=ok)

    controller = Controller(
        server,
        hostname="127.0.0.1",
        port=server.port,
        tls_context=context,
        require_starttls=False,
        authenticator=authenticate,
        auth_required=True,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@dataclass
class WebhookReceiver:
    """Every delivery whose signature ``standardwebhooks`` verified, and every one it
    refused. ``mode``: ``ok``, ``hang`` (never answers) or ``error`` (HTTP 500)."""

    secret: str
    url: str = ""
    mode: str = "ok"
    verified: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    refused: int = 0
    hits: int = 0
    #: Set when the test ends: hanging requests return, so the server stops at once.
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def kinds(self) -> list[str]:
        return [payload["kind"] for payload in self.verified]

    def notifier(self, **overrides: Any) -> dict[str, Any]:
        return {"type": "webhook", "url": f"{self.url}/alerts", "secret": self.secret, **overrides}

    def app(self) -> web.Application:
        async def receive(request: web.Request) -> web.Response:
            self.hits += 1
            if self.mode == "hang":
                await self.release.wait()
                return web.Response(status=503)
            if self.mode == "error":
                return web.Response(status=500)
            body = await request.read()
            try:
                payload = Webhook(self.secret).verify(body, dict(request.headers))
            except WebhookVerificationError:
                self.refused += 1
                return web.Response(status=400)
            self.verified.append(payload)
            self.ids.append(request.headers["webhook-id"])
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/alerts", receive)
        return app


@asynccontextmanager
async def webhook_receiver(secret: str, mode: str = "ok") -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver(secret=secret, mode=mode)
    async with serve(receiver.app()) as url:
        receiver.url = url
        try:
            yield receiver
        finally:
            receiver.release.set()


def alerts_setting(notifiers: dict[str, dict[str, Any]], **rules: Any) -> str:
    """The ``VECRON_ALERTS`` value of these notifiers (all told by default) and rules."""
    return json.dumps({"notifiers": notifiers, "notify": sorted(notifiers), **rules})


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailServer]:
    """A real SMTP server for the test (STARTTLS, login with :data:`SMTP_PASSWORD`)."""
    with mail_server(tmp_path, SMTP_PASSWORD) as server:
        yield server


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """A webhook receiver with a fresh secret, verifying every delivery."""
    async with webhook_receiver(webhook_secret()) as found:
        yield found


@dataclass
class StatusTarget:
    """What jobs call: ``GET /status`` answers ``status`` (500 until the test says
    otherwise), as it is after ``delay`` seconds."""

    delay: float = 0.0
    status: int = 500
    url: str = ""

    def app(self) -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            if self.delay:
                await asyncio.sleep(self.delay)
            return web.Response(status=self.status, text=f"answer {self.status}")

        app = web.Application()
        app.router.add_get("/status", answer)
        return app


@asynccontextmanager
async def status_target(delay: float = 0.0) -> AsyncIterator[StatusTarget]:
    target = StatusTarget(delay=delay)
    async with serve(target.app()) as url:
        target.url = url
        yield target
