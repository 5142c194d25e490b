"""Correlation of log returns between two close series, aligned on their most recent points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MIN_POINTS = 20


def correlation(closes_a: Sequence[float], closes_b: Sequence[float], window: int = 100) -> float | None:
    """Pearson correlation of the last ``window`` log returns; None when there is too little data."""
    n = min(len(closes_a), len(closes_b), window + 1)
    if n < MIN_POINTS + 1:
        return None
    a = np.diff(np.log(np.asarray(closes_a[-n:], dtype=float)))
    b = np.diff(np.log(np.asarray(closes_b[-n:], dtype=float)))
    if a.std() == 0 or b.std() == 0 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None
    return float(np.corrcoef(a, b)[0, 1])
