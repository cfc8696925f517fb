"""Contract test classes every executor and trigger must pass.

Subclass one in your plugin's tests (the class name must start with ``Test``)::

    class TestShout(ExecutorContract):
        executor_class = ShoutExecutor

        def valid_config(self) -> dict[str, Any]:
            return {"text": "hello"}

The tests are ``async`` and marked for pytest-asyncio, which must be installed.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pydantic
import pytest
import pytest_asyncio

from vecron.plugin.executor import Executor, ExecutorConfig, StepContext
from vecron.plugin.registry import STEP_KEYS, TRIGGER_KEYS
from vecron.plugin.trigger import ScheduleContext, Trigger, TriggerConfig, TriggerState
from vecron.storage.base import ObjectStorage
from vecron.storage.file import FileStorage
from vecron.testing.processes import adopting_orphans, command_line, descendants, kill
from vecron.testing.step_contexts import make_step_context

#: Field names that hold credentials and so must be typed ``pydantic.SecretStr``.
SECRET_NAME = re.compile(r"(^|_)(password|passwd|secret|token|api_?key|private_key|passphrase)$")
UNKNOWN_FIELD = "vecron_contract_unknown_field"


def _schema_is_secret(schema: Any) -> bool:
    # SecretStr renders as {"type": "string", "format": "password", "writeOnly": true},
    # possibly inside anyOf (optional) or items/additionalProperties (containers).
    return '"format": "password"' in json.dumps(schema)


def _secret_properties(schema: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """``(name, schema)`` of every property of the model and of its nested models."""
    for model in (schema, *schema.get("$defs", {}).values()):
        yield from model.get("properties", {}).items()


def _undescribed(schema: Mapping[str, Any]) -> list[str]:
    """Fields of the model and of its nested models that have no description."""
    nested = schema.get("$defs", {})
    models = [("", schema), *((f"{name}.", model) for name, model in nested.items())]
    return [
        f"{where}{name}"
        for where, model in models
        for name, prop in model.get("properties", {}).items()
        if not prop.get("description")
    ]


def check_described(config: type[pydantic.BaseModel]) -> None:
    """The model's docstring describes the plugin and every field has a ``description``:
    they are the job JSON Schema's descriptions, the dashboard's help and the reference."""
    schema = config.model_json_schema()
    assert schema.get("description"), (
        f"give {config.__name__} a docstring: it describes the type in the job JSON Schema"
    )
    missing = _undescribed(schema)
    assert not missing, f"give these fields a description (Field(description=...)): {missing}"


def check_unknown_field_rejected(config: type[pydantic.BaseModel], valid: dict[str, Any]) -> None:
    """A field the model does not know is an error naming it, not silently dropped."""
    with pytest.raises(pydantic.ValidationError) as caught:
        config.model_validate({**valid, UNKNOWN_FIELD: 1})
    assert UNKNOWN_FIELD in str(caught.value)


def check_secret_fields(config: type[pydantic.BaseModel], public: frozenset[str]) -> None:
    """Every field named like a credential is a ``SecretStr``, except those in ``public``."""
    plain = sorted(
        name
        for name, prop in _secret_properties(config.model_json_schema())
        if SECRET_NAME.search(name) and name not in public and not _schema_is_secret(prop)
    )
    assert not plain, f"type {plain} as pydantic.SecretStr (or list them in public_fields)"


def check_secrets_hidden(config: pydantic.BaseModel) -> None:
    """No secret value of ``config`` shows in its ``repr``, ``str`` or JSON."""
    shown = (repr(config), str(config), config.model_dump_json())
    for secret in _secret_values(config):
        if secret:
            assert all(secret not in text for text in shown), "a secret value leaked"


def _secret_values(value: Any) -> Iterator[str]:
    if isinstance(value, pydantic.SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, pydantic.BaseModel):
        for name in type(value).model_fields:
            yield from _secret_values(getattr(value, name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _secret_values(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _secret_values(item)


class ExecutorContract:
    """What every :class:`~vecron.plugin.executor.Executor` must do.

    Set ``executor_class`` and implement ``valid_config``. A run needs a target?
    Override the ``succeeding_step`` fixture to return a config dict that succeeds
    (it may depend on your own fixtures, e.g. a test server). For the cancellation test,
    override ``slow_step`` to return a config whose run lasts well beyond
    ``cancel_after`` seconds, or set ``supports_slow_run = False`` to leave that test out.
    The cancellation test also fails when a process the run started outlives it.
    """

    executor_class: ClassVar[type[Executor[Any]]]
    #: False: the executor has no run slow enough to cancel; the test is not generated.
    supports_slow_run: ClassVar[bool] = True
    #: Seconds a slow run is left running before it is cancelled.
    cancel_after: ClassVar[float] = 0.2
    #: Seconds a cancelled run, and every process it started, may take to stop.
    cancel_grace: ClassVar[float] = 10.0
    #: Field names that look secret but are not (e.g. ``{"token_type"}``).
    public_fields: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.supports_slow_run:
            # Removing the test, rather than skipping it, keeps reports free of skips.
            cls.test_run_honours_cancellation = None  # type: ignore[method-assign]

    def valid_config(self) -> dict[str, Any]:
        """A config dict that validates; used for the static checks."""
        raise NotImplementedError(f"{type(self).__name__} must define valid_config()")

    def slow_config(self) -> dict[str, Any]:
        """A config whose run lasts well beyond ``cancel_after`` seconds."""
        raise NotImplementedError(
            f"{type(self).__name__} must define slow_config() or the slow_step fixture,"
            " or set supports_slow_run = False"
        )

    def make_executor(self) -> Executor[Any]:
        """The instance under test; override when the constructor needs arguments."""
        return self.executor_class()

    def step_context(self, **overrides: Any) -> StepContext:
        """A fresh step context whose ``files`` live in this test's temporary storage."""
        return make_step_context(getattr(self, "storage", None), **overrides)

    @pytest_asyncio.fixture(autouse=True)
    async def _contract_storage(self, tmp_path: Path) -> AsyncIterator[None]:
        # Executors that read or write the execution's files need real storage.
        storage = FileStorage((tmp_path / "vecron-storage").as_uri())
        await storage.start()
        self.storage: ObjectStorage = storage
        try:
            yield
        finally:
            await storage.close()

    @pytest.fixture
    def succeeding_step(self) -> dict[str, Any]:
        """A config dict whose run succeeds. Defaults to ``valid_config()``."""
        return self.valid_config()

    @pytest.fixture
    def slow_step(self) -> dict[str, Any]:
        """A config dict whose run is slow enough to cancel. Defaults to ``slow_config()``."""
        return self.slow_config()

    @pytest_asyncio.fixture
    async def executor(self) -> AsyncIterator[Executor[Any]]:
        """A started executor, closed after the test."""
        instance = self.make_executor()
        async with AsyncExitStack() as stack:
            await instance.start(stack)
            yield instance

    def test_kind_is_an_identifier(self) -> None:
        kind = getattr(self.executor_class, "kind", None)
        assert isinstance(kind, str), "set `kind` on the executor class"
        assert kind.isidentifier(), f"kind {kind!r} must be a Python identifier"

    def test_config_is_a_strict_executor_config(self) -> None:
        config = self.executor_class.Config
        assert isinstance(config, type), "`Config` must be a class"
        assert issubclass(config, ExecutorConfig), "`Config` must subclass ExecutorConfig"
        assert config.model_config.get("extra") == "forbid", "unknown fields must be errors"

    def test_config_json_schema_generates(self) -> None:
        schema = self.executor_class.Config.model_json_schema()
        assert schema.get("type") == "object"
        json.dumps(schema)  # the dashboard and the job schema embed it as JSON

    def test_config_and_its_fields_are_described(self) -> None:
        check_described(self.executor_class.Config)

    def test_config_uses_no_reserved_field(self) -> None:
        fields = self.executor_class.Config.model_fields
        names = set(fields) | {f.alias for f in fields.values() if f.alias}
        clash = names & STEP_KEYS
        assert not clash, f"{sorted(clash)} belong to the step, not to the executor's Config"

    def test_valid_config_validates(self) -> None:
        config = self.executor_class.Config.model_validate(self.valid_config())
        assert isinstance(config, self.executor_class.Config)

    def test_unknown_config_field_is_rejected(self) -> None:
        check_unknown_field_rejected(self.executor_class.Config, self.valid_config())

    def test_secret_looking_fields_are_secret_str(self) -> None:
        check_secret_fields(self.executor_class.Config, self.public_fields)

    def test_secrets_stay_out_of_repr_and_json(self) -> None:
        check_secrets_hidden(self.executor_class.Config.model_validate(self.valid_config()))

    @pytest.mark.asyncio
    async def test_run_returns_a_json_serialisable_mapping(
        self, executor: Executor[Any], succeeding_step: dict[str, Any]
    ) -> None:
        config = self.executor_class.Config.model_validate(succeeding_step)
        result = await executor.run(self.step_context(), config)
        assert isinstance(result, Mapping), "run must return a mapping"
        # allow_nan=False: PostgreSQL jsonb rejects NaN and Infinity.
        json.dumps(dict(result), allow_nan=False)

    @pytest.mark.asyncio
    async def test_run_honours_cancellation(
        self, executor: Executor[Any], slow_step: dict[str, Any]
    ) -> None:
        config = self.executor_class.Config.model_validate(slow_step)
        with adopting_orphans():
            before = descendants()
            task = asyncio.create_task(executor.run(self.step_context(timeout=None), config))
            try:
                await asyncio.sleep(self.cancel_after)
                assert not task.done(), "the slow run ended before it could be cancelled"
                task.cancel()
                done, _ = await asyncio.wait({task}, timeout=self.cancel_grace)
                assert task in done, f"run still going {self.cancel_grace} s after cancel()"
                assert task.cancelled(), "run must let CancelledError propagate"
                survivors = await self._survivors(before)
                shown = [f"{pid} {command_line(pid)}".strip() for pid in sorted(survivors)]
                assert not survivors, (
                    f"processes the run started still run {self.cancel_grace} s after"
                    f" cancel(): {shown}; kill them when run is cancelled"
                )
            finally:
                # Whatever the outcome, nothing of this run outlives the test.
                task.cancel()
                kill(descendants() - before)

    async def _survivors(self, before: frozenset[int]) -> frozenset[int]:
        """Processes started since ``before`` that are still alive once ``cancel_grace``
        has passed, or none as soon as they are all gone."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cancel_grace
        # Polled: a process's end is no event this process can await.
        while (left := descendants() - before) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return left


class TriggerContract:
    """What every :class:`~vecron.plugin.trigger.Trigger` must do.

    Set ``trigger_class`` and implement ``valid_config``. Scheduled triggers are asked
    for ``fire_count`` consecutive fire times after ``reference_time`` in ``timezone``.
    """

    trigger_class: ClassVar[type[Trigger[Any]]]
    timezone: ClassVar[str] = "UTC"
    reference_time: ClassVar[datetime] = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    fire_count: ClassVar[int] = 5

    def valid_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must define valid_config()")

    def make_trigger(self, **schedule: Any) -> Trigger[Any]:
        config = self.trigger_class.Config.model_validate(self.valid_config())
        context = ScheduleContext(tz=ZoneInfo(self.timezone), **schedule)
        return self.trigger_class(config, context)

    def fire_times(self, trigger: Trigger[Any], count: int | None = None) -> list[datetime]:
        """Up to ``count`` consecutive fire times, each asked after the previous one."""
        anchor = trigger.schedule.start_at or self.reference_time
        times: list[datetime] = []
        after = self.reference_time
        for _ in range(count or self.fire_count):
            finished = after if self.trigger_class.after_finish and times else None
            state = TriggerState(anchor=anchor, last_finished_at=finished)
            fire = trigger.next_fire_time(after, state)
            if fire is None:
                break
            times.append(fire)
            after = fire
        return times

    def test_kind_is_an_identifier(self) -> None:
        kind = getattr(self.trigger_class, "kind", None)
        assert isinstance(kind, str), "set `kind` on the trigger class"
        assert kind.isidentifier(), f"kind {kind!r} must be a Python identifier"

    def test_config_is_a_strict_trigger_config(self) -> None:
        config = self.trigger_class.Config
        assert isinstance(config, type), "`Config` must be a class"
        assert issubclass(config, TriggerConfig), "`Config` must subclass TriggerConfig"
        assert config.model_config.get("extra") == "forbid", "unknown fields must be errors"
        assert not set(config.model_fields) & TRIGGER_KEYS, "`type` belongs to vecron"

    def test_config_json_schema_generates(self) -> None:
        schema = self.trigger_class.Config.model_json_schema()
        assert schema.get("type") == "object"
        json.dumps(schema)

    def test_config_and_its_fields_are_described(self) -> None:
        check_described(self.trigger_class.Config)

    def test_unknown_config_field_is_rejected(self) -> None:
        check_unknown_field_rejected(self.trigger_class.Config, self.valid_config())

    def test_fire_times_are_aware_and_strictly_increase(self) -> None:
        trigger = self.make_trigger()
        times = self.fire_times(trigger)
        if not self.trigger_class.scheduled:
            assert times == [], "an event-driven trigger returns no fire time"
            return
        assert times, "a scheduled trigger with a valid config must fire"
        previous = self.reference_time
        for fire in times:
            assert fire.utcoffset() is not None, f"{fire} is naive"
            assert fire > previous, f"{fire} is not after {previous}"
            previous = fire

    def test_fire_times_respect_start_at(self) -> None:
        unbounded = self.fire_times(self.make_trigger())
        start_at = (unbounded[-1] if unbounded else self.reference_time) + timedelta(seconds=1)
        times = self.fire_times(self.make_trigger(start_at=start_at))
        assert all(fire >= start_at for fire in times), f"a fire time before {start_at}"

    def test_fire_times_respect_end_at(self) -> None:
        unbounded = self.fire_times(self.make_trigger(), 3)
        end_at = unbounded[-1] if unbounded else self.reference_time + timedelta(days=1)
        times = self.fire_times(self.make_trigger(end_at=end_at), self.fire_count + 3)
        assert all(fire <= end_at for fire in times), f"a fire time after {end_at}"
        assert len(times) <= len(unbounded), "fired past end_at"
