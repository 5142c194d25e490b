"""Loading a backtest's data and computing every symbol's features, symbols in parallel processes."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from backtest.features import Plan, SymbolFeatures, compute_features
from backtest.history import Store, read_candles, read_funding
from backtest.settings import BacktestSettings
from shared.errors import BadRequestError


@dataclass(frozen=True)
class Job:
    store: Store
    symbol: str
    plan: Plan
    settings: BacktestSettings
    start_ms: int | None
    end_ms: int | None


@dataclass(frozen=True)
class Loaded:
    features: SymbolFeatures
    load_s: float  # reading the files
    compute_s: float  # indicators, readings, patterns, scout's view


def load_one(job: Job) -> Loaded:
    started = time.perf_counter()
    candles = read_candles(job.store.candles_path(job.plan.data, job.symbol)).between(job.start_ms, job.end_ms)
    funding = read_funding(job.store.funding_path(job.symbol))
    loaded = time.perf_counter()
    config = job.settings.analyst_config(job.plan.analysis)
    features = compute_features(job.symbol, candles, job.plan, config, job.settings.scout_candles, funding)
    return Loaded(features, loaded - started, time.perf_counter() - loaded)


def load(
    store: Store,
    symbols: Sequence[str],
    plan: Plan,
    settings: BacktestSettings,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    workers: int | None = None,
) -> list[Loaded]:
    """Every symbol's features, in symbol order; ``workers`` processes (default: the CPU count)."""
    missing = [s for s in symbols if not store.candles_path(plan.data, s).exists()]
    if missing:
        raise BadRequestError(
            f"no {plan.data} history for {', '.join(missing)} in {store.root / store.exchange}: "
            "run `tradepipe download` first"
        )
    jobs = [Job(store, s, plan, settings, start_ms, end_ms) for s in sorted(symbols)]
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers <= 1:
        return [load_one(job) for job in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(load_one, jobs, chunksize=max(1, len(jobs) // (workers * 4))))
