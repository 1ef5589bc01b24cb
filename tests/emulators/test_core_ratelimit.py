"""Rate-limit primitives: deterministic with an injected clock."""

from __future__ import annotations

from emulators.core import ConcurrencyGate, RollingWindow


def test_rolling_window_counts_per_key_and_rolls() -> None:
    now = [100.0]
    window = RollingWindow(3, 10.0, clock=lambda: now[0])
    verdicts = [window.hit("a") for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert verdicts[3].retry_after == 10.0
    assert window.hit("b").allowed  # keys are independent
    now[0] = 105.0
    assert not window.hit("a").allowed  # refused hits are not counted ...
    now[0] = 110.0
    assert window.hit("a").allowed  # ... so the first slot frees exactly 10 s later
    assert window.used("a") == 1


def test_rolling_window_limit_changes_at_run_time() -> None:
    window = RollingWindow(1, 1.0, clock=lambda: 0.0)
    assert window.hit("k").allowed and not window.hit("k").allowed
    window.limit = 2
    assert window.hit("k").allowed
    window.reset()
    assert window.used("k") == 0


def test_concurrency_gate_says_yes_or_no_and_releases() -> None:
    gate = ConcurrencyGate(2)
    assert gate.enter("r") and gate.enter("r") and not gate.enter("r")
    assert gate.enter("other")
    gate.leave("r")
    assert gate.in_flight("r") == 1 and gate.enter("r")
    gate.leave("r")
    gate.leave("r")
    assert gate.in_flight("r") == 0
