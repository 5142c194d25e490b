"""B6: backtest speed. The pipeline's rule-based code over 50 symbols x 1 year of 1h candles and 50 x 90 days
of 5m, whole process, beside freqtrade backtesting the same candles in the same run.

The candles are the simulator's (its market functions, written once into ``B6_CACHE``, default
``~/.cache/tradepipe/b6``, outside git). freqtrade runs from the scratch virtualenv ``make bench-peers``
makes (``B6_FREQTRADE_PYTHON``); without it, its figures are absent and the run says how to get them.
Reported per set: candles, wall seconds and candles/s of the whole process (interpreter start included),
the split between loading, indicators and the decision loop, freqtrade's wall time, and the speed-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from backtest.history import Store
from backtest.synthetic import write_synthetic
from bench.env import Size, progress
from services.exchange_sim.market import SyntheticMarket

DAY_MS = 86_400_000
END_MS = 1_767_225_600_000  # 2026-01-01 UTC: the same candles in every run
# set -> (timeframe, days, symbols) per benchmark size
SETS = {
    "full": {"h1": ("1h", 365, 50), "m5": ("5m", 90, 50)},
    "quick": {"h1": ("1h", 365, 50), "m5": ("5m", 90, 50)},
    "smoke": {"h1": ("1h", 30, 5), "m5": ("5m", 5, 5)},
}
PEERS = Path.home() / ".cache" / "tradepipe" / "peers"
FREQTRADE_PYTHON = Path(os.environ.get("B6_FREQTRADE_PYTHON", PEERS / "freqtrade-venv" / "bin" / "python"))
PEER_SCRIPT = Path(__file__).resolve().parent / "peers" / "freqtrade_b6.py"


def data_root(timeframe: str, days: int, count: int) -> Path:
    """The set's history, generated on first use."""
    cache = Path(os.environ.get("B6_CACHE", Path.home() / ".cache" / "tradepipe" / "b6"))
    root = cache / f"{timeframe}-{days}d-{count}"
    store = Store(root, "b6")
    if len(store.symbols(timeframe)) < count:
        progress(f"B6: generating {count} symbols x {days} days of {timeframe} from the simulator's market (once)")
        write_synthetic(store, SyntheticMarket(42, count), count, timeframe, END_MS - days * DAY_MS, END_MS)
    return root


def _ours(root: Path, timeframe: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="b6-report-") as out:
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bench.b6_run", "--root", str(root), "--timeframe", timeframe, "--out", out],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - started
    figures: dict[str, Any] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return figures | {"wall_seconds": round(wall, 3)}


def _freqtrade(root: Path, timeframe: str) -> float | None:
    if not FREQTRADE_PYTHON.exists():
        progress(f"B6: no freqtrade at {FREQTRADE_PYTHON}: `make bench-peers` installs it")
        return None
    with tempfile.TemporaryDirectory(prefix="b6-freqtrade-") as work:
        args = ["--parquet-dir", str(root / "b6" / timeframe), "--timeframe", timeframe, "--work", work]
        subprocess.run([str(FREQTRADE_PYTHON), str(PEER_SCRIPT), *args, "--prepare-only"], check=True)
        started = time.perf_counter()
        subprocess.run([str(FREQTRADE_PYTHON), str(PEER_SCRIPT), *args, "--run-only"], check=True, capture_output=True)
        return round(time.perf_counter() - started, 3)


def run(size: Size) -> dict[str, Any]:
    results: dict[str, Any] = {}
    peak = 0.0
    for name, (timeframe, days, count) in SETS[size.name].items():
        root = data_root(timeframe, days, count)
        progress(f"B6 {name}: tradepipe backtest, {count} symbols x {days} days of {timeframe}")
        ours = _ours(root, timeframe)
        progress(f"B6 {name}: freqtrade backtesting on the same candles")
        peer = _freqtrade(root, timeframe)
        candles = ours["candles"]
        peak = max(peak, ours.pop("peak_rss_mib"))
        results[name] = ours | {
            "candles_per_s": round(candles / ours["wall_seconds"]),
            "freqtrade_wall_seconds": peer,
            "freqtrade_candles_per_s": round(candles / peer) if peer else None,
            "speedup_over_freqtrade": round(peer / ours["wall_seconds"], 2) if peer else None,
        }
    results["peak_rss_mib"] = peak
    return results
