"""The sample history the backtest tests share: a few symbols x a few weeks, made from the simulator's
market functions (the candles and funding rates the simulator serves), generated once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from backtest.history import Store
from backtest.synthetic import write_synthetic
from services.exchange_sim.market import SyntheticMarket

DAY = 86_400_000
SAMPLE_END = 1_767_225_600_000  # 2026-01-01 UTC
SAMPLE_START = SAMPLE_END - 45 * DAY


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, list[str]]]:
    store = Store(Path(tmp_path_factory.mktemp("history")), "sample")
    symbols = write_synthetic(store, SyntheticMarket(42, 20), 6, "1h", SAMPLE_START, SAMPLE_END)
    yield store, symbols
