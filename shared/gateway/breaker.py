"""A circuit breaker: after N transient failures in a row, stop calling the exchange for a while.

closed -> open after ``failure_threshold`` consecutive failures; open -> half-open after
``reset_s``; half-open lets one trial call through: success closes it, failure opens it again.
While open, calls fail at once with CircuitOpenError, which the cache turns into a stale read.

A trial always resolves: a call that never reached the exchange (refused by the shared rate limiter,
cancelled) hands its trial back with :meth:`abandon`, so the next caller makes the trial instead of
the breaker staying half-open with no way out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum

from prometheus_client import Counter, Gauge

from shared import metrics
from shared.errors import CircuitOpenError

BREAKER_STATE = Gauge(metrics.name("exchange_breaker_state"), "0 closed, 1 half-open, 2 open")
BREAKER_TRANSITIONS = Counter(metrics.name("exchange_breaker_transitions_total"), "Breaker state changes", ["to"])


class State(IntEnum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class CircuitBreaker:
    def __init__(self, *, failure_threshold: int, reset_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = failure_threshold
        self.reset_s = reset_s
        self._clock = clock
        self.state = State.CLOSED
        self.failures = 0
        self._opened_at = 0.0
        self._trial_running = False
        BREAKER_STATE.set(0)
        for state in State:
            BREAKER_TRANSITIONS.labels(state.name.lower())

    def check(self) -> None:
        """Fail fast while open (or while another caller makes the trial); claims nothing."""
        if self.state == State.OPEN and self._clock() - self._opened_at >= self.reset_s:
            self._move(State.HALF_OPEN)
        if self.state == State.OPEN or (self.state == State.HALF_OPEN and self._trial_running):
            retry_in = max(0.0, self.reset_s - (self._clock() - self._opened_at))
            raise CircuitOpenError(f"exchange circuit open after {self.failures} failures; retry in {retry_in:.1f} s")

    def before_call(self) -> None:
        """Let a call through (half-open: it becomes the trial, which nobody else may make meanwhile)."""
        self.check()
        if self.state == State.HALF_OPEN:
            self._trial_running = True

    def abandon(self) -> None:
        """The call let through never reached the exchange: no verdict, the next caller may try."""
        self._trial_running = False

    def on_success(self) -> None:
        self.failures = 0
        self._trial_running = False
        if self.state != State.CLOSED:
            self._move(State.CLOSED)

    def on_failure(self) -> None:
        self.failures += 1
        self._trial_running = False
        if self.state == State.HALF_OPEN or self.failures >= self.failure_threshold:
            self._opened_at = self._clock()
            if self.state != State.OPEN:
                self._move(State.OPEN)

    def _move(self, state: State) -> None:
        self.state = state
        BREAKER_STATE.set(int(state))
        BREAKER_TRANSITIONS.labels(state.name.lower()).inc()
