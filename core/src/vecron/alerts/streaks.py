"""The one rule of failure streaks: alert once per streak, again after
``renotify_after``, and say "recovered" on the first success after an alerted streak."""

from __future__ import annotations

from datetime import datetime, timedelta

from vecron.models.alerts import AlertState, EffectiveRules
from vecron.plugin.notifier import AlertKind


def after_finish(
    state: AlertState, *, failed: bool, rules: EffectiveRules, now: datetime
) -> tuple[AlertState, AlertKind | None]:
    """The state after an execution of the job ended (``failed``, or succeeded) and the
    alert that ending raises, if any."""
    if not failed:
        recovered = state.alerted_at is not None and rules.on_recovery
        return AlertState(), AlertKind.RECOVERED if recovered else None
    streak = state.streak + 1
    if state.alerted_at is None:
        if streak >= rules.after_failures:
            return AlertState(streak, now, now), AlertKind.FAILING
        return AlertState(streak), None
    last = state.notified_at or state.alerted_at
    if rules.renotify_after is not None and now - last >= timedelta(seconds=rules.renotify_after):
        return AlertState(streak, state.alerted_at, now), AlertKind.FAILING
    return AlertState(streak, state.alerted_at, state.notified_at), None
