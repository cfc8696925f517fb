"""The streak rule, for every sequence of ends: one failing alert per streak that reaches
``after_failures``, one recovered alert after an alerted streak, and re-notifying only
after ``renotify_after``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from vecron.alerts.streaks import after_finish
from vecron.models.alerts import AlertRules, AlertSettings, AlertState, EffectiveRules
from vecron.plugin.notifier import AlertKind

START = datetime(2026, 12, 7, tzinfo=UTC)


def play(
    ends: list[bool], rules: EffectiveRules, step: float = 1.0
) -> tuple[AlertState, list[tuple[int, AlertKind]]]:
    """Feed ``ends`` (True: failed) one ``step`` seconds apart; the alerts by position."""
    state, alerts = AlertState(), []
    for position, failed in enumerate(ends):
        now = START + timedelta(seconds=step * position)
        state, kind = after_finish(state, failed=failed, rules=rules, now=now)
        if kind is not None:
            alerts.append((position, kind))
    return state, alerts


def streaks(ends: list[bool]) -> list[tuple[int, int]]:
    """``(first position, length)`` of each run of failures."""
    found, start = [], None
    for position, failed in enumerate([*ends, False]):
        if failed and start is None:
            start = position
        elif not failed and start is not None:
            found.append((start, position - start))
            start = None
    return found


@given(ends=st.lists(st.booleans(), max_size=60), threshold=st.integers(1, 6))
def test_one_failing_alert_per_streak_and_one_recovery_after_it(
    ends: list[bool], threshold: int
) -> None:
    rules = EffectiveRules(after_failures=threshold, notify=("ops",))
    state, alerts = play(ends, rules)
    expected = []
    for start, length in streaks(ends):
        if length >= threshold:
            expected.append((start + threshold - 1, AlertKind.FAILING))
            if start + length < len(ends):  # a success ended it
                expected.append((start + length, AlertKind.RECOVERED))
    assert alerts == expected
    trailing = len(ends) - len("".join("x" if f else "." for f in ends).rstrip("x"))
    assert state.streak == trailing


@given(length=st.integers(1, 80), renotify=st.integers(1, 20), threshold=st.integers(1, 5))
def test_a_streak_still_failing_is_told_again_after_renotify_after(
    length: int, renotify: int, threshold: int
) -> None:
    rules = EffectiveRules(after_failures=threshold, renotify_after=renotify, notify=("ops",))
    _, alerts = play([True] * length, rules, step=1.0)
    positions = [position for position, _ in alerts]
    first = threshold - 1
    assert positions == list(range(first, length, renotify))
    assert {kind for _, kind in alerts} <= {AlertKind.FAILING}


def test_no_recovery_alert_when_on_recovery_is_off() -> None:
    rules = EffectiveRules(after_failures=2, on_recovery=False, notify=("ops",))
    assert play([True, True, True, False], rules)[1] == [(1, AlertKind.FAILING)]


def test_a_job_s_rules_override_the_settings_field_by_field() -> None:
    defaults = AlertSettings(after_failures=5, renotify_after=600, notify=["ops", "chat"])
    mine = AlertRules(after_failures=2, notify=["ops"], on_missed=False)
    assert mine.over(defaults) == EffectiveRules(
        after_failures=2,
        on_missed=False,
        renotify_after=600,
        notify=("ops",),
    )
    assert AlertRules().over(AlertSettings()) == EffectiveRules()
