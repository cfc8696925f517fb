"""The ``email`` notifier: a plain-text mail through SMTP, with STARTTLS."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from typing import Annotated, Literal

import aiosmtplib
from pydantic import Field, SecretStr

from vecron import Alert, FinalError, Notifier, NotifierConfig, RetryableError

#: An address, loosely: the server has the last word.
ADDRESS = r"^[^@\s]+@[^@\s]+$"


class EmailConfig(NotifierConfig):
    """Mails each alert as plain text (job, failures in a row, last error; no links)
    through an SMTP server, upgrading the connection with STARTTLS."""

    host: str = Field(min_length=1, max_length=255, description="SMTP server.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587: submission).")
    username: str | None = Field(None, description="Login, if the server wants one.")
    password: SecretStr | None = Field(
        None,
        description="Password of the login (masked everywhere); give '{{ vars.NAME }}' to "
        "read a secret variable.",
    )
    from_address: str = Field(pattern=ADDRESS, description="The sender address.")
    to: list[Annotated[str, Field(pattern=ADDRESS)]] = Field(
        min_length=1, max_length=100, description="Recipient addresses."
    )
    starttls: Literal["required", "optional", "off"] = Field(
        "required",
        description="required: refuse a server without STARTTLS; optional: use it when "
        "offered; off: never (a local relay only).",
    )
    ca_file: str | None = Field(
        None, description="CA certificates (PEM) to trust instead of the system's."
    )
    request_timeout: float = Field(
        30.0, gt=0, le=300, description="Seconds one SMTP exchange may take."
    )


class EmailNotifier(Notifier[EmailConfig]):
    kind = "email"
    Config = EmailConfig

    async def send(self, alert: Alert) -> None:
        config = self.config
        message = EmailMessage()
        message["From"] = config.from_address
        message["To"] = ", ".join(config.to)
        message["Subject"] = alert.summary()
        message["Message-ID"] = f"<{alert.id}@vecron>"
        message.set_content(alert.text())
        start_tls = {"required": True, "optional": None, "off": False}[config.starttls]
        context = ssl.create_default_context(cafile=config.ca_file)
        try:
            await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password.get_secret_value() if config.password else None,
                start_tls=start_tls,
                tls_context=context,
                timeout=config.request_timeout,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise FinalError(f"SMTP login refused: {exc.code}") from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise FinalError(f"SMTP server refused the mail: {exc.code}") from None
            raise RetryableError(f"SMTP server deferred the mail: {exc.code}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise RetryableError(f"SMTP server unreachable: {type(exc).__name__}") from None
