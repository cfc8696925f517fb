"""The contract test class every notifier must pass.

Subclass it in your plugin's tests (the class name must start with ``Test``)::

    class TestSlack(NotifierContract):
        notifier_class = SlackNotifier

        def valid_config(self) -> dict[str, Any]:
            return {"url": "https://hooks.example.com/x", "token": "s3cr3t-token"}

        @pytest.fixture
        def delivering_config(self, slack_server) -> dict[str, Any]:
            ...  # a config whose sends reach a working test server

        @pytest.fixture
        def refusing_config(self, slack_server) -> dict[str, Any]:
            ...  # a config whose sends fail (server down or refusing)

Set ``supports_failure = False`` for a notifier that cannot fail (``log``) and
``hanging_config`` for one whose send can wait on a peer (the cancellation test).
The tests are ``async`` and marked for pytest-asyncio.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from vecron.errors import StepError
from vecron.plugin.notifier import Alert, AlertKind, Notifier, NotifierConfig
from vecron.testing.contracts import (
    _secret_values,
    check_described,
    check_secret_fields,
    check_secrets_hidden,
    check_unknown_field_rejected,
)


def sample_alert(kind: AlertKind = AlertKind.FAILING) -> Alert:
    """An alert as core raises it: the third failure of job ``nightly-report``."""
    return Alert(
        id="01JALERTCONTRACT000000000",
        kind=kind,
        at=datetime(2026, 12, 7, 3, 0, tzinfo=UTC),
        job_id="01JJOBCONTRACT00000000000",
        job_name="nightly-report",
        streak=3,
        error="HTTP 503 from https://api.example.com/report",
        execution_id="01JEXECCONTRACT0000000000",
    )


class NotifierContract:
    """What every :class:`~vecron.plugin.notifier.Notifier` must do."""

    notifier_class: ClassVar[type[Notifier[Any]]]
    #: False: the notifier cannot fail (it writes locally); the failure test is left out.
    supports_failure: ClassVar[bool] = True
    #: False: no send of it waits on a peer; the cancellation test is left out.
    supports_hang: ClassVar[bool] = False
    #: Seconds a hanging send is left before it is cancelled, and may take to stop.
    cancel_after: ClassVar[float] = 0.2
    cancel_grace: ClassVar[float] = 2.0
    #: Field names that look secret but are not.
    public_fields: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Removing a test, rather than skipping it, keeps reports free of skips.
        if not cls.supports_failure:
            cls.test_a_failed_send_raises_a_step_error_without_secrets = None  # type: ignore[method-assign]
        if not cls.supports_hang:
            cls.test_a_hanging_send_stops_when_cancelled = None  # type: ignore[method-assign]

    def valid_config(self) -> dict[str, Any]:
        """A config dict that validates, with a value in every secret field."""
        raise NotImplementedError(f"{type(self).__name__} must define valid_config()")

    @pytest.fixture
    def delivering_config(self) -> dict[str, Any]:
        """A config whose send works (override it to point at a test server)."""
        return self.valid_config()

    @pytest.fixture
    def refusing_config(self) -> dict[str, Any]:
        """A config whose send fails (a closed port, a server that refuses)."""
        raise NotImplementedError(f"{type(self).__name__} must define `refusing_config`")

    @pytest.fixture
    def hanging_config(self) -> dict[str, Any]:
        """A config whose send waits on a peer that never answers."""
        raise NotImplementedError(f"{type(self).__name__} must define `hanging_config`")

    def make(self, config: dict[str, Any]) -> Notifier[Any]:
        return self.notifier_class(self.notifier_class.Config.model_validate(config))

    def test_kind_is_an_identifier(self) -> None:
        assert self.notifier_class.kind.isidentifier()

    def test_config_is_a_strict_notifier_config(self) -> None:
        config = self.notifier_class.Config
        assert issubclass(config, NotifierConfig)
        assert config.model_config.get("extra") == "forbid"
        assert "type" not in config.model_fields, "`type` is the notifier kind's own key"

    def test_config_and_its_fields_are_described(self) -> None:
        check_described(self.notifier_class.Config)

    def test_unknown_config_field_is_rejected(self) -> None:
        check_unknown_field_rejected(self.notifier_class.Config, self.valid_config())

    def test_secret_looking_fields_are_secret_str(self) -> None:
        check_secret_fields(self.notifier_class.Config, self.public_fields)

    def test_secrets_stay_out_of_repr_and_json(self) -> None:
        check_secrets_hidden(self.notifier_class.Config.model_validate(self.valid_config()))

    @pytest.mark.asyncio
    async def test_a_send_is_delivered(self, delivering_config: dict[str, Any]) -> None:
        for kind in AlertKind:
            await self.make(delivering_config).send(sample_alert(kind))

    @pytest.mark.asyncio
    async def test_a_failed_send_raises_a_step_error_without_secrets(
        self, refusing_config: dict[str, Any]
    ) -> None:
        notifier = self.make(refusing_config)
        with pytest.raises(StepError) as caught:
            await notifier.send(sample_alert())
        for secret in _secret_values(notifier.config):
            if secret:
                assert secret not in str(caught.value), "a secret reached the error message"

    @pytest.mark.asyncio
    async def test_a_hanging_send_stops_when_cancelled(
        self, hanging_config: dict[str, Any]
    ) -> None:
        task = asyncio.create_task(self.make(hanging_config).send(sample_alert()))
        done, _ = await asyncio.wait({task}, timeout=self.cancel_after)
        assert not done, "the send did not wait on the hanging peer; fix hanging_config"
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=self.cancel_grace)
        assert done, f"a cancelled send still ran after {self.cancel_grace} s"
        assert task.cancelled(), "send swallowed the cancellation"
