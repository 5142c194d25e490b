"""Correlation of log returns between close series, aligned on their most recent points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

MIN_POINTS = 20
WINDOW = 100


def correlation(closes_a: Sequence[float], closes_b: Sequence[float], window: int = WINDOW) -> float | None:
    """Pearson correlation of the last ``window`` log returns; None when there is too little data."""
    n = min(len(closes_a), len(closes_b), window + 1)
    if n < MIN_POINTS + 1:
        return None
    a = np.diff(np.log(np.asarray(closes_a[-n:], dtype=float)))
    b = np.diff(np.log(np.asarray(closes_b[-n:], dtype=float)))
    if a.std() == 0 or b.std() == 0 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return None
    return float(np.corrcoef(a, b)[0, 1])


def correlations(
    mine: Sequence[float], others: Mapping[str, Sequence[float]], window: int = WINDOW
) -> dict[str, float]:
    """``correlation(mine, closes)`` for every series in ``others``, the same figures, computed at once.

    ia2 checks a candidate against every open position on each decision; one matrix product over the
    series that have a full window replaces a numpy round per position. Shorter series (new listings)
    go through the pair-wise function.
    """
    n = min(len(mine), window + 1)
    full = {s: c for s, c in others.items() if n >= MIN_POINTS + 1 and len(c) >= n}
    found = {s: v for s, c in others.items() if s not in full and (v := correlation(mine, c, window)) is not None}
    if not full:
        return found
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.diff(np.log(np.asarray(mine[-n:], dtype=float)))
        rows = np.diff(np.log(np.asarray([list(c[-n:]) for c in full.values()], dtype=float)), axis=1)
    if not np.isfinite(a).all() or a.std() == 0:
        return found
    a_centred = a - a.mean()
    b_centred = rows - rows.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):  # flat or broken rows are dropped just below
        values = (b_centred @ a_centred) / (np.sqrt((b_centred**2).sum(axis=1)) * np.sqrt((a_centred**2).sum()))
    usable = np.isfinite(rows).all(axis=1) & (rows.std(axis=1) > 0)
    found.update({s: float(v) for s, v, ok in zip(full, values, usable, strict=True) if ok})
    return found
