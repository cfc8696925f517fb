"""Alerts as a service: sending a test alert through a configured notifier, so that an
operator sees the settings work before a job needs them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from vecron.alerts.delivery import Deliveries
from vecron.auth import Permission, Principal
from vecron.auth.audit import AuditOutcome
from vecron.clock import utcnow
from vecron.errors import BackendUnavailable, NotFoundError
from vecron.ids import new_id
from vecron.plugin.notifier import Alert, AlertKind
from vecron.services.audit import Gate
from vecron.services.views.alerts import AlertTestView

#: The job a test alert names: there is none.
TEST_JOB = "vecron-alerts-test"


class AlertService:
    def __init__(
        self, deliveries: Deliveries, gate: Gate, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.deliveries = deliveries
        self.gate = gate
        self.clock = clock

    async def test(self, principal: Principal, name: str) -> AlertTestView:
        """Send one test alert through notifier ``name``, once, and wait for it.
        Permission ``job:write`` (what alerts jobs raise is part of their definition);
        audited as ``alert.test``.

        :raises NotFoundError: no notifier ``name`` in the settings' ``[alerts]``.
        :raises BackendUnavailable: the notifier did not take it (why is logged, masked).
        :raises PermissionDenied: without ``job:write``.
        """
        resource = f"notifier:{name}"
        await self.gate.check(principal, Permission.JOB_WRITE, "alert.test", resource)
        setting = self.deliveries.settings.notifiers.get(name)
        if setting is None:
            known = ", ".join(sorted(self.deliveries.names)) or "none"
            raise NotFoundError(
                f"no notifier {name!r} in the settings; configured: {known}",
                field="name",
                reason="notifier-not-found",
            )
        alert = Alert(
            id=new_id(), kind=AlertKind.TEST, at=self.clock(), job_id=TEST_JOB, job_name=TEST_JOB
        )
        if not await self.deliveries.deliver(name, setting, alert, attempts=1):
            failed = self.gate.entry(principal, "alert.test", resource, outcome=AuditOutcome.FAILED)
            await self.gate.record(failed)
            raise BackendUnavailable(
                f"notifier {name!r} did not take the test alert; the log says why"
            )
        await self.gate.record(self.gate.entry(principal, "alert.test", resource))
        return AlertTestView(notifier=name, type=setting.type, alert_id=alert.id)
