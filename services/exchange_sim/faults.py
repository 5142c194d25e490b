"""Realism controls: latency with jitter, BingX-style rate limits, injected faults, request counters.

Faults are injected for a time window (``duration_s``) or for a fraction of requests
(``probability``), optionally only for paths starting with ``path_prefix``:
``http_503`` answers a non-JSON 503 (ccxt: ExchangeNotAvailable), ``timeout`` holds the request for
``hang_s`` (ccxt: RequestTimeout), ``rate_limit`` answers BingX's code 100410, ``lost_response``
handles the request (an order is placed) and then holds the answer like ``timeout``: the client
cannot tell whether its order exists, the case a retry must not turn into a second order.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field, model_validator

FaultKind = Literal["http_503", "timeout", "rate_limit", "lost_response"]


class FaultSpec(BaseModel):
    """A fault to inject into the BingX API (see the module's docstring for what each kind does)."""

    kind: FaultKind = Field(description="http_503, timeout, rate_limit or lost_response")
    probability: float = Field(1.0, gt=0, le=1, description="share of matching requests it hits")
    duration_s: float | None = Field(None, gt=0, le=86_400, description="for this long from now")
    count: int | None = Field(None, ge=1, le=1_000_000, description="only the next N matching requests")
    path_prefix: str = Field("/openApi", max_length=200, description="only requests whose path starts so")
    method: Literal["GET", "POST", "PUT", "DELETE"] | None = Field(None, description="only this method")
    hang_s: float = Field(30.0, ge=0, le=600, description="how long timeout and lost_response hold the answer")

    @model_validator(mode="after")
    def _bounded(self) -> FaultSpec:
        if self.duration_s is None and self.count is None and self.probability == 1.0:
            raise ValueError("a fault needs a duration_s, a count, a probability below 1, or a mix")
        return self


@dataclass
class ActiveFault:
    spec: FaultSpec
    until: float | None
    remaining: int | None = None

    def __post_init__(self) -> None:
        self.remaining = self.spec.count

    def expired(self, now: float) -> bool:
        return (self.until is not None and now >= self.until) or self.remaining == 0

    def applies(self, method: str, path: str, now: float, draw: float) -> bool:
        if self.expired(now) or (self.spec.method is not None and method != self.spec.method):
            return False
        if not (path.startswith(self.spec.path_prefix) and draw < self.spec.probability):
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


@dataclass
class TokenBucket:
    rate: float
    burst: float
    tokens: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def take(self, weight: float, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= weight:
            self.tokens -= weight
            return True
        return False


class Controls:
    """Shared by all requests of one simulator; thread-safe because counters are read by admin calls."""

    def __init__(
        self, *, latency_ms: float, jitter_ms: float, rate: float, burst: float, limits_on: bool, seed: int
    ) -> None:
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.rate = rate
        self.burst = burst
        self.limits_on = limits_on
        self.faults: list[ActiveFault] = []
        self.requests: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self._buckets: dict[str, TokenBucket] = {}
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def delay_s(self) -> float:
        jitter = self._random.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(0.0, self.latency_ms + jitter) / 1000

    def count(self, path: str, outcome: str) -> None:
        with self._lock:
            self.requests[path] += 1
            self.outcomes[outcome] += 1

    def allow(self, client: str, weight: float) -> bool:
        if not self.limits_on:
            return True
        with self._lock:
            bucket = self._buckets.setdefault(client, TokenBucket(self.rate, self.burst))
            return bucket.take(weight, time.monotonic())

    def fault_for(self, method: str, path: str) -> FaultSpec | None:
        now = time.time()
        with self._lock:
            self.faults = [f for f in self.faults if not f.expired(now)]
            for fault in self.faults:
                if fault.applies(method, path, now, self._random.random()):
                    return fault.spec
        return None

    def inject(self, spec: FaultSpec) -> None:
        with self._lock:
            until = time.time() + spec.duration_s if spec.duration_s else None
            self.faults.append(ActiveFault(spec, until))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.outcomes.clear()

    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "total": sum(self.requests.values()),
                "outcomes": dict(self.outcomes),
                "faults": [
                    {"kind": f.spec.kind, "until": f.until, "probability": f.spec.probability} for f in self.faults
                ],
            }
