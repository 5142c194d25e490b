"""Adaptive confidence: the confidence a setup needs follows how that kind of setup has done.

The win rate of past decisions of the same ``signal_kind`` (recorded by execution when positions
close) is smoothed toward 50 % with a prior, so a few trades move the bar a little and many move it
more; above 50 % the bar drops, below it rises, always within the bounds.
"""

from __future__ import annotations

from services.ia2.state import Outcomes


class AdaptiveConfidence:
    def __init__(
        self,
        outcomes: Outcomes,
        *,
        base: float,
        low: float = 0.4,
        high: float = 0.9,
        prior: float = 10.0,
        gain: float = 0.5,
    ) -> None:
        self._outcomes = outcomes
        self.base, self.low, self.high, self.prior, self.gain = base, low, high, prior, gain

    def required_for(self, wins: int, losses: int) -> float:
        smoothed = (wins + self.prior * 0.5) / (wins + losses + self.prior)
        return min(self.high, max(self.low, self.base + self.gain * (0.5 - smoothed)))

    async def required(self, signal_kind: str) -> float:
        wins, losses = await self._outcomes.outcomes(signal_kind)
        return round(self.required_for(wins, losses), 6)
