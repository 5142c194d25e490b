"""One backtest from stored history: load and compute features (symbols in parallel), run the engine,
build the report. What ``tradepipe backtest``, ``tradepipe lookahead`` and benchmark B6 call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from backtest.data import load
from backtest.engine import Engine, Result
from backtest.features import Plan
from backtest.history import Store
from backtest.settings import BacktestSettings
from shared.errors import BadRequestError


@dataclass
class Timings:
    load_s: float = 0.0  # reading the Parquet files (summed over the workers)
    indicators_s: float = 0.0  # indicators, readings, patterns, scout's view (summed over the workers)
    features_wall_s: float = 0.0  # both, in parallel: wall time
    loop_s: float = 0.0  # scout's ranking and the decision loop
    candles: int = 0
    phases: dict[str, float] = field(default_factory=dict)


def plan_for(settings: BacktestSettings, timeframe: str) -> Plan:
    return Plan.of(timeframe, settings.ia1_timeframes, settings.ia1_primary_timeframe, settings.scout_timeframe)


def run_backtest(
    settings: BacktestSettings,
    store: Store,
    symbols: Sequence[str],
    timeframe: str,
    start_ms: int | None = None,
    end_ms: int | None = None,
    *,
    workers: int | None = None,
    engine_hook: object = None,
) -> tuple[Result, Timings]:
    if not symbols:
        raise BadRequestError(f"no symbols: none given, and no {timeframe} history in {store.root / store.exchange}")
    plan = plan_for(settings, timeframe)
    started = time.perf_counter()
    loaded = load(store, symbols, plan, settings, start_ms, end_ms, workers=workers)
    timings = Timings(
        load_s=sum(item.load_s for item in loaded),
        indicators_s=sum(item.compute_s for item in loaded),
        features_wall_s=time.perf_counter() - started,
        candles=sum(len(item.features.base) for item in loaded),
    )
    engine = Engine(settings, [item.features for item in loaded], plan)
    if callable(engine_hook):
        engine_hook(engine)
    started = time.perf_counter()
    result = asyncio.run(_run(engine, settings))
    timings.loop_s = time.perf_counter() - started
    return result, timings


async def _run(engine: Engine, settings: BacktestSettings) -> Result:
    if settings.ia1_provider == "rules" and settings.ia2_provider == "rules":
        return await engine.run()
    from backtest.llm import models  # noqa: PLC0415  (the LLM clients' imports would cost a rules-only run 0.7 s)

    async with models(settings, engine) as counts:
        result = await engine.run()
        result.llm = counts() if counts is not None else None
    return result
